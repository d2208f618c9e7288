"""Issue 15: snapshots on request.  `crashwatch snapshot`, libcrashwatch (from a
program and from its signal handler) and the request socket itself, against the
real watcher and real processes: who may ask for what (setpriv), what the
snapshot says, that the process runs on afterwards, that malformed requests
harm nothing, and that a flood of requests does not delay a crash's hold."""
import json
import os
import re
import socket
import struct
import subprocess
import time

from conftest import BUILD, TARGETS, Watcher, run_target, start_target

CLI = os.path.join(BUILD, "san", "crashwatch")
CLIENT = os.path.join(BUILD, "tests", "client")
SOCKET = "/run/crashwatch/request.sock"
NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")

# enum cw_status (include/crashwatch/request.h)
DONE, QUEUED, REFUSED, RATE_LIMITED, BUSY, BAD_REQUEST, NO_PROCESS = range(7)


def request_watcher(tmp_path, *args):
    w = Watcher("--hold", f"--spool={tmp_path / 'spool'}", *args)
    w.wait_stderr(r"snapshot requests on " + re.escape(SOCKET))
    return w


def stop(w):
    rc = w.stop()
    assert rc == 0, f"watcher exited {rc}; stderr: {w.stderr_lines}"
    return w.counters()


def parked(n):
    """parked_threads with n threads: the process and its worker tids once all are parked."""
    proc = start_target("parked_threads", str(n))
    tids = []
    for line in proc.stdout:
        if line.startswith("worker_tid="):
            tids.append(int(line.split("=")[1]))
        if line.strip() == "ready=1":
            break
    assert len(tids) == n - 1
    return proc, tids


def state(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
    return fields["State"].split()[0], int(fields["TracerPid"])


def load(path):
    with open(path) as f:
        return json.load(f)


def said(stdout):
    return dict(re.findall(r"^(\w+)=(.*)$", stdout, re.M))


def test_cli_snapshot_of_a_16_thread_process(tmp_path):
    w = request_watcher(tmp_path)
    proc, tids = parked(16)
    try:
        r = subprocess.run(
            [CLI, "snapshot", "--kv=build:42", "--kv=team:core:infra", "--classifier=manual",
             "--classifier=ops", f"--thread={tids[0]}", f"--thread={tids[1]}",
             f"--fault-thread={tids[2]}", "--error=queue stalled", "--error-type=Stall",
             "--timeout=20", str(proc.pid)],
            capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        path = r.stdout.strip()
        assert os.path.dirname(path) == str(tmp_path / "spool")
        # The process was let go: running or sleeping, nobody tracing it.
        assert state(proc.pid) == ("S", 0)
        # Without a thread filter: every thread; the process still runs afterwards.
        r2 = subprocess.run([CLI, "snapshot", str(proc.pid)], capture_output=True, text=True,
                            timeout=60)
        assert r2.returncode == 0, r2.stderr
        assert state(proc.pid) == ("S", 0)
        rec = w.wait_for(lambda x: x["type"] == "request" and x["path"] == path, 20,
                         "the request's record")
        assert rec["status"] == "written" and rec["pid"] == proc.pid
        assert rec["fault_tid"] == tids[2] and rec["requester_uid"] == 0
    finally:
        proc.kill()
        proc.wait()
        c = stop(w)
    assert c["requests_written"] == 2 and c["requests_refused"] == 0
    # Not a crash: nothing held, nothing suppressed.
    assert c["holds_started"] == 0 and c["suppressed_rate_limited"] == 0
    snap = load(path)
    assert snap["trigger"] == "request"
    assert snap["requested_by"]["uid"] == 0 and snap["requested_by"]["comm"] == "crashwatch"
    assert snap["requested_by"]["pid"] != proc.pid
    assert snap["signal"] is None
    assert snap["classifiers"] == ["manual", "ops"]
    assert snap["attributes"] == {"build": "42", "team": "core:infra", "error": "queue stalled",
                                  "error.type": "Stall"}
    assert snap["cause"] == "Stall: queue stalled"
    assert sorted(t["tid"] for t in snap["threads"]) == sorted(tids[:3])
    (faulted,) = [t for t in snap["threads"] if t["faulted"]]
    assert faulted["tid"] == tids[2]
    names = [f["function"] for f in faulted["frames"]]
    assert "chain_three" in names and "park_worker" in names, names
    # Source lines are on.
    assert any(f["line"] for f in faulted["frames"] if f["function"] == "chain_three")
    assert snap["capture"]["method"] == "ptrace"
    whole = load(r2.stdout.strip())
    assert len(whole["threads"]) == 16 and not any(t["faulted"] for t in whole["threads"])
    assert whole["cause"] is None and whole["trigger"] == "request"


def test_cli_refuses_another_users_process_and_says_why(tmp_path):
    w = request_watcher(tmp_path)
    proc, _ = parked(2)
    try:
        r = subprocess.run([*NOBODY, CLI, "snapshot", str(proc.pid)], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 3, r.stderr
        assert f"pid {proc.pid} runs as uid 0 and you are uid 65534" in r.stderr
        assert r.stdout == ""
        # No such process, no such thread: 5.
        r = subprocess.run([CLI, "snapshot", "--thread=1", str(proc.pid)], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 5 and f"pid {proc.pid} has no thread 1" in r.stderr
        assert state(proc.pid) == ("S", 0)
    finally:
        proc.kill()
        proc.wait()
        c = stop(w)
    assert c["requests_refused"] == 2 and c["requests_written"] == 0
    assert any("refused a snapshot request" in l and "uid 65534" in l for l in w.stderr_lines)


def test_a_user_may_ask_for_its_own_process_but_not_one_it_could_not_trace(tmp_path):
    w = request_watcher(tmp_path)
    target = os.path.join(TARGETS, "parked_threads")
    # Its child, so that Yama's scope 1 (where it is on) allows it as it would ptrace.
    script = (f"{target} 4 >/dev/null & t=$!; sleep 1; {CLI} snapshot --kv=who:nobody $t; "
              "echo rc=$?; kill $t")
    not_dumpable = ("python3 -c 'import ctypes, time; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); "
                    "time.sleep(30)' & t=$!; sleep 1; " + f"{CLI} snapshot $t; echo rc=$?; kill $t")
    try:
        own = subprocess.run([*NOBODY, "sh", "-c", script], capture_output=True, text=True,
                             timeout=60)
        assert "rc=0" in own.stdout, own.stdout + own.stderr
        path = own.stdout.splitlines()[0]
        dumpless = subprocess.run([*NOBODY, "sh", "-c", not_dumpable], capture_output=True,
                                  text=True, timeout=60)
        assert "rc=3" in dumpless.stdout, dumpless.stdout + dumpless.stderr
        assert "is not dumpable" in dumpless.stderr
    finally:
        c = stop(w)
    assert c["requests_written"] == 1 and c["requests_refused"] == 1
    snap = load(path)
    assert snap["process"]["uid"] == 65534 and snap["requested_by"]["uid"] == 65534
    assert snap["attributes"] == {"who": "nobody"} and len(snap["threads"]) == 4


def run_client(mode, n="4", binary="trace_self"):
    r = subprocess.run([os.path.join(CLIENT, binary), mode, str(n)], capture_output=True,
                       text=True, timeout=60)
    return r.returncode, said(r.stdout), r.stderr


def test_the_library_traces_its_caller_static_and_shared(tmp_path):
    w = request_watcher(tmp_path)
    try:
        rc, out, err = run_client("basic", 4)
        assert rc == 0 and out["status_name"] == "written", (out, err)
        rc2, only, err2 = run_client("caller-only", 4, "trace_self-shared")
        assert rc2 == 0, (only, err2)
        rc3, unmarked, err3 = run_client("not-faulted", 2)
        assert rc3 == 0, (unmarked, err3)
    finally:
        c = stop(w)
    assert c["requests_written"] == 3
    snap = load(out["text"])
    assert snap["process"]["pid"] == int(out["pid"])
    assert snap["requested_by"]["pid"] == int(out["pid"])  # it asked for itself
    assert snap["trigger"] == "request"
    assert snap["classifiers"] == ["from-libcrashwatch", "test"]
    assert snap["attributes"] == {"build": "42", "component": "trace-self",
                                  "error": "queue stalled for 5 s", "error.type": "QueueStall"}
    assert snap["cause"] == "QueueStall: queue stalled for 5 s"
    assert len(snap["threads"]) == 4
    (faulted,) = [t for t in snap["threads"] if t["faulted"]]
    assert faulted["tid"] == int(out["tid"])
    names = [f["function"] for f in faulted["frames"]]
    assert "crashwatch_trace" in names and "main" in names, names
    alone = load(only["text"])
    assert [t["tid"] for t in alone["threads"]] == [int(only["tid"])]
    assert alone["threads"][0]["faulted"]
    assert not any(t["faulted"] for t in load(unmarked["text"])["threads"])


def test_the_library_from_a_signal_handler(tmp_path):
    w = request_watcher(tmp_path)
    try:
        rc, out, err = run_client("signal", 4)
        assert rc == 0 and out["status_name"] == "written", (out, err)
        assert out["prepared_again"] == "1"
    finally:
        stop(w)
    snap = load(out["text"])
    assert snap["attributes"]["error"] == "asked from a signal handler"
    (faulted,) = [t for t in snap["threads"] if t["faulted"]]
    assert faulted["tid"] == int(out["tid"])
    names = [f["function"] for f in faulted["frames"]]
    # In the handler, asking; past its signal frame, the thread that raised it.
    assert names.index("crashwatch_trace_prepared") < names.index("on_usr2"), names
    i = names.index("on_usr2")
    assert any(f["signal_frame"] for f in faulted["frames"][i + 1:]), names
    assert "raise_usr2" in names, names


def test_no_wait_answers_at_once_and_the_snapshot_follows(tmp_path):
    w = request_watcher(tmp_path)
    try:
        rc, out, err = run_client("no-wait", 2)
        assert rc == 0 and out["status_name"] == "queued", (out, err)
        rec = w.wait_for(lambda x: x["type"] == "request" and x["pid"] == int(out["pid"]), 20,
                         "the queued request's record")
    finally:
        stop(w)
    # The process may have ended before its turn: then it says so.
    assert rec["status"] in ("written", "no such process"), rec


def ask_raw(payload, wait_reply=5.0, send=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(SOCKET)
    if send:
        s.send(payload)
    s.settimeout(wait_reply)
    try:
        reply = s.recv(8192)
    finally:
        s.close()
    if not reply:
        return None, None
    magic, version, status, detail, length = struct.unpack("<IHHiI", reply[:16])
    assert magic == 0x50525743 and version == 1 and length == len(reply) - 16
    return status, reply[16:-1].decode()


def head(flags=1, pid=0, tid=0, timeout=0, version=1):
    return struct.pack("<IHHiiII", 0x51525743, version, flags, pid, tid, timeout, 0)


def test_malformed_requests_get_an_error_and_leave_the_watcher_unharmed(tmp_path):
    w = request_watcher(tmp_path)
    proc, _ = parked(2)
    try:
        assert ask_raw(b"hello") == (BAD_REQUEST, "the request is shorter than its header")
        assert ask_raw(head(version=9))[0] == BAD_REQUEST
        # A field longer than what follows; an unknown one; too big; too many attributes.
        assert ask_raw(head() + struct.pack("<HH", 1, 500) + b"x")[0] == BAD_REQUEST
        assert ask_raw(head() + struct.pack("<HH", 99, 1) + b"\0")[0] == BAD_REQUEST
        st, why = ask_raw(head() + b"\0" * 20000)
        assert st == BAD_REQUEST and "16384" in why
        kv = struct.pack("<HH", 1, 4) + b"k\0v\0"
        st, why = ask_raw(head() + kv * 65)
        assert st == BAD_REQUEST and "64 attributes" in why
        # Connected, silent: answered after a second, then closed.
        st, why = ask_raw(b"", send=False)
        assert st == BAD_REQUEST and "within a second" in why
        # Many at once that send nothing: beyond 32 they are told the watcher is busy.
        idle = [socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(40)]
        for s in idle:
            s.connect(SOCKET)
        time.sleep(0.3)
        busy = 0
        for s in idle:
            s.settimeout(3)
            reply = s.recv(8192)
            busy += struct.unpack("<IHHiI", reply[:16])[2] == BUSY
            s.close()
        assert busy >= 8
        # The watcher itself is not shown, even to root.
        st, why = ask_raw(head(pid=w.pid()))
        assert st == REFUSED and "not snapshotted on request" in why
        # Still serving: a good request by hand, for a process of root's (the test's).
        st, path = ask_raw(head(pid=proc.pid, timeout=20000), wait_reply=30)
        assert st == DONE and os.path.exists(path), path
    finally:
        proc.kill()
        proc.wait()
        c = stop(w)
    assert c["requests_malformed"] >= 7 and c["requests_written"] == 1
    assert c["requests_busy"] >= 8


def test_a_flood_of_requests_does_not_delay_a_crash_hold(tmp_path):
    # No per-user limit: the flood is bounded only by the host's rate limit, of which
    # requests may take only the upper half of the burst, and by the request workers.
    w = request_watcher(tmp_path, "--rate-limit=1", "--rate-burst=10", "--dedup-window=0",
                        "--request-rate=0")
    try:
        base = run_target("segv_handler_exit")
        base_rec = w.records_for(base.pid, "snapshot", 30)
        flood = subprocess.Popen([os.path.join(CLIENT, "trace_self"), "flood", "6"],
                                 stdout=subprocess.PIPE, text=True)
        # Let it drain the requests' share of the bucket and fill the request workers.
        w.wait_for(lambda r: r["type"] == "request", 15, "the flood's first snapshot")
        time.sleep(1)
        crashes = [run_target("segv_handler_exit") for _ in range(3)]
        recs = [w.records_for(c.pid, "snapshot", 30) for c in crashes]
        out, _ = flood.communicate(timeout=60)
    finally:
        c = stop(w)
    counts = said(out)
    print("flood:", counts, "base held_ms:", base_rec["held_ms"],
          "held_ms under the flood:", [r["held_ms"] for r in recs])
    assert int(counts["requests"]) > 50, counts
    assert int(counts[f"count_{RATE_LIMITED}"]) > 0, counts  # the flood met the crashes' reserve
    for crash, rec in zip(crashes, recs):
        assert os.WIFEXITED(crash.status) and os.WEXITSTATUS(crash.status) == 42
        # Admitted (the reserve was there), snapshotted in full, and not delayed.
        assert rec["path"] and not rec["partial"] and rec["tool_status"] == 0, rec
        assert rec["held_ms"] < max(250, 10 * base_rec["held_ms"]), (rec, base_rec)
    assert c["suppressed_rate_limited"] == 0
    assert c["requests_rate_limited"] > 0 and c["requests_written"] >= 1


def test_a_large_process_is_stopped_group_by_group():
    """Above --stop-together threads (32) each group of 32 stands still while it is
    copied, not the whole process: the pause a thread sees stays short at 1,000."""
    from conftest import SNAPSHOT
    proc, tids = parked(200)
    try:
        docs = {}
        for together in ("32", "0"):
            r = subprocess.run([SNAPSHOT, "--output=-", f"--stop-together={together}",
                                str(proc.pid)], capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
            docs[together] = json.loads(r.stdout)
            assert state(proc.pid) == ("S", 0)
    finally:
        proc.kill()
        proc.wait()
    grouped, whole = docs["32"]["capture"], docs["0"]["capture"]
    assert not grouped["stopped_together"] and whole["stopped_together"]
    assert 0 < grouped["pause_ms"] <= grouped["window_ms"]
    assert whole["pause_ms"] == whole["window_ms"]
    for doc in docs.values():
        threads = doc["threads"]
        assert sorted(t["tid"] for t in threads) == sorted([proc.pid, *tids])
        for t in threads:
            names = [f["function"] for f in t["frames"]]
            assert "park_main" in names or "chain_three" in names, (t["tid"], names)


def go_client(mode):
    return subprocess.run([os.path.join(CLIENT, "go_trace"), mode], capture_output=True,
                          text=True, timeout=60)


def test_the_go_package_trace_recover_register(tmp_path):
    w = request_watcher(tmp_path)
    try:
        traced = go_client("trace")
        out = said(traced.stdout)
        assert traced.returncode == 0 and "error" not in out, traced.stdout + traced.stderr
        alone = go_client("caller-only")
        only = said(alone.stdout)
        assert alone.returncode == 0 and "error" not in only, alone.stdout + alone.stderr
        # Recover: traced, then the panic goes on: Go's exit status 2.
        recovered = go_client("recover")
        assert recovered.returncode == 2, recovered.stderr
        assert "assignment to entry in nil map" in recovered.stderr
        rpid = int(said(recovered.stdout)["pid"])
        rrec = w.wait_for(lambda x: x["type"] == "request" and x["pid"] == rpid, 20,
                          "the recovered panic's request")
        # Register: traced at SIGUSR1, then the signal is resent to Go's default
        # handling, which for SIGUSR1 takes no action: the program goes on.
        registered = go_client("register")
        assert registered.returncode == 0, registered.stdout + registered.stderr
        assert "still alive" in registered.stdout
        gpid = int(said(registered.stdout)["pid"])
        grec = w.wait_for(lambda x: x["type"] == "request" and x["pid"] == gpid, 20,
                          "the signal's request")
    finally:
        stop(w)
    snap = load(out["path"])
    assert snap["trigger"] == "request" and snap["go"] is not None
    assert snap["attributes"]["error"] == "queue orders stalled"
    assert snap["attributes"]["error.type"] == "*main.stallError"
    assert snap["attributes"]["build"] == "42"
    assert snap["classifiers"] == ["from-go", "*main.stallError"]
    assert snap["cause"] == "*main.stallError: queue orders stalled"
    # The calling goroutine is marked (the seed's AddCallerGo), its frames the caller's.
    (g,) = [g for g in snap["goroutines"] if g["faulted"]]
    assert g["id"] == int(out["goid"])
    names = [f["function"] for f in g["frames"]]
    assert "main.askFromHere" in names, names
    asnap = load(only["path"])
    assert len(asnap["threads"]) == 1 and asnap["threads"][0]["faulted"]
    assert [g["id"] for g in asnap["goroutines"]] == [int(only["goid"])]
    assert asnap["go"]["goroutines_filtered_out"] >= 5
    assert snap["go"]["goroutines_filtered_out"] == 0
    rsnap = load(rrec["path"])
    assert "panic" in rsnap["classifiers"] and "runtime.plainError" in rsnap["classifiers"]
    assert rsnap["attributes"]["error"] == "assignment to entry in nil map"
    gsnap = load(grec["path"])
    assert gsnap["classifiers"] == ["signal", "user defined signal 1"]
    assert gsnap["attributes"]["signal"] == "user defined signal 1"
