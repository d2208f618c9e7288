"""Default-action faults held in their core dump: core_pattern owned, the core
forwarded where it went before, and kernel.core_pattern always given back."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import (BUILD, PATTERN, PIPE_LIMIT, TARGETS, WATCHER, Watcher, finish, read,
                      run_target, write)

SOCKET_PATTERN = "@@/run/crashwatch/coredump.sock"


def socket_supported():
    probe = subprocess.run([os.path.join(BUILD, "tests", "helpers", "coredump_serve"),
                            "--probe"], capture_output=True, text=True, timeout=10)
    return probe.stdout.strip() == "1"


@pytest.fixture(params=["pipe", "socket"])
def how(request, host_core_settings):
    """Both ways a core dump reaches the watcher: the pipe helper, the kernel's socket."""
    if request.param == "socket" and not socket_supported():
        pytest.skip("this kernel has no coredump socket (Linux >= 6.17, host mount namespace)")
    return request.param


def assert_ours(how):
    """kernel.core_pattern points at the watcher, the way asked for."""
    if how == "socket":
        assert read(PATTERN) == SOCKET_PATTERN
    else:
        assert read(PATTERN).startswith("|") and "core-handler %P %I %s %c" in read(PATTERN)


def previous_file_pattern(tmp_path):
    """core_pattern as a file pattern into a fresh directory, before the watcher starts."""
    cores = tmp_path / "cores"
    cores.mkdir()
    write(PATTERN, f"{cores}/core.%e.%p")
    return cores


def run_with_core_limit(name, limit):
    import resource

    def pre():
        resource.setrlimit(resource.RLIMIT_CORE, (limit, limit))

    proc = subprocess.Popen([os.path.join(TARGETS, name)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=pre)
    return finish(proc)


def test_default_action_fault_is_held_in_its_core_dump(tmp_path, host_core_settings, how):
    w = Watcher("--hold", f"--spool={tmp_path}", f"--core-hold={how}")
    try:
        w.wait_stderr(r"default-action faults \(core dump")
        assert_ours(how)
        assert int(read(PIPE_LIMIT)) > 0
        ran = run_target("null_deref_threads")
        crash_tid = ran.value("crash_tid")
        assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGSEGV
        rec = w.records_for(ran.pid, "snapshot")
        assert rec["tool_status"] == 0, rec
        ex = w.records_for(ran.pid, "exit")
        assert ex["status"] == ran.status
    finally:
        assert w.stop() == 0
    # Given back on exit.
    assert (read(PATTERN), read(PIPE_LIMIT)) == host_core_settings
    with open(rec["path"]) as f:
        snap = json.load(f)
    assert snap["capture"]["method"] == "ptrace-at-exit"
    assert snap["classifiers"] == ["SIGSEGV", "SEGV_MAPERR", "null-pointer-dereference"]
    threads = {t["tid"]: t for t in snap["threads"]}
    assert len(threads) == 6  # main and 5 workers: every thread
    assert threads[crash_tid]["faulted"]
    assert threads[crash_tid]["frames"][0]["function"] == "worker_crash"
    # Issue 14: the cause line first, from the faulted thread's top frame.
    assert re.fullmatch(r"null pointer dereference at 0x0 in worker_crash "
                        r"\(\S*null_deref_threads\.c:\d+\)", snap["cause"]), snap["cause"]
    assert all(t["frames"] for t in threads.values())


def test_core_pattern_comes_back_after_the_watcher_is_killed(tmp_path, host_core_settings, how):
    w = Watcher("--hold", f"--spool={tmp_path}", f"--core-hold={how}")
    w.stop(signal.SIGKILL)
    assert_ours(how)  # left behind by the dead watcher
    # A crash meanwhile still dies as it should: the handler (or the kernel) finds
    # nobody and goes on.
    ran = run_target("sigfpe")
    assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGFPE
    w = Watcher("--hold", f"--spool={tmp_path}")
    try:
        w.wait_stderr("restored the kernel.core_pattern a previous watcher left")
    finally:
        assert w.stop() == 0
    assert (read(PATTERN), read(PIPE_LIMIT)) == host_core_settings


def test_cores_still_go_to_the_previous_file_pattern(tmp_path, host_core_settings, how):
    cores = previous_file_pattern(tmp_path)
    w = Watcher("--hold", f"--spool={tmp_path / 'spool'}", f"--core-hold={how}")
    try:
        ran = run_with_core_limit("sigill", -1)  # RLIMIT_CORE unlimited
        w.records_for(ran.pid, "snapshot")
        no_core = run_with_core_limit("sigfpe", 0)  # RLIMIT_CORE 0: no file, as before
        w.records_for(no_core.pid, "exit")
    finally:
        assert w.stop() == 0
    path = cores / f"core.sigill.{ran.pid}"
    assert path.exists(), os.listdir(cores)
    with open(path, "rb") as f:
        head = f.read(18)
    assert head[:4] == b"\x7fELF" and int.from_bytes(head[16:18], "little") == 4  # ET_CORE
    assert not (cores / f"core.sigfpe.{no_core.pid}").exists()
    # And the forwarded core is a real one: the snapshot tool reads it.
    snap = json.loads(subprocess.run([WATCHER + "-snapshot", "--output=-", f"--core={path}"],
                                     capture_output=True, text=True, check=True).stdout)
    assert snap["threads"][0]["frames"][0]["function"] == "illegal_instruction"


def test_cores_still_go_to_the_previous_pipe_handler(tmp_path, host_core_settings, how):
    seen = tmp_path / "seen"
    handler = tmp_path / "previous-handler"
    handler.write_text(f"#!/bin/sh\necho \"$1 $2 $3\" > {seen}\nwc -c >> {seen}\n")
    handler.chmod(0o755)
    write(PATTERN, f"|{handler} %p %s %e")
    w = Watcher("--hold", f"--spool={tmp_path / 'spool'}", f"--core-hold={how}")
    try:
        ran = run_target("null_deref")
        w.records_for(ran.pid, "snapshot")
    finally:
        assert w.stop() == 0
    deadline = time.monotonic() + 10
    while not (seen.exists() and len(seen.read_text().splitlines()) == 2):
        assert time.monotonic() < deadline, "the previous handler never ran"
        time.sleep(0.05)
    args, size = seen.read_text().splitlines()
    assert args == f"{ran.pid} 11 null_deref"
    assert int(size) > 4096  # the whole core stream reached it


def test_holding_is_the_default(tmp_path, host_core_settings):
    w = Watcher(f"--spool={tmp_path}", default_hold=True)
    try:
        w.wait_stderr(r"hold points: handled signals .* default-action faults")
        # The kernel's coredump socket where it has one, else the pipe helper.
        assert_ours("socket" if socket_supported() else "pipe")
        ran = run_target("sigfpe")
        assert w.records_for(ran.pid, "snapshot")["tool_status"] == 0
    finally:
        assert w.stop() == 0
    assert (read(PATTERN), read(PIPE_LIMIT)) == host_core_settings


def test_drop_cores_keeps_the_snapshot_and_writes_no_core(tmp_path, host_core_settings, how):
    cores = previous_file_pattern(tmp_path)
    w = Watcher("--hold", "--drop-cores", f"--spool={tmp_path / 'spool'}", f"--core-hold={how}")
    try:
        ran = run_with_core_limit("sigill", -1)
        rec = w.records_for(ran.pid, "snapshot")
        assert rec["tool_status"] == 0 and rec["path"]
        w.records_for(ran.pid, "exit")
    finally:
        assert w.stop() == 0
    assert os.listdir(cores) == []
    assert read(PATTERN) == f"{cores}/core.%e.%p"
    assert not os.path.exists("/run/crashwatch/core-drop")


def test_one_holding_watcher_per_host(tmp_path, host_core_settings):
    first = Watcher("--hold", f"--spool={tmp_path / 'a'}")
    first_pattern = read(PATTERN)
    try:
        second = subprocess.run([WATCHER, "watch", "--config=", "--hold",
                                 f"--spool={tmp_path / 'b'}"], capture_output=True, text=True,
                                timeout=30)
        assert second.returncode == 1
        assert f"another crashwatch watch (pid {first.proc.pid}) already holds" in second.stderr
        assert read(PATTERN) in (SOCKET_PATTERN, first_pattern)  # the first one's, untouched
        reporter = Watcher()  # --no-hold: only reports, beside it
        assert reporter.stop() == 0
    finally:
        assert first.stop() == 0
    assert (read(PATTERN), read(PIPE_LIMIT)) == host_core_settings


@pytest.mark.parametrize("sock", ["core.sock", "coredump.sock"])
def test_a_call_that_is_not_a_core_dump_is_refused(tmp_path, host_core_settings, sock):
    """Anyone root can connect to the watcher's core sockets: only a process that is
    really dumping core, called about by the kernel's own helper, is held."""
    import socket
    how = "pipe" if sock == "core.sock" else "socket"
    if how == "socket" and not socket_supported():
        pytest.skip("this kernel has no coredump socket (Linux >= 6.17, host mount namespace)")
    healthy = subprocess.Popen(["sleep", "60"])
    w = Watcher("--hold", f"--spool={tmp_path}", f"--core-hold={how}")
    try:
        kind = socket.SOCK_SEQPACKET if how == "pipe" else socket.SOCK_STREAM
        with socket.socket(socket.AF_UNIX, kind) as s:
            s.settimeout(5)
            s.connect(f"/run/crashwatch/{sock}")
            s.send(f"{healthy.pid} {healthy.pid} 11".encode())
            try:
                assert s.recv(16) == b""  # closed unanswered
            except ConnectionResetError:
                pass  # closed unanswered, with our bytes unread
        w.wait_stderr(r"refused a core dump call: ")
        with open(f"/proc/{healthy.pid}/status") as f:
            assert "TracerPid:\t0\n" in f.read()  # never ptraced
        # A real crash meanwhile is held as always.
        ran = run_target("null_deref")
        rec = w.records_for(ran.pid, "snapshot")
        assert rec["path"] and not rec["partial"], rec
    finally:
        healthy.kill()
        healthy.wait()
        assert w.stop() == 0
    assert w.counters()["core_calls_refused"] == 1
