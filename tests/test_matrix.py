"""Issue 4's acceptance: every crash kind in tests/targets, run without and with
`crashwatch watch --hold`.  With it: one full snapshot with every thread, the
faulted thread marked with the crashing function on top (or past the signal
frame when held in a handler), the right classifiers; the death its parent
sees unchanged; nothing left stopped; core settings given back."""
import json
import os
import signal
import subprocess

import pytest

from conftest import (PATTERN, PIPE_LIMIT, TARGETS, Watcher, finish, in_pause, read, run_target,
                      start_target)


# target: (threads, function the faulted thread is in, classifiers after the signal's)
MATRIX = {
    "null_deref": (1, "crash_null_deref", ["SEGV_MAPERR", "null-pointer-dereference"]),
    "null_deref_threads": (6, "worker_crash", ["SEGV_MAPERR", "null-pointer-dereference"]),
    "stack_overflow": (1, "recurse", ["SEGV_MAPERR", "stack-overflow"]),
    "abort": (1, "abort", ["abort"]),
    "assert_fail": (1, "abort", ["assertion-failure"]),
    "sigbus": (1, "touch_mapping", ["BUS_ADRERR", "bus-error"]),
    "sigfpe": (1, "divide", ["FPE_INTDIV", "division-by-zero"]),
    "sigill": (1, "illegal_instruction", ["ILL_ILLOPN", "illegal-instruction"]),
    "segv_handler_exit": (1, "crash_with_handler", ["SEGV_MAPERR", "null-pointer-dereference"]),
    "wait_for_kill": (1, "main", ["SI_USER"]),  # stopped wherever the kill found it
}


def run(name):
    if name != "wait_for_kill":
        return run_target(name)
    proc = start_target(name)
    for line in proc.stdout:
        if line.strip() == "ready=1":
            break
    in_pause(proc.pid)
    os.kill(proc.pid, signal.SIGSEGV)
    return finish(proc)


def no_stopped_process_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "Tt"
    except FileNotFoundError:
        return True


@pytest.fixture(scope="module")
def held(tmp_path_factory):
    """Every target once with the watcher holding, once without: (with, without, snapshots)."""
    saved = read(PATTERN), read(PIPE_LIMIT)
    spool = tmp_path_factory.mktemp("spool")
    without = {name: run(name) for name in MATRIX}
    w = Watcher("--hold", f"--spool={spool}")
    try:
        with_ = {name: run(name) for name in MATRIX}
        for name, ran in with_.items():
            # Released at capture: the snapshot is written after the process died.
            w.records_for(ran.pid, "exit")
            w.records_for(ran.pid, "snapshot")
    finally:
        rc = w.stop()
        subprocess.run([w.args[0], "core-restore"], capture_output=True)
    assert rc == 0
    snaps = {name: [r for r in w.seen if r["type"] == "snapshot" and r["pid"] == ran.pid]
             for name, ran in with_.items()}
    assert (read(PATTERN), read(PIPE_LIMIT)) == saved, "core settings not given back"
    return with_, without, snaps


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_crash_kind(held, name):
    with_, without, snaps = held
    nthreads, function, classifiers = MATRIX[name]
    ran = with_[name]
    # One full snapshot per crash.
    assert len(snaps[name]) == 1, snaps[name]
    rec = snaps[name][0]
    assert rec["tool_status"] == 0 and rec["path"], rec
    with open(rec["path"]) as f:
        snap = json.load(f)
    assert len(snap["threads"]) == nthreads
    (faulted,) = [t for t in snap["threads"] if t["faulted"]]
    names = [f["function"] for f in faulted["frames"]]
    if name == "segv_handler_exit":
        assert names[0] == "on_segv"  # held at the handler's entry ...
        assert names[names.index(function)] and faulted["frames"][names.index(function)][
            "signal_frame"]  # ... the crash past the signal frame
    elif name == "wait_for_kill":
        assert function in names
    else:
        assert names[0] == function, names
    assert snap["classifiers"][0] == signal.Signals(
        os.WTERMSIG(ran.status) if os.WIFSIGNALED(ran.status) else signal.SIGSEGV).name
    assert snap["classifiers"][1:] == classifiers
    # The death its parent sees: unchanged, but for the kernel's core-dumped flag
    # that a pipe core_pattern sets (README).
    assert ran.status & ~0x80 == without[name].status & ~0x80, (ran.status, without[name].status)
    assert no_stopped_process_of(ran.pid)
