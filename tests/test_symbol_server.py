"""crashwatch-snapshot --symbol-server and --symbolizer against real processes:
the same frames with and without the server, a warm server answering from its
cache, a server killed or answering garbage, garbage sent to the server, and its
memory bound.  Every server runs from build/san: a leak or undefined behaviour
makes it exit non-zero at its lifeline's EOF, which stop() asserts."""
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import SNAPSHOT
from test_snapshot import assert_running_untraced, start, stop

MAGIC, VERSION, LOOKUP, STATS = 0x59534D43, 1, 1, 2
REQUEST = struct.Struct("<IHHIIII64s4096s")  # then n_addrs uint64
REPLY = struct.Struct("<IHHiIII8Q")
STAT_NAMES = ("requests", "bad_requests", "hits", "misses", "evictions", "modules",
              "rss_bytes", "cache_bytes")
FALLBACK = "failed to ask the symbol server"


def request(type_, addrs=(), build_id=b"", name=b"", flags=0, n_addrs=None):
    n = len(addrs) if n_addrs is None else n_addrs
    head = REQUEST.pack(MAGIC, VERSION, type_, flags, n, len(build_id),
                        len(name) + 1 if name else 0, build_id, name)
    return head + b"".join(struct.pack("<Q", a) for a in addrs)


def parse_reply(data):
    assert len(data) >= REPLY.size, data
    f = REPLY.unpack_from(data)
    assert f[0] == MAGIC and f[1] == VERSION
    return {"type": f[2], "status": f[3], "n_results": f[4], "cached": f[6],
            **dict(zip(STAT_NAMES, f[7:]))}


class SymbolServer:
    """The tool in server mode, its stdin the lifeline."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="cw-sym-")
        self.sock = os.path.join(self.dir, "sym.sock")
        self.proc = subprocess.Popen([SNAPSHOT, f"--symbol-server={self.sock}", *args],
                                     stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.connect().close()
                return
            except OSError:
                assert self.proc.poll() is None, self.proc.stderr.read()
                assert time.monotonic() < deadline, "the server never listened"
                time.sleep(0.02)

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(30)
        s.connect(self.sock)
        return s

    def ask(self, payload, fds=(), conn=None):
        s = conn or self.connect()
        try:
            anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))]
            s.sendmsg([payload], anc if fds else [])
            return parse_reply(s.recv(1 << 17))
        finally:
            if conn is None:
                s.close()

    def stats(self):
        r = self.ask(request(STATS))
        assert r["status"] == 0 and r["type"] == STATS
        return r

    def stop(self, sig=None):
        if sig is None:
            self.proc.stdin.close()
        else:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=60)
        err = self.proc.stderr.read()
        shutil.rmtree(self.dir, ignore_errors=True)
        return rc, err


@pytest.fixture
def server():
    s = SymbolServer()
    yield s
    if s.proc.poll() is None:
        rc, err = s.stop()
        assert rc == 0, err


def run(*args):
    return subprocess.run([SNAPSHOT, "--output=-", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def snapshot(*args):
    r = run(*args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), r.stderr


FIELDS = ("pc", "function", "symbol", "function_offset", "file", "line", "module", "module_offset",
          "build_id", "signal_frame")


def frames(snap):
    return {t["tid"]: [tuple(f[k] for k in FIELDS) for f in t["frames"]]
            for t in snap["threads"]}


def modules_in_frames(snap):
    return {f["build_id"] for t in snap["threads"] for f in t["frames"]
            if f["build_id"] and f["module"].startswith("/")}


def crash_args(proc, said):
    return [f"--fault-thread={proc.pid}", f"--signal={said['signal'][0]}",
            f"--si-code={said['si_code'][0]}", f"--fault-addr={said['fault_addr'][0]}"]


@pytest.mark.parametrize("target", [("parked_threads", "8"), ("crash_and_park", "null"),
                                    ("crash_and_park", "abort"), ("cpp_parked",)])
def test_same_frames_with_and_without_the_server(server, target):
    proc, said = start(*target)
    try:
        args = crash_args(proc, said) if target[0] == "crash_and_park" else []
        local, _ = snapshot(*args, proc.pid)
        cold, err = snapshot(f"--symbolizer={server.sock}", *args, proc.pid)
        assert FALLBACK not in err
        warm, err = snapshot(f"--symbolizer={server.sock}", *args, proc.pid)
        assert FALLBACK not in err
        assert_running_untraced(proc.pid)
    finally:
        stop(proc)
    assert frames(local) == frames(cold) == frames(warm)
    assert local["classifiers"] == warm["classifiers"]
    if target[0] == "cpp_parked":  # demangled through the server too, the raw name kept
        assert ("ns::Parked::park(int)", "_ZN2ns6Parked4parkEi") in {
            (f["function"], f["symbol"]) for t in warm["threads"] for f in t["frames"]}
    # Source lines from libc6-dbg's DWARF came through the server too.
    assert any(f["file"] and f["line"] for t in warm["threads"] for f in t["frames"]
               if "libc.so" in (f["module"] or ""))
    st = server.stats()
    assert st["misses"] == len(modules_in_frames(local))
    assert st["hits"] >= st["misses"]


def traced_opens(tmp_path, *args):
    """The tool's run under strace: (its JSON, the files it opened)."""
    trace = tmp_path / "strace"
    # LeakSanitizer cannot run under ptrace; the other sanitizers still do.
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=open,openat,openat2", "-o",
                        str(trace), SNAPSHOT, "--output=-", *map(str, args)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    opened = [l for l in trace.read_text().splitlines() if "= -1" not in l]
    return json.loads(r.stdout), opened


def test_a_warm_server_answers_from_its_cache_and_the_tool_reads_no_dwarf(server, tmp_path):
    proc, _ = start("parked_threads", "4")
    try:
        snapshot(f"--symbolizer={server.sock}", proc.pid)
        first = server.stats()
        snap, opened = traced_opens(tmp_path, f"--symbolizer={server.sock}", proc.pid)
        second = server.stats()
        _, opened_alone = traced_opens(tmp_path, proc.pid)
    finally:
        stop(proc)
    n = len(modules_in_frames(snap))
    assert n >= 2  # the executable and libc
    assert first["misses"] == n and first["hits"] == 0
    assert second["misses"] == n and second["hits"] == n  # every module warm
    assert second["modules"] == n
    # The debug files (libc6-dbg's compressed DWARF) are the server's to read, not the tool's.
    assert [l for l in opened if "/usr/lib/debug" in l] == []
    if os.path.isdir("/usr/lib/debug/.build-id"):
        assert [l for l in opened_alone if "/usr/lib/debug/.build-id" in l]


def test_server_killed_the_tool_symbolizes_alone(server):
    proc, said = start("crash_and_park", "null")
    try:
        args = crash_args(proc, said)
        local, _ = snapshot(*args, proc.pid)
        snapshot(f"--symbolizer={server.sock}", *args, proc.pid)
        server.proc.kill()
        server.proc.wait()
        alone, err = snapshot(f"--symbolizer={server.sock}", *args, proc.pid)
        nowhere, err2 = snapshot("--symbolizer=/nonexistent/sym.sock", *args, proc.pid)
    finally:
        stop(proc)
    assert frames(alone) == frames(local) == frames(nowhere)
    assert alone["classifiers"] == local["classifiers"]
    for e in (err, err2):
        assert e.count(FALLBACK) == 1, e
        assert "symbolizing locally" in e


class FakeServer:
    """A server that accepts, reads the first request, then does `what`."""

    def __init__(self, what):
        self.dir = tempfile.mkdtemp(prefix="cw-fake-")
        self.sock = os.path.join(self.dir, "fake.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(self.sock)
        self.listener.listen(8)
        self.what = what
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            msg, anc, _, _ = c.recvmsg(1 << 17, socket.CMSG_SPACE(16))
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    for fd in struct.unpack(f"{len(data) // 4}i", data[:len(data) // 4 * 4]):
                        os.close(fd)
            if self.what == "garbage":
                c.send(os.urandom(200))
            elif self.what == "lies":
                # A well-formed header whose string offsets point past the table.
                n = struct.unpack_from("<I", msg, 12)[0]
                head = REPLY.pack(MAGIC, VERSION, LOOKUP, 0, n, 4, 0, *([0] * 8))
                c.send(head + struct.pack("<QIIiI", 0, 1000, 1000, 1, 0) * n + b"abc\0")
            c.close()  # "dies": mid-request for "close"

    def close(self):
        self.listener.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.mark.parametrize("what", ["close", "garbage", "lies"])
def test_a_server_that_dies_or_answers_garbage_is_left_alone(what):
    fake = FakeServer(what)
    proc, _ = start("parked_threads", "4")
    try:
        local, _ = snapshot(proc.pid)
        got, err = snapshot(f"--symbolizer={fake.sock}", proc.pid)
    finally:
        stop(proc)
        fake.close()
    assert frames(got) == frames(local)
    assert err.count(FALLBACK) == 1, err


def test_garbage_to_the_socket_gets_errors_and_the_server_still_answers(server):
    good = request(LOOKUP, [0x1000], build_id=b"\xab" * 20, name=b"/bin/true")
    with open("/bin/true", "rb") as f:
        fd = f.fileno()
        bad = [
            (b"\x00" * 7, ()),
            (os.urandom(300), ()),
            (struct.pack("<IHH", 0xDEADBEEF, 1, 1) + bytes(4200), ()),  # not our magic
            (request(LOOKUP, [1, 2]), (fd,)),  # no build-id, no name
            (good, ()),  # a lookup without its fd
            (good, (fd, fd)),  # two fds
            (request(STATS), (fd,)),  # a fd where none belongs
            (request(LOOKUP, [1], build_id=b"\xab" * 20, name=b"/bin/true", n_addrs=300),
             (fd,)),  # counts that do not match the length
            (good[:-1], (fd,)),
            (good + bytes(70000), (fd,)),  # longer than any message
            (request(LOOKUP, [1], build_id=b"\xab" * 20, name=b"/bin/true", flags=0x80),
             (fd,)),
        ]
        conn = server.connect()
        for payload, fds in bad:
            r = server.ask(payload, fds, conn=conn)  # one connection survives them all
            assert r["status"] < 0, (payload[:16], r)
        # An empty message reads as the end of the connection: that one is closed.
        conn.send(b"")
        assert conn.recv(100) == b""
        conn.close()
        # A well-formed lookup whose file has another build-id: refused, not cached.
        r = server.ask(good, (fd,))
        assert r["status"] == -116  # -ESTALE
        # A pipe for a file: refused at once, never read (it would never end).
        rd, wr = os.pipe()
        try:
            assert server.ask(good, (rd,))["status"] == -19  # -ENODEV
        finally:
            os.close(rd)
            os.close(wr)
        for _ in range(200):
            server.ask(os.urandom(random.randrange(1, 5000)))
    st = server.stats()
    assert st["bad_requests"] == len(bad) + 200
    assert st["modules"] == 0
    proc, _ = start("parked_threads", "2")
    try:
        local, _ = snapshot(proc.pid)
        got, err = snapshot(f"--symbolizer={server.sock}", proc.pid)
    finally:
        stop(proc)
    assert FALLBACK not in err
    assert frames(got) == frames(local)
    assert server.stats()["misses"] >= 2


def test_the_memory_bound_evicts_least_recently_used_modules():
    tiny = SymbolServer("--symbol-cache-bytes=1M")
    proc, said = start("crash_and_park", "abort")
    try:
        args = crash_args(proc, said)
        local, _ = snapshot(*args, proc.pid)
        for _ in range(3):
            got, err = snapshot(f"--symbolizer={tiny.sock}", *args, proc.pid)
            assert FALLBACK not in err
            assert frames(got) == frames(local)
        st = tiny.stats()
    finally:
        stop(proc)
        rc, err = tiny.stop()
    assert rc == 0, err
    n = len(modules_in_frames(local))
    assert n >= 2
    # Above the bound every module but the one just used is forgotten: never more than one.
    assert st["modules"] == 1
    assert st["rss_bytes"] > st["cache_bytes"] == 1 << 20
    assert st["misses"] == 3 * n and st["hits"] == 0
    assert st["evictions"] == 3 * n - 1
    assert f"evictions={st['evictions']}" in err


def test_lifeline_eof_and_sigterm_end_the_server_and_remove_its_socket(tmp_path):
    for how in (None, signal.SIGTERM):
        s = SymbolServer()
        assert os.stat(s.sock).st_mode & 0o777 == 0o600
        sock = s.sock
        rc, err = s.stop(how)
        assert rc == 0, err
        assert not os.path.exists(sock)
        assert "symbol server: requests=" in err
    # A file left at the path (a server killed earlier) is replaced.
    stale = tmp_path / "s.sock"
    stale.write_text("")
    p = subprocess.Popen([SNAPSHOT, f"--symbol-server={stale}"], stdin=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not stale.is_socket():
        assert time.monotonic() < deadline and p.poll() is None
        time.sleep(0.02)
    p.stdin.close()
    assert p.wait(timeout=60) == 0


@pytest.mark.parametrize("args,message", [
    (["--symbol-server=/tmp/x.sock", "--symbol-cache-bytes=12abc"],
     "bad --symbol-cache-bytes '12abc'"),
    (["--symbol-server=/tmp/x.sock", "--symbol-cache-bytes=0"], "bad --symbol-cache-bytes '0'"),
    (["--symbol-server=/tmp/x.sock", "--symbol-cache-bytes=2048G"],
     "bad --symbol-cache-bytes '2048G'"),
    (["--symbol-server=/tmp/x.sock", "1"], "--symbol-server takes no PID"),
    (["--symbolizer=", "1"], "bad --symbolizer ''"),
])
def test_bad_server_options(args, message):
    r = subprocess.run([SNAPSHOT, *args], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
