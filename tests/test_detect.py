"""Each kind of crash, run for real under the watcher: the signal record with
its first capture, and the exit record matching what the parent saw."""
import os
import signal

import pytest

from conftest import finish, in_pause, run_target, start_target


def top_frame(rec):
    assert rec["frames"], f"no frames captured: {rec}"
    return rec["frames"][0]


def check_signal(rec, ran, name, code, function=None, tid=None):
    assert rec["signal"]["name"] == name
    assert rec["signal"]["code_name"] == code
    assert rec["pid"] == ran.pid
    assert rec["tid"] == (tid if tid is not None else ran.pid)
    assert rec["exe"].endswith("/tests/targets/" + rec["exe"].rsplit("/", 1)[-1])
    top = top_frame(rec)
    # The first frame is the faulting instruction, named by symbol.
    assert top["ip"] == rec["regs"]["rip"]
    if function:
        assert top.get("function") == function, rec["frames"][:3]
        assert top["module"] == rec["exe"]
        assert len(top["build_id"]) == 40
    return top


def check_exit(watcher, ran, seen):
    """The exit record says what the parent saw in its wait status."""
    ex = watcher.records_for(ran.pid, "exit")
    assert ex["status"] == ran.status
    if os.WIFSIGNALED(ran.status):
        assert ex["killed_by"] == signal.Signals(os.WTERMSIG(ran.status)).name
        assert ex["core_dumped"] == os.WCOREDUMP(ran.status)
        assert ex["exit_code"] is None
    else:
        assert ex["killed_by"] is None
        assert ex["exit_code"] == os.WEXITSTATUS(ran.status)
    assert ex["seen_at_delivery"] == seen
    return ex


def test_null_dereference(watcher):
    ran = run_target("null_deref")
    assert os.WTERMSIG(ran.status) == signal.SIGSEGV
    rec = watcher.records_for(ran.pid, "signal")
    check_signal(rec, ran, "SIGSEGV", "SEGV_MAPERR", "crash_null_deref")
    assert rec["signal"]["addr"] == "0x0"
    assert rec["signal"]["handler"] == "default"
    assert [f.get("function") for f in rec["frames"][1:3]] == ["caller", "main"]
    # The stack is readable from the stack pointer up (no overflow).
    assert rec["stack"]["start"] == rec["regs"]["rsp"] and not rec["stack"]["sp_unmapped"]
    assert rec["ppid"] == os.getpid()
    check_exit(watcher, ran, "SIGSEGV")


def test_null_dereference_in_a_worker_thread(watcher):
    ran = run_target("null_deref_threads")
    crash_tid = ran.value("crash_tid")
    assert crash_tid != ran.pid
    rec = watcher.records_for(ran.pid, "signal")
    check_signal(rec, ran, "SIGSEGV", "SEGV_MAPERR", "worker_crash", tid=crash_tid)
    assert rec["signal"]["addr"] == "0x0"
    assert rec["frames"][1].get("function") == "worker"
    check_exit(watcher, ran, "SIGSEGV")


def test_stack_overflow(watcher):
    ran = run_target("stack_overflow")
    rec = watcher.records_for(ran.pid, "signal")
    top = check_signal(rec, ran, "SIGSEGV", rec["signal"]["code_name"], "recurse")
    assert rec["signal"]["code_name"] in ("SEGV_MAPERR", "SEGV_ACCERR")
    # The fault is at the bottom of the stack, where the stack pointer is.
    fault = int(rec["signal"]["addr"], 16)
    sp = int(rec["regs"]["rsp"], 16)
    assert abs(fault - sp) < 64 * 1024
    assert int(rec["stack"]["start"], 16) >= sp
    assert all(f.get("function") == "recurse" for f in rec["frames"][1:10]), top
    check_exit(watcher, ran, "SIGSEGV")


LIBC_RAISE = {"__pthread_kill_implementation", "__pthread_kill_internal", "pthread_kill",
              "raise", "gsignal", "abort"}


def test_abort(watcher):
    ran = run_target("abort")
    rec = watcher.records_for(ran.pid, "signal")
    top = check_signal(rec, ran, "SIGABRT", "SI_TKILL")
    # abort() raises SIGABRT at itself: the sender is the process, rip is in libc.
    assert rec["sender"]["pid"] == ran.pid
    assert "libc.so" in top["module"]
    assert top.get("function") in LIBC_RAISE
    check_exit(watcher, ran, "SIGABRT")


def test_failed_assert(watcher):
    ran = run_target("assert_fail")
    assert "Assertion `value == 0' failed" in ran.stderr
    rec = watcher.records_for(ran.pid, "signal")
    top = check_signal(rec, ran, "SIGABRT", "SI_TKILL")
    assert rec["sender"]["pid"] == ran.pid
    assert top.get("function") in LIBC_RAISE
    check_exit(watcher, ran, "SIGABRT")


def test_sigbus_past_the_end_of_a_truncated_file(watcher):
    ran = run_target("sigbus")
    rec = watcher.records_for(ran.pid, "signal")
    check_signal(rec, ran, "SIGBUS", "BUS_ADRERR", "touch_mapping")
    assert int(rec["signal"]["addr"], 16) == ran.value("fault_addr")
    check_exit(watcher, ran, "SIGBUS")


def test_sigfpe_integer_division_by_zero(watcher):
    ran = run_target("sigfpe")
    rec = watcher.records_for(ran.pid, "signal")
    check_signal(rec, ran, "SIGFPE", "FPE_INTDIV", "divide")
    assert rec["signal"]["addr"] == rec["regs"]["rip"]  # si_addr: the faulting instruction
    check_exit(watcher, ran, "SIGFPE")


def test_sigill(watcher):
    ran = run_target("sigill")
    rec = watcher.records_for(ran.pid, "signal")
    check_signal(rec, ran, "SIGILL", "ILL_ILLOPN", "illegal_instruction")
    assert rec["signal"]["addr"] == rec["regs"]["rip"]
    check_exit(watcher, ran, "SIGILL")


def test_sigsegv_with_a_handler_that_exits(watcher):
    ran = run_target("segv_handler_exit")
    assert os.WIFEXITED(ran.status) and os.WEXITSTATUS(ran.status) == 42
    rec = watcher.records_for(ran.pid, "signal")
    check_signal(rec, ran, "SIGSEGV", "SEGV_MAPERR", "crash_with_handler")
    assert rec["signal"]["handler"] not in ("default", "ignored")
    ex = check_exit(watcher, ran, "SIGSEGV")
    assert ex["exit_code"] == 42


def test_kill_segv_from_another_process(watcher):
    proc = start_target("wait_for_kill")
    for line in proc.stdout:
        if line.strip() == "ready=1":
            break
    in_pause(proc.pid)
    os.kill(proc.pid, signal.SIGSEGV)
    ran = finish(proc)
    rec = watcher.records_for(ran.pid, "signal")
    check_signal(rec, ran, "SIGSEGV", "SI_USER")
    with open("/proc/self/comm") as f:
        me = f.read().strip()
    assert rec["signal"]["from_process"] is True
    assert rec["sender"] == {"pid": os.getpid(), "uid": 0, "comm": me}
    check_exit(watcher, ran, "SIGSEGV")


def test_clean_exits_are_not_reported(watcher):
    # A process that exits 3 is no crash: without --nonzero-exit, nothing.
    import subprocess
    sh = subprocess.Popen(["/bin/sh", "-c", "exit 3"])
    sh.wait()
    marker = run_target("sigfpe")
    watcher.records_for(marker.pid, "exit")
    assert not [r for r in watcher.seen if r["pid"] == sh.pid]


@pytest.mark.parametrize("sig", [signal.SIGUSR1])
def test_counters_on_sigusr1(watcher, sig):
    before = len([l for l in watcher.stderr_lines if "counters:" in l])
    watcher.proc.send_signal(sig)
    line = watcher.wait_stderr(r"crashwatch: counters: signals_seen=\d+", 10)
    assert "dropped_ringbuf_full=0" in line
    assert len([l for l in watcher.stderr_lines if "counters:" in l]) > before
