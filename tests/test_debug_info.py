"""Debug info from where it lives: a stripped target whose debug file sits in a
.build-id tree (--debug-dir), or behind a debuginfod server (DEBUGINFOD_URLS,
libdw's client), symbolized by crashwatch-snapshot alone and by its symbol server."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from conftest import SNAPSHOT, TARGETS

CHAIN = ["chain_three", "chain_two", "chain_one", "park_worker"]


def start(exe, *args):
    proc = subprocess.Popen([exe, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    for line in proc.stdout:
        if line.startswith("ready="):
            return proc
    raise AssertionError(f"{exe} never got ready")


def stop(proc):
    proc.kill()
    proc.wait()


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split()[-1]
    raise AssertionError(f"{path} has no build-id")


def strip_into_tree(tmp_path, target, name):
    """A stripped copy of target, its debug file in a .build-id tree:
    (the binary, the tree, the debug file, the build-id)."""
    exe = tmp_path / name
    shutil.copy(os.path.join(TARGETS, target), exe)
    bid = build_id(str(exe))
    tree = tmp_path / "debug"
    debug = tree / ".build-id" / bid[:2] / f"{bid[2:]}.debug"
    debug.parent.mkdir(parents=True)
    subprocess.run(["objcopy", "--only-keep-debug", str(exe), str(debug)], check=True)
    subprocess.run(["strip", str(exe)], check=True)
    return exe, tree, debug, bid


@pytest.fixture
def stripped(tmp_path):
    """(the stripped binary, its debug tree, its debug file, its build-id)."""
    return strip_into_tree(tmp_path, "parked_threads", "parked")


def snapshot(*args, env=None, timeout=60):
    r = subprocess.run([SNAPSHOT, "--output=-", *map(str, args)], capture_output=True,
                       text=True, timeout=timeout, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def frames(snap):
    return [f for t in snap["threads"] for f in t["frames"]]


def names(snap):
    return [f.get("function") for f in frames(snap)]


def assert_symbolized(snap):
    fs = frames(snap)
    got = [f.get("function") for f in fs]
    assert any(got[i:i + len(CHAIN)] == CHAIN for i in range(len(got))), got
    lines = {f["function"]: (f.get("file"), f.get("line")) for f in fs if f.get("function")}
    assert lines["chain_three"][0].endswith("parked_threads.c"), lines["chain_three"]
    assert lines["chain_three"][1] > 0, lines["chain_three"]


def assert_unsymbolized(snap):
    got = names(snap)
    for name in CHAIN + ["park_main"]:
        assert name not in got, got


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEBUGINFOD_")}
    env.update(extra)
    return env


def test_stripped_binary_without_debug_dir_has_no_names(stripped):
    exe, _, _, _ = stripped
    proc = start(str(exe), "2")
    try:
        snap = snapshot(proc.pid, env=clean_env())
    finally:
        stop(proc)
    assert_unsymbolized(snap)


def test_debug_dir_build_id_tree_gives_names_and_lines(stripped, tmp_path):
    exe, tree, _, _ = stripped
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = start(str(exe), "2")
    try:
        snap = snapshot(f"--debug-dir={empty}", f"--debug-dir={tree}", proc.pid,
                        env=clean_env())
    finally:
        stop(proc)
    assert_symbolized(snap)


def test_debug_dir_usr_lib_debug_layout(stripped, tmp_path):
    """A debuglink file under DIR/<the binary's directory>/, as /usr/lib/debug has them."""
    exe, _, debug, _ = stripped
    exe2 = tmp_path / "bin" / "parked"
    exe2.parent.mkdir()
    shutil.copy(exe, exe2)
    subprocess.run(["objcopy", f"--add-gnu-debuglink={debug}", str(exe2)], check=True)
    root = tmp_path / "libdebug"
    dest = root / str(exe2.parent).lstrip("/") / debug.name
    dest.parent.mkdir(parents=True)
    shutil.copy(debug, dest)
    debug.unlink()  # only the /usr/lib/debug-like copy is left
    proc = start(str(exe2), "2")
    try:
        snap = snapshot(f"--debug-dir={root}", proc.pid, env=clean_env())
    finally:
        stop(proc)
    assert_symbolized(snap)


def test_debug_dir_through_the_symbol_server(stripped, tmp_path):
    exe, tree, _, _ = stripped
    sock = tmp_path / "sym.sock"
    server = subprocess.Popen([SNAPSHOT, f"--symbol-server={sock}", f"--debug-dir={tree}"],
                              stdin=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              env=clean_env())
    proc = start(str(exe), "2")
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert time.monotonic() < deadline, "the symbol server never listened"
            time.sleep(0.05)
        # The client has no --debug-dir: the names come from the server.
        snap = snapshot(f"--symbolizer={sock}", proc.pid, env=clean_env())
    finally:
        stop(proc)
        server.stdin.close()
        server.wait(timeout=10)
    assert_symbolized(snap)


@pytest.mark.parametrize("arg,why", [
    ("relative/dir", "absolute"),
    ("/a:b", "':'"),
])
def test_debug_dir_bad_values(arg, why):
    r = subprocess.run([SNAPSHOT, f"--debug-dir={arg}", "1"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 2
    assert why in r.stderr, r.stderr


def test_debug_dir_at_most_16():
    r = subprocess.run([SNAPSHOT, *[f"--debug-dir=/d{i}" for i in range(17)], "1"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert "16" in r.stderr, r.stderr


@pytest.fixture
def netns():
    """A network namespace of its own (loopback only): its pid's /proc/PID/ns/net."""
    holder = subprocess.Popen(["unshare", "--net", "sh", "-c",
                               "ip link set lo up && echo up && exec sleep 600"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "up"
    yield f"/proc/{holder.pid}/ns/net"
    holder.kill()
    holder.wait()


PROBE = """
import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except Exception as e:
    print(getattr(e, "code", 0))
"""


def in_netns(ns, argv):
    return ["nsenter", f"--net={ns}", *argv]


@pytest.fixture
def debuginfod(stripped, tmp_path, netns):
    """Debian's debuginfod serving the debug file, reachable on loopback in netns only."""
    _, _, debug, bid = stripped
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(debug, served / "parked.debug")
    port = 8002
    log = open(tmp_path / "debuginfod.log", "w")
    srv = subprocess.Popen(in_netns(netns, ["debuginfod", "-F", str(served), "-p", str(port),
                                            "-d", str(tmp_path / "debuginfod.sqlite"), "-t", "0",
                                            "-g", "0"]),
                           stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            r = subprocess.run(in_netns(netns, [sys.executable, "-c", PROBE,
                                                f"{url}/buildid/{bid}/debuginfo"]),
                               capture_output=True, text=True)
            if r.stdout.strip() == "200":
                break
            assert srv.poll() is None, open(tmp_path / "debuginfod.log").read()
            assert time.monotonic() < deadline, "debuginfod never served the debug file"
            time.sleep(0.2)
        yield url
    finally:
        srv.terminate()
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
        log.close()


def test_debuginfod_gives_names(stripped, debuginfod, netns, tmp_path):
    exe, _, _, _ = stripped
    env = clean_env(DEBUGINFOD_URLS=debuginfod, DEBUGINFOD_CACHE_PATH=str(tmp_path / "cache"))
    proc = start(str(exe), "2")
    try:
        t0 = time.monotonic()
        r = subprocess.run(in_netns(netns, [SNAPSHOT, "--output=-", str(proc.pid)]),
                           capture_output=True, text=True, timeout=60, env=env)
        took = time.monotonic() - t0
    finally:
        stop(proc)
    assert r.returncode == 0, r.stderr
    assert_symbolized(json.loads(r.stdout))
    assert took < 30, took


def test_silent_debuginfod_is_bounded_and_never_holds_the_target(stripped, tmp_path):
    """A server that accepts and never answers: the tool gives up after DEBUGINFOD_TIMEOUT,
    and the target runs again (untraced) while the tool waits."""
    exe, _, _, _ = stripped
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    env = clean_env(DEBUGINFOD_URLS=f"http://127.0.0.1:{port}", DEBUGINFOD_TIMEOUT="3",
                    DEBUGINFOD_CACHE_PATH=str(tmp_path / "cache"))
    proc = start(str(exe), "2")
    try:
        t0 = time.monotonic()
        tool = subprocess.Popen([SNAPSHOT, "--output=-", str(proc.pid)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        seen_released = False
        while tool.poll() is None and time.monotonic() - t0 < 60:
            with open(f"/proc/{proc.pid}/status") as f:
                st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
            if time.monotonic() - t0 > 1 and st["TracerPid"] == "0" and st["State"][0] in "RS":
                seen_released = True
            time.sleep(0.1)
        out, errs = tool.communicate(timeout=30)
        took = time.monotonic() - t0
    finally:
        stop(proc)
        silent.close()
    assert tool.returncode == 0, errs
    assert took > 1, "the silent server was never asked"
    # One query (DEBUGINFOD_TIMEOUT=3, no retry): the server is not asked again in this run.
    assert took < 8, took
    assert "debuginfod is slow" in errs, errs
    assert seen_released, "the target was held while the tool waited on the network"
    assert_unsymbolized(json.loads(out))


def test_watch_debug_dir_is_checked():
    watch = [os.path.join(os.path.dirname(SNAPSHOT), "crashwatch"), "watch", "--config="]
    r = subprocess.run([*watch, "--debug-dir=rel"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "bad --debug-dir 'rel': give an absolute directory" in r.stderr
    r = subprocess.run([*watch, *[f"--debug-dir=/d{i}" for i in range(17)]],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "give at most 16" in r.stderr, r.stderr


def test_the_watchers_snapshot_of_a_stripped_crash_has_names(tmp_path):
    """crashwatch watch --debug-dir: its snapshot tool (and symbol server) find the debug
    file; the crash ends as it does without the watcher."""
    from conftest import Watcher, run_target

    exe, tree, _, _ = strip_into_tree(tmp_path, "null_deref", "null_deref")
    bare = run_target(str(exe))
    spool = tmp_path / "spool"
    w = Watcher("--hold", f"--spool={spool}", f"--debug-dir={tree}")
    try:
        w.wait_stderr("hold points: handled signals")
        ran = run_target(str(exe))
        rec = w.records_for(ran.pid, "snapshot")
        assert rec["tool_status"] == 0
    finally:
        assert w.stop() == 0
    assert ran.status == bare.status
    with open(rec["path"]) as f:
        snap = json.load(f)
    got = names(snap)
    assert "crash_null_deref" in got and "caller" in got, got
    line = [f for f in frames(snap) if f.get("function") == "crash_null_deref"][0]
    assert line.get("file", "").endswith("null_deref.c") and line.get("line"), line


def start_symbol_server(sock, env, prefix=()):
    server = subprocess.Popen([*prefix, SNAPSHOT, f"--symbol-server={sock}"],
                              stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 10
    while not sock.exists():
        assert time.monotonic() < deadline, "the symbol server never listened"
        time.sleep(0.05)
    return server


def stop_symbol_server(server):
    server.stdin.close()
    server.wait(timeout=10)
    return server.stderr.read()


def test_debuginfod_through_the_symbol_server(stripped, debuginfod, netns, tmp_path):
    exe, _, _, _ = stripped
    sock = tmp_path / "sym.sock"
    server = start_symbol_server(sock, clean_env(DEBUGINFOD_URLS=debuginfod,
                                                 DEBUGINFOD_CACHE_PATH=str(tmp_path / "c")),
                                 prefix=("nsenter", f"--net={netns}"))
    proc = start(str(exe), "2")
    try:
        # The client knows no server: the names come from the symbol server's fetch.
        snap = snapshot(f"--symbolizer={sock}", proc.pid, env=clean_env())
    finally:
        stop(proc)
        stop_symbol_server(server)
    assert_symbolized(snap)


def test_a_silent_debuginfod_is_left_alone_by_the_symbol_server(stripped, tmp_path):
    exe, _, _, _ = stripped
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    env = clean_env(DEBUGINFOD_URLS=f"http://127.0.0.1:{silent.getsockname()[1]}",
                    DEBUGINFOD_TIMEOUT="2", DEBUGINFOD_CACHE_PATH=str(tmp_path / "c"))
    sock = tmp_path / "sym.sock"
    server = start_symbol_server(sock, env)
    proc = start(str(exe), "2")
    took = []
    try:
        for _ in range(2):
            t0 = time.monotonic()
            snap = snapshot(f"--symbolizer={sock}", proc.pid, env=clean_env())
            took.append(time.monotonic() - t0)
            assert_unsymbolized(snap)
    finally:
        stop(proc)
        errs = stop_symbol_server(server)
        silent.close()
    assert "not asked again for a minute" in errs, errs
    assert took[0] < 8 and took[1] < 1.5, took
