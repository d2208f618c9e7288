"""The kernel's coredump socket (core_pattern = @@/path, Linux >= 6.17), driven
through user/coredump_socket.h by tests/helpers/coredump_serve: a real crash
held over the socket, snapshotted at its exit, its core sent where the previous
core_pattern said, and the parent's wait status what the kernel reports.
kernel.core_pattern is put back whatever happens (host_core_settings)."""
import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import BUILD, PATTERN, SNAPSHOT, finish, read, start_target, write

SERVE = os.path.join(BUILD, "tests", "helpers", "coredump_serve")


def kernel_version():
    release = os.uname().release
    return tuple(int(x) for x in release.split("-")[0].split(".")[:2])


@pytest.fixture
def socket_server(tmp_path, host_core_settings):
    """Start coredump_serve and point core_pattern at it; stopped and put back afterwards."""
    if kernel_version() < (6, 17):
        pytest.skip(f"the coredump socket (@@) needs Linux 6.17; this is {os.uname().release}")
    probe = subprocess.run([SERVE, "--probe"], capture_output=True, text=True, timeout=10)
    assert probe.returncode == 0, probe.stderr
    assert read(PATTERN) == host_core_settings[0], "the probe left core_pattern changed"
    if probe.stdout.strip() != "1":
        pytest.skip("this kernel refuses core_pattern = @@/path (no coredump socket, or "
                    "not the host's mount namespace)")
    # The kernel takes the path from the host's root, without symlinks, < 108 bytes.
    sock_dir = tempfile.mkdtemp(prefix="cw-cds.", dir="/run")
    spool = tmp_path / "spool"
    spool.mkdir()
    servers = []

    def serve(previous="", count=1):
        sock = os.path.join(sock_dir, "core.sock")
        proc = subprocess.Popen([SERVE, sock, SNAPSHOT, str(spool), previous, str(count)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        servers.append(proc)
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        write(PATTERN, "@@" + sock)
        assert read(PATTERN) == "@@" + sock
        return proc

    yield serve
    for proc in servers:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    shutil.rmtree(sock_dir, ignore_errors=True)


def served(proc):
    """What the server said, once it is done: {event: {key: value}}."""
    out, err = proc.communicate(timeout=30)
    events = {}
    for line in out.splitlines():
        word, _, rest = line.partition(" ")
        events[word] = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
    return proc.returncode, events, out + err


def core_limit(limit):
    def pre():
        resource.setrlimit(resource.RLIMIT_CORE, (limit, limit))
    return pre


def is_elf_core(path):
    with open(path, "rb") as f:
        head = f.read(18)
    return head[:4] == b"\x7fELF" and int.from_bytes(head[16:18], "little") == 4  # ET_CORE


def test_a_null_deref_is_held_over_the_socket_and_snapshotted(socket_server):
    server = socket_server("--drop")
    ran = finish(start_target("null_deref_threads"))
    rc, ev, text = served(server)
    assert rc == 0, text
    crash_tid = ran.value("crash_tid")
    # The kernel's connection named the process and its dumping thread.
    assert int(ev["accepted"]["pid"]) == ran.pid, text
    assert int(ev["accepted"]["tid"]) == crash_tid, text
    assert int(ev["accepted"]["req_size"]) >= 16 and int(ev["accepted"]["req_size_ack"]) >= 16
    # --drop: USERSPACE, no core written; the parent sees it dumped, as with a pipe handler.
    assert ev["answered"] == {"mode": "userspace", "wait": "0", "r": "0", "mark": "0"}, text
    assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGSEGV
    assert os.WCOREDUMP(ran.status)
    assert ev["snapshot"]["tool_status"] == "0", text
    with open(ev["snapshot"]["path"]) as f:
        snap = json.load(f)
    assert snap["capture"]["method"] == "ptrace-at-exit"
    threads = {t["tid"]: t for t in snap["threads"]}
    assert len(threads) == 6  # main and 5 workers: every thread, stopped at its exit
    assert threads[crash_tid]["faulted"]
    assert threads[crash_tid]["frames"][0]["function"] == "worker_crash"
    assert all(t["frames"] for t in threads.values())


def test_the_core_goes_where_a_previous_file_pattern_said(socket_server, tmp_path):
    cores = tmp_path / "cores"
    cores.mkdir()
    server = socket_server(f"{cores}/core.%e.%p")
    ran = finish(start_target("null_deref", preexec_fn=core_limit(resource.RLIM_INFINITY)))
    rc, ev, text = served(server)
    assert rc == 0, text
    assert ev["answered"]["mode"] == "kernel" and ev["answered"]["mark"] == "0", text
    assert os.WTERMSIG(ran.status) == signal.SIGSEGV and os.WCOREDUMP(ran.status)
    core = cores / f"core.null_deref.{ran.pid}"
    assert core.exists(), os.listdir(cores)
    assert is_elf_core(core) and core.stat().st_size > 4096


def test_rlimit_core_0_with_a_previous_file_pattern_writes_no_core(socket_server, tmp_path):
    cores = tmp_path / "cores"
    cores.mkdir()
    server = socket_server(f"{cores}/core.%e.%p")
    ran = finish(start_target("null_deref"))  # RLIMIT_CORE 0
    rc, ev, text = served(server)
    assert rc == 0, text
    # The kernel ignores RLIMIT_CORE for sockets; we answer as a file pattern would have.
    assert ev["answered"]["mode"] == "reject", text
    assert os.WTERMSIG(ran.status) == signal.SIGSEGV and not os.WCOREDUMP(ran.status)
    assert os.listdir(cores) == []
    assert ev["snapshot"]["tool_status"] == "0", text  # held all the same


def test_the_core_goes_to_a_previous_pipe_handler(socket_server, tmp_path):
    out = tmp_path / "piped"
    out.mkdir()
    server = socket_server(f"|/usr/bin/tee {out}/core.%p")
    ran = finish(start_target("null_deref"))
    rc, ev, text = served(server)
    assert rc == 0, text
    assert ev["answered"] == {"mode": "kernel", "wait": "1", "r": "0", "mark": "0"}, text
    assert ev["consumer"]["status"] == "0", text
    assert os.WTERMSIG(ran.status) == signal.SIGSEGV and os.WCOREDUMP(ran.status)
    assert is_elf_core(out / f"core.{ran.pid}")
