"""Issue 16, item 2: `watch --http=ADDR` serves fgtrace's GET /debug/timeline
against the real watcher: fgtrace's parameter errors byte for byte, a real
recording of a multi-threaded process read by a real consumer (Chrome
DevTools' trace engine), who may record whom over loopback TCP and a unix
socket (setpriv to another user), loopback only, bounded recordings that end
with their client and with the watcher, and crashes still held meanwhile."""
import http.client
import json
import os
import re
import socket
import subprocess
import threading
import time

from conftest import TARGETS, WATCHER, Watcher, finish, start_target, wait_until
from test_timeline import start_target as start_tl_target
from test_timeline import CONSUMER, NODE_PATH, check_format, strict_load

NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
NAMES = ("spinner", "locked", "piped", "napper", "alternate")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_watcher(spec, *args):
    w = Watcher(f"--http={spec}", *args)
    if spec.startswith("unix:"):
        said = "/debug/timeline on " + spec
    else:
        said = "http://" + spec.replace("localhost", "127.0.0.1") + "/debug/timeline"
    w.wait_stderr("serving timelines at " + re.escape(said))
    return w


def get(port, target, method="GET", timeout=60, host="127.0.0.1"):
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request(method, target)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def timeline_target(*prefix):
    return start_tl_target(prefix=prefix)


def recordings_of(w):
    """The watcher's `crashwatch timeline` children."""
    found = []
    for task in os.listdir(f"/proc/{w.pid()}/task"):
        try:
            with open(f"/proc/{w.pid()}/task/{task}/children") as f:
                kids = f.read().split()
        except FileNotFoundError:
            continue
        for k in kids:
            try:
                with open(f"/proc/{k}/cmdline", "rb") as f:
                    if b"\0timeline\0" in f.read():
                        found.append(int(k))
            except FileNotFoundError:
                pass
    return found


def check_trace(path, info, seconds):
    procs, threads, _ = check_format(strict_load(path), seconds)
    pid = info["pid"]
    assert procs == {pid: "timeline_thread"}
    assert {threads[(pid, info[n + "_tid"])] for n in NAMES} == set(NAMES)


ATOI = 'strconv.Atoi: parsing "{0}": invalid syntax'
PARSE_FLOAT = 'strconv.ParseFloat: parsing "{0}": invalid syntax'


def test_parameter_errors_and_routes_as_fgtrace_says_them():
    port = free_port()
    w = http_watcher(f"127.0.0.1:{port}")
    me = os.getpid()
    cases = [
        (f"hz=x&pid={me}", 'bad hz: "x": ' + ATOI.format("x")),
        (f"hz=0&pid={me}", 'bad hz: "0": invalid value'),
        (f"hz=-1&pid={me}", 'bad hz: "-1": invalid value'),
        (f"hz=1001&pid={me}", 'bad hz: "1001": invalid value: at most 1000'),
        (f"hz=1.5&pid={me}", 'bad hz: "1.5": ' + ATOI.format("1.5")),
        (f"seconds=abc&pid={me}", 'bad seconds: "abc": ' + PARSE_FLOAT.format("abc")),
        (f"seconds=0&pid={me}", 'bad seconds: "0": invalid value'),
        (f"seconds=-1&pid={me}", 'bad seconds: "-1": invalid value'),
        (f"seconds=300.5&pid={me}", 'bad seconds: "300.5": invalid value: at most 300'),
        (f"seconds=1e999&pid={me}",
         'bad seconds: "1e999": strconv.ParseFloat: parsing "1e999": value out of range'),
        (f"state-frames=top&pid={me}",
         'bad state-frames: "top": invalid value: root, leaf or no'),
        ("seconds=1", "missing pid: give the process to record, e.g. "
                      "/debug/timeline?pid=1234&seconds=5"),
        ("pid=abc", 'bad pid: "abc": ' + ATOI.format("abc")),
        ("pid=-3", 'bad pid: "-3": invalid value'),
    ]
    try:
        for query, body in cases:
            status, headers, got = get(port, "/debug/timeline?" + query)
            assert (status, got.decode()) == (400, body + "\n"), query
            assert headers["Content-Type"] == "text/plain; charset=utf-8"
        status, _, got = get(port, "/debug/timeline?pid=4194304&seconds=1")
        assert (status, got) == (404, b"no process with pid 4194304\n")
        for path in ("/metrics", "/debug/timeline/x", "/"):
            status, _, got = get(port, path + "?pid=1")
            assert status == 404 and b"/debug/timeline?pid=PID" in got, path
        for method in ("POST", "HEAD", "PUT"):
            status, headers, _ = get(port, f"/debug/timeline?pid={me}", method)
            assert status == 405 and headers["Allow"] == "GET", method
    finally:
        assert w.stop() == 0
    c = w.counters()
    n = len(cases) + 1 + 3 + 3
    assert c["timeline_http_requests"] == n and c["timeline_http_bad_requests"] == n
    assert c["timeline_http_recordings"] == 0


def test_a_recording_over_http_is_a_trace_devtools_reads(tmp_path):
    port = free_port()
    w = http_watcher(f"localhost:{port}")
    p, info = timeline_target()
    try:
        t0 = time.monotonic()
        status, headers, body = get(port, f"/debug/timeline?pid={info['pid']}&seconds=1")
        took = time.monotonic() - t0
    finally:
        p.kill()
        p.wait()
        assert w.stop() == 0
    assert status == 200, body
    assert headers["Content-Type"] == "application/json"
    assert headers["Transfer-Encoding"] == "chunked"
    assert took >= 1
    out = tmp_path / "timeline.json"
    out.write_bytes(body)
    check_trace(out, info, 1)
    r = subprocess.run(["node", CONSUMER, str(out)], capture_output=True, text=True,
                       env={**os.environ, "NODE_PATH": NODE_PATH}, timeout=120)
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["errors"] == []
    assert seen["bounds"]["max"] - seen["bounds"]["min"] > 0.9e6
    names = {k: v["name"] for k, v in seen["threads"].items()}
    for key in NAMES:
        assert names[f"{info['pid']}/{info[key + '_tid']}"] == key
    locked = seen["threads"][f"{info['pid']}/{info['locked_tid']}"]["slices"]
    assert any(n == "wait_on_the_lock" and d > 0.9e6 for n, d, _ in locked)
    c = w.counters()
    assert c["timeline_http_requests"] == 1 and c["timeline_http_recordings"] == 1
    assert any(re.search(rf"timeline of pid {info['pid']} \(1s at 99 Hz\) for uid 0 .*: served",
                         l) for l in w.stderr_lines)


ASK = """
import http.client, socket, sys
kind, where, target = sys.argv[1:]
if kind == "unix":
    s = socket.socket(socket.AF_UNIX)
    s.connect(where)
    s.sendall(f"GET {target} HTTP/1.0\\r\\n\\r\\n".encode())
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\\r\\n\\r\\n")
    status = int(head.split()[1])
else:
    c = http.client.HTTPConnection("127.0.0.1", int(where), timeout=60)
    c.request("GET", target)
    r = c.getresponse()
    status, body = r.status, r.read()
sys.stdout.write(f"{status}\\n")
sys.stdout.buffer.write(body)
"""


def ask_as(prefix, kind, where, target):
    r = subprocess.run([*prefix, "/usr/bin/python3", "-c", ASK, kind, str(where), target],
                       capture_output=True, timeout=90)
    assert r.returncode == 0, r.stderr
    status, _, body = r.stdout.partition(b"\n")
    return int(status), body


def test_who_may_record_whom_over_tcp_and_a_unix_socket(tmp_path):
    for kind in ("tcp", "unix"):
        where = free_port() if kind == "tcp" else f"/tmp/cw-timeline-http-{os.getpid()}.sock"
        w = http_watcher(f"127.0.0.1:{where}" if kind == "tcp" else f"unix:{where}")
        roots, root_info = timeline_target()
        own, own_info = timeline_target(*NOBODY)
        try:
            if kind == "unix":
                assert oct(os.stat(where).st_mode & 0o777) == "0o666"
            status, body = ask_as(NOBODY, kind, where,
                                  f"/debug/timeline?pid={root_info['pid']}&seconds=0.5")
            assert status == 403, (kind, body)
            assert body.decode() == (f"refused: pid {root_info['pid']} runs as uid 0 and you "
                                     "are uid 65534: a user may ask only for its own "
                                     "processes\n")
            status, body = ask_as(NOBODY, kind, where,
                                  f"/debug/timeline?pid={own_info['pid']}&seconds=0.5")
            assert status == 200, (kind, body[-300:])
            out = tmp_path / f"{kind}.json"
            out.write_bytes(body)
            check_trace(out, own_info, 0.5)
        finally:
            for p in (roots, own):
                p.kill()
                p.wait()
            assert w.stop() == 0
        assert not os.path.exists(where) or kind == "tcp"
        c = w.counters()
        assert c["timeline_http_refused"] == 1 and c["timeline_http_recordings"] == 1, kind
        assert any(f"refused a timeline of pid {root_info['pid']} to uid 65534" in l
                   for l in w.stderr_lines)


def test_only_loopback_or_a_unix_socket_is_served(tmp_path):
    conf = tmp_path / "crashwatch.conf"
    conf.write_text("[watch]\nhttp = 0.0.0.0:9\n")
    for args, said in (
            (["--http=0.0.0.0:9"], "0.0.0.0 is not a loopback address"),
            (["--http=[::]:9"], ":: is not a loopback address"),
            (["--http=192.0.2.1:9"], "192.0.2.1 is not a loopback address"),
            (["--http=example.com:80"], "example.com is not a numeric IP address"),
            (["--http=127.0.0.1:0"], "bad --http '127.0.0.1:0'"),
            (["--http=unix:relative.sock"], "give an absolute path"),
            ([f"--config={conf}"], "0.0.0.0 is not a loopback address")):
        no_config = [] if args[0].startswith("--config") else ["--config="]
        r = subprocess.run([WATCHER, "watch", *no_config, "--no-hold", *args],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, (args, r.stderr)
        assert said in r.stderr, (args, r.stderr)
    # A file that is not a socket is not removed to make room for one.
    taken = tmp_path / "taken"
    taken.write_text("mine")
    r = subprocess.run([WATCHER, "watch", "--config=", "--no-hold", f"--http=unix:{taken}"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "exists and is not a socket" in r.stderr
    assert taken.read_text() == "mine"


def test_a_unix_socket_path_is_taken_over_only_when_nobody_serves_it(tmp_path):
    path = f"/tmp/cw-timeline-http-{os.getpid()}.sock"
    live = socket.socket(socket.AF_UNIX)
    live.bind(path)
    live.listen(1)
    try:
        r = subprocess.run([WATCHER, "watch", "--config=", "--no-hold", f"--http=unix:{path}"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and f"another process serves unix:{path}" in r.stderr
        assert os.path.exists(path)
    finally:
        live.close()
    # Left behind by a server that is gone: replaced, then removed at the stop.
    w = http_watcher(f"unix:{path}")
    try:
        status, body = ask_as((), "unix", path, "/debug/timeline?hz=0")
        assert (status, body) == (400, b'bad hz: "0": invalid value\n')
    finally:
        assert w.stop() == 0
    assert not os.path.exists(path)


def raw_request(port, target):
    s = socket.create_connection(("::1", port))
    s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return s


def test_recordings_are_bounded_and_end_with_their_client_and_the_watcher():
    port = free_port()
    w = http_watcher(f"[::1]:{port}")
    p, info = timeline_target()
    answers = []
    try:
        long = f"/debug/timeline?pid={info['pid']}&seconds=3&hz=19"
        both = [threading.Thread(target=lambda: answers.append(get(port, long, host="::1")))
                for _ in range(2)]
        for t in both:
            t.start()
        wait_until(lambda: len(recordings_of(w)) == 2, what="two recordings")
        status, headers, body = get(port, long, host="::1")
        assert status == 503 and 1 <= int(headers["Retry-After"]) <= 4, (status, headers)
        assert body == b"busy: 2 recordings are running; try again in " + \
            headers["Retry-After"].encode() + b" s\n"
        for t in both:
            t.join(timeout=60)
        assert [a[0] for a in answers] == [200, 200]
        # A client that leaves ends its recording at once, not 30 s later.
        s = raw_request(port, f"/debug/timeline?pid={info['pid']}&seconds=30")
        wait_until(lambda: len(recordings_of(w)) == 1, what="the recording")
        [child] = recordings_of(w)
        s.close()
        wait_until(lambda: not os.path.exists(f"/proc/{child}"), timeout=5,
                   what="the recording to end with its client")
        # The watcher's stop ends a recording in flight, and its child.
        s = raw_request(port, f"/debug/timeline?pid={info['pid']}&seconds=30")
        wait_until(lambda: len(recordings_of(w)) == 1, what="the recording")
        [child] = recordings_of(w)
        t0 = time.monotonic()
        assert w.stop() == 0
        assert time.monotonic() - t0 < 10
        assert not os.path.exists(f"/proc/{child}")
        s.settimeout(5)
        assert b" 200 " not in s.recv(4096)  # nothing started: closed, or a 503
        s.close()
    finally:
        p.kill()
        p.wait()
        w.stop()
    c = w.counters()
    assert c["timeline_http_recordings"] == 2 and c["timeline_http_busy"] == 1
    assert c["timeline_http_cut_off"] == 1 and c["timeline_http_failed"] == 1


def test_the_watcher_holds_a_crash_during_a_recording(tmp_path):
    port = free_port()
    w = http_watcher(f"127.0.0.1:{port}", "--hold", f"--spool={tmp_path / 'spool'}")
    p, info = timeline_target()
    answer = []
    try:
        t = threading.Thread(target=lambda: answer.append(
            get(port, f"/debug/timeline?pid={info['pid']}&seconds=4")))
        t.start()
        wait_until(lambda: len(recordings_of(w)) == 1, what="the recording")
        ran = finish(start_target("null_deref"))
        rec = w.records_for(ran.pid, "snapshot", timeout=30)
        assert len(recordings_of(w)) == 1  # the recording goes on meanwhile
        t.join(timeout=60)
    finally:
        p.kill()
        p.wait()
        assert w.stop() == 0
    with open(rec["path"]) as f:
        doc = json.load(f)
    assert doc["process"]["pid"] == ran.pid and doc["signal"]["name"] == "SIGSEGV"
    assert answer and answer[0][0] == 200
    c = w.counters()
    assert c["timeline_http_recordings"] == 1
