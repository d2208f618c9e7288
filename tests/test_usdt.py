"""Issue 17: trace events as USDT probes attached at run time.

include/crashwatch/trace.h declares events as the notes <sys/sdt.h> writes,
with semaphores: checked with readelf and bpftrace, real consumers of the
format.  `crashwatch probes` lists them (compared with readelf -n) and traces
them; `crashwatch watch --snapshot-on` snapshots a program at one and lets it
go on.  The target (tests/targets/usdt_events.c) is driven line by line on
stdin; it says how often a traced argument was computed and whether its
semaphore is set, so the tests see what nothing attached costs it.
"""
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import TARGETS, WATCHER, Cgroup, Watcher, wait_until
from test_timeline import CONSUMER, NODE_PATH, check_format, strict_load
from test_trace_viewer import view

EVENTS = os.path.join(TARGETS, "usdt_events")
THROWS = os.path.join(TARGETS, "cpp_throws")
LIBSTDCXX = "/lib/x86_64-linux-gnu/libstdc++.so.6"
LIB_USER = os.path.join(TARGETS, "usdt_lib_user")
LIB = os.path.join(TARGETS, "libcwlib_events.so")


class Target:
    """A target that reads commands on stdin and answers a line for each."""

    def __init__(self, path=EVENTS, cgroup=None):
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1,
                                     preexec_fn=cgroup and (lambda: cgroup.enter(os.getpid())))
        first = self.proc.stdout.readline().strip()
        assert first == f"pid={self.proc.pid}", first
        self.pid = self.proc.pid
        self.said = [first]

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        self.said.append(answer)
        return answer

    def fire(self, n):
        """computed, enabled after n tick events."""
        m = re.fullmatch(r"computed=(\d+) enabled=(\d)", self.ask(f"fire {n}"))
        assert m, self.said
        return int(m.group(1)), int(m.group(2))

    def quit(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        rest = self.proc.stdout.read()
        self.said += rest.splitlines()
        rc = self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def readelf_probes(path):
    """(provider, name, location, semaphore, args) of each stapsdt note, as readelf -n says."""
    out = subprocess.run(["readelf", "-n", "--wide", path], capture_output=True, text=True,
                         check=True).stdout
    found = re.findall(r"Provider: (\S+)\n\s+Name: (\S+)\n\s+Location: (0x[0-9a-f]+), "
                       r"Base: 0x[0-9a-f]+, Semaphore: (0x[0-9a-f]+)\n\s+Arguments: ?(.*)\n",
                       out)
    return sorted((p, n, int(loc, 16), int(sem, 16), args.strip()) for p, n, loc, sem, args in found)


def probes(*args):
    return subprocess.run([WATCHER, "probes", *args], capture_output=True, text=True, timeout=60)


def listed(path, *args):
    """`crashwatch probes --json`: each probe of the file at path, as readelf's tuples."""
    r = probes("--json", *args)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in r.stdout.splitlines()]
    mine = [p for p in rows if os.path.realpath(p["file"]) == os.path.realpath(path)]
    return rows, sorted((p["provider"], p["name"], int(p["pc"], 16),
                         int(p["semaphore"], 16) if p["semaphore"] else 0,
                         " ".join(a["spec"] for a in p["args"])) for p in mine)


def test_trace_h_events_are_usdt_notes_with_semaphores_bpftrace_lists():
    notes = readelf_probes(EVENTS)
    assert [(p, n) for p, n, *_ in notes] == [
        ("cwtest", "idle"), ("cwtest", "order"), ("cwtest", "tick")]
    assert all(sem for *_, sem, _ in notes), notes  # every trace.h event has its semaphore
    assert dict(((p, n), a) for p, n, _, _, a in notes)[("cwtest", "order")].count("@") == 3
    bt = subprocess.run(["bpftrace", "-l", f"usdt:{EVENTS}:*"], capture_output=True, text=True,
                        timeout=60)
    assert bt.returncode == 0, bt.stderr
    assert sorted(bt.stdout.split()) == [f"usdt:{EVENTS}:cwtest:{n}" for n in
                                         ("idle", "order", "tick")]


def test_an_event_nothing_is_attached_to_computes_no_argument():
    t = Target()
    try:
        assert t.fire(5) == (0, 0)
        assert t.ask("order") == "ordered=1"
        assert t.quit() == 0
    finally:
        t.kill()
    assert t.said[-1] == "sum=10 orders=1"


def lines_of(stream):
    """A queue of the stream's lines, read in the background (None at its end)."""
    q = queue.Queue()

    def pump():
        for line in stream:
            q.put(line)
        q.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return q


def test_bpftrace_attached_sets_the_semaphore_and_reads_the_arguments():
    """A real consumer of the notes: bpftrace attaches by them, the kernel counts the
    semaphore up while it is attached and down once it is gone, even killed."""
    t = Target()
    bt = None
    try:
        bt = subprocess.Popen(
            ["bpftrace", "-f", "json", "-B", "none", "-p", str(t.pid), "-e",
             f'usdt:{EVENTS}:cwtest:order {{ printf("order %d %s %d\\n", arg0, str(arg1), '
             f'arg2); }}'],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        out = lines_of(bt.stdout)
        # Said once the program is attached; the semaphore is set around then.
        assert json.loads(out.get(timeout=60)) == {"type": "attached_probes",
                                                   "data": {"probes": 1}}
        wait_until(lambda: t.ask("enabled") == "tick=0 order=1", 60, "order's semaphore")
        # bpftrace 0.17 may miss the first events after it says attached: fire until seen.
        for n in range(20):
            assert t.ask("order") == f"ordered={n + 1}"
            try:
                said = json.loads(out.get(timeout=1.5))
                break
            except queue.Empty:
                continue
        assert said["type"] == "printf" and re.fullmatch(r"order 10\d\d alice 1999\n",
                                                         said["data"]), said
        # bpftrace 0.17 may hang detaching without tracefs: killed, the kernel detaches.
        bt.kill()
        bt.wait()
        assert t.ask("enabled") == "tick=0 order=0"
        assert t.fire(1) == (0, 0)
        assert t.quit() == 0
    finally:
        if bt and bt.poll() is None:
            bt.kill()
            bt.wait()
        t.kill()


def test_probes_lists_what_readelf_says_with_trace_h_names_and_strings():
    rows, mine = listed(EVENTS, EVENTS)
    assert mine == readelf_probes(EVENTS)
    order = next(p for p in rows if p["probe"] == "cwtest:order")
    assert [(a["name"], a["size"], a["signed"], a["string"]) for a in order["args"]] == [
        ("id", 8, True, False), ("customer", 8, False, True), ("cents", 4, True, False)]
    assert order["build_id"] and order["semaphore"]
    text = probes(EVENTS)
    assert text.returncode == 0, text.stderr
    line = next(l for l in text.stdout.splitlines() if "cwtest:order" in l)
    assert "semaphore=0x" in line and "customer:string(8@" in line and "cents:s32(-4@" in line
    assert text.stdout.splitlines()[-1].startswith("3 probe(s) in 1 of ")


def test_probes_of_a_cpp_program_list_libstdcxx_throw_as_readelf_does():
    """The libraries a PROGRAM maps are the loader's: libstdc++'s probes, no semaphore."""
    rows, mine = listed(LIBSTDCXX, THROWS)
    assert mine == readelf_probes(LIBSTDCXX)
    throw = next(p for p in rows if p["probe"] == "libstdcxx:throw")
    assert throw["semaphore"] is None and [a["size"] for a in throw["args"]] == [8, 8]
    text = probes(THROWS).stdout
    assert re.search(r"^  libstdcxx:throw  pc=0x[0-9a-f]+ no-semaphore args=2: ", text, re.M)


def test_probes_of_a_running_process_list_the_files_it_maps():
    t = Target(THROWS)
    try:
        rows, mine = listed(LIBSTDCXX, f"--pid={t.pid}")
        assert mine == readelf_probes(LIBSTDCXX)
        assert t.ask("throw") == "caught=1"
        assert t.quit() == 0
    finally:
        t.kill()


def test_probes_usage_and_failures_have_their_exit_status(tmp_path):
    assert probes().returncode == 2
    assert probes(EVENTS, "--pid=1").returncode == 2
    assert probes("--pid=x").returncode == 2
    assert probes("--duration=5", EVENTS).returncode == 2
    assert probes("--trace=nocolon", EVENTS).returncode == 2
    r = probes(str(tmp_path / "missing"))
    assert r.returncode == 1 and "cannot open" in r.stderr
    (tmp_path / "text").write_text("not ELF\n")
    r = probes(str(tmp_path / "text"))
    assert r.returncode == 1 and "not an ELF file" in r.stderr
    r = probes("--trace=cwtest:nope", EVENTS)
    assert r.returncode == 1 and "no probe cwtest:nope in" in r.stderr


class Tracer:
    def __init__(self, *args):
        self.proc = subprocess.Popen([WATCHER, "probes", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        assert "crashwatch: tracing " in line, line + self.proc.stderr.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, out, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_trace_prints_each_event_with_its_arguments_and_detaches_everything():
    t = Target()
    tr = None
    try:
        assert t.fire(2) == (0, 0)
        tr = Tracer("--trace=cwtest:tick,cwtest:order", "--json", f"--pid={t.pid}")
        # Attached: the semaphore is set and the costly argument computed, only now.
        assert t.fire(3) == (3, 1)
        assert t.ask("order") == "ordered=1"
        rc, out, err = tr.stop()
        assert rc == 0, err
        assert "stopped tracing, every probe detached" in err
        # Detached: the semaphore is back to zero.
        assert t.fire(2) == (3, 0)
        assert t.quit() == 0
    finally:
        if tr:
            tr.kill()
        t.kill()
    events = [json.loads(l) for l in out.splitlines()]
    ticks = [e for e in events if e["probe"] == "cwtest:tick"]
    assert [(a["name"], a["value"]) for e in ticks for a in e["args"]] == [
        ("i", 2), ("cost", 11), ("i", 3), ("cost", 16), ("i", 4), ("cost", 23)]
    (order,) = [e for e in events if e["probe"] == "cwtest:order"]
    assert order["args"] == [{"name": "id", "value": 1000}, {"name": "customer", "value": "alice"},
                             {"name": "cents", "value": 1999}]
    assert all(e["pid"] == t.pid and e["tid"] == t.pid and e["type"] == "usdt" for e in events)
    assert t.said[-1] == "sum=21 orders=1"


def test_trace_of_a_program_covers_processes_started_after_it():
    tr = Tracer("--trace=cwtest:order", f"--duration=60", EVENTS)
    t = None
    try:
        t = Target()
        assert t.ask("order") == "ordered=1"
        assert t.quit() == 0
        time.sleep(0.3)
        rc, out, err = tr.stop()
        assert rc == 0, err
    finally:
        tr.kill()
        if t:
            t.kill()
    lines = out.splitlines()
    assert len(lines) == 1, lines
    assert re.search(rf" usdt pid={t.pid} tid={t.pid} comm=usdt_events probe=cwtest:order "
                     rf'id=1000 customer="alice" cents=1999 file={re.escape(EVENTS)}$', lines[0])


def test_trace_of_a_cpp_program_shows_libstdcxx_throw():
    """A probe in a library the PROGRAM maps, fired in the processes that run it."""
    tr = Tracer("--trace=libstdcxx:throw", "--json", "--duration=60", THROWS)
    t = None
    try:
        t = Target(THROWS)
        assert t.ask("throw") == "caught=1"
        assert t.ask("throw") == "caught=2"
        assert t.quit() == 0
        time.sleep(0.3)
        rc, out, err = tr.stop()
        assert rc == 0, err
    finally:
        tr.kill()
        if t:
            t.kill()
    events = [json.loads(l) for l in out.splitlines()]
    assert [(e["pid"], e["probe"], e["file"]) for e in events] == [
        (t.pid, "libstdcxx:throw", LIBSTDCXX)] * 2
    # throw's arguments: the exception object and its type_info, the same type twice.
    assert events[0]["args"][1] == events[1]["args"][1]


def reference_output():
    """What the target prints for the script the snapshot tests run, nothing attached."""
    t = Target()
    try:
        t.fire(3)
        t.ask("order")
        t.ask("order")
        assert t.quit() == 0
    finally:
        t.kill()
    return t.said[1:]


def wait_count(w, pred, n, timeout=30):
    """The first n records of the watcher that pred takes."""
    deadline = time.monotonic() + timeout
    while len([r for r in w.seen if pred(r)]) < n:
        assert time.monotonic() < deadline, f"fewer than {n} such records: {w.seen}"
        w._read(0.1)
    return [r for r in w.seen if pred(r)][:n]


def snapshot_watcher(tmp_path, *args):
    return Watcher("--hold", f"--spool={tmp_path / 'spool'}", *args)


def test_snapshot_on_an_event_pauses_it_and_the_program_goes_on_unharmed(tmp_path):
    expected = [re.sub(r"computed=\d+ enabled=\d", "computed=C", l) for l in reference_output()]
    w = snapshot_watcher(tmp_path, f"--snapshot-on=cwtest:order@{EVENTS}", "--dedup-window=0",
                         "--rate-limit=0")
    t = None
    try:
        w.wait_stderr(rf"snapshots on cwtest:order in {re.escape(EVENTS)}, its semaphore")
        t = Target()
        t.fire(3)
        assert t.ask("order") == "ordered=1"
        # One hold of a probe at a time: the next event is held once this one's is done.
        wait_count(w, lambda r: r["type"] == "snapshot" and r["pid"] == t.pid, 1)
        assert t.ask("order") == "ordered=2"
        rc = t.quit()
        snaps = wait_count(w, lambda r: r["type"] == "snapshot" and r["pid"] == t.pid, 2)
    finally:
        if t:
            t.kill()
        assert w.stop() == 0
    assert rc == 0
    assert [re.sub(r"computed=\d+ enabled=\d", "computed=C", l) for l in t.said[1:]] == expected
    usdt = [r for r in w.seen if r["type"] == "usdt" and r["pid"] == t.pid]
    assert [r["args"][0]["value"] for r in usdt] == [1000, 1001]
    assert all(r["held"] and r["probe"] == "cwtest:order" for r in usdt)
    for snap in snaps:
        assert snap["tool_status"] == 0 and snap["path"] and not snap["partial"]
    with open(snaps[0]["path"]) as f:
        doc = json.load(f)
    assert doc["signal"] is None
    assert doc["classifiers"] == ["usdt", "cwtest:order"]
    assert {k: v for k, v in doc["attributes"].items() if k.startswith("usdt.")} == {
        "usdt.probe": "cwtest:order", "usdt.arg0": "1000", "usdt.arg1": "alice",
        "usdt.arg2": "1999"}
    assert doc["cause"].startswith("trace event cwtest:order in place_order (")
    (faulted,) = [th for th in doc["threads"] if th["faulted"]]
    assert faulted["tid"] == t.pid
    names = [fr["function"] for fr in faulted["frames"]]
    assert names[:2] == ["place_order", "main"], names
    # No crash, no exit record: the program ended as it would have.
    assert not [r for r in w.seen if r["type"] in ("exit", "signal", "abort")
                and r["pid"] == t.pid]
    c = w.counters()
    assert c["usdt_fired"] == 2 and c["usdt_snapshots"] == 2 and c["usdt_unheld"] == 0


def test_snapshot_on_a_program_started_later_under_dedup(tmp_path):
    """@NAME: the executable of that name, found as it starts.  With the default
    dedup window, the events after the first at the same place are duplicates:
    counted, the probe quiet for the window, the program never held again."""
    w = snapshot_watcher(tmp_path, "--snapshot-on=cwtest:tick@usdt_events")
    t = None
    try:
        t = Target()
        w.wait_stderr(rf"snapshots on cwtest:tick in {re.escape(EVENTS)} \(pid {t.pid}\), its "
                      r"semaphore")
        assert t.fire(1)[1] == 1
        snap = w.wait_for(lambda r: r["type"] == "snapshot" and r["pid"] == t.pid, 30)
        assert t.fire(1)[1] == 1  # a duplicate: let go
        assert t.fire(50)[1] == 1  # quiet: not even stopped
        assert t.quit() == 0
    finally:
        if t:
            t.kill()
        assert w.stop() == 0
    assert snap["tool_status"] == 0 and snap["path"]
    assert t.said[-1] == "sum=1326 orders=0"
    assert len([r for r in w.seen if r["type"] == "snapshot" and r["pid"] == t.pid]) == 1
    assert [r["type"] for r in w.seen if r["pid"] == t.pid].count("suppressed") == 1
    c = w.counters()
    assert c["usdt_fired"] == 52 and c["usdt_unheld"] == 50 and c["usdt_suppressed"] == 1


def test_snapshot_on_any_program_finds_one_running_before_the_watcher(tmp_path):
    """PROVIDER:NAME alone: the files of the processes running at start are looked at."""
    t = Target()
    w = None
    try:
        w = snapshot_watcher(tmp_path, "--snapshot-on=cwtest:order")
        w.wait_stderr(rf"snapshots on cwtest:order in {re.escape(EVENTS)} \(pid {t.pid}\)")
        assert t.ask("order") == "ordered=1"
        snap = w.wait_for(lambda r: r["type"] == "snapshot" and r["pid"] == t.pid, 30)
        assert t.quit() == 0
    finally:
        t.kill()
        if w:
            assert w.stop() == 0
    assert snap["tool_status"] == 0 and snap["path"]
    assert t.said[-1] == "sum=0 orders=1"


def test_snapshot_on_usage_and_a_file_without_the_probe(tmp_path):
    def run(*args):
        return subprocess.run([WATCHER, "watch", "--config=", f"--spool={tmp_path / 's'}",
                               *args], capture_output=True, text=True, timeout=60)

    r = run("--snapshot-on=nocolon")
    assert r.returncode == 2 and "bad --snapshot-on 'nocolon'" in r.stderr
    r = run("--no-hold", "--snapshot-on=cwtest:tick")
    assert r.returncode == 2 and "drop --no-hold" in r.stderr
    r = run(f"--snapshot-on=cwtest:nope@{EVENTS}")
    assert r.returncode == 1 and f"{EVENTS} has no such USDT probe" in r.stderr
    conf = tmp_path / "c.conf"
    conf.write_text(f"[watch]\nsnapshot-on = cwtest:order@{EVENTS}\nsnapshot-on = cwtest:tick\n"
                    "snapshot-on = bad\n")
    r = subprocess.run([WATCHER, "config", "check", str(conf)], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        f"{conf}:4: key 'snapshot-on': bad --snapshot-on 'bad': give PROVIDER:NAME "
        "(PROVIDER:NAME[@PROGRAM])"]


class Timeline:
    """crashwatch timeline --events, started; its stderr read in the background."""

    def __init__(self, out, *args):
        self.out = out
        self.proc = subprocess.Popen([WATCHER, "timeline", *args, f"--output={out}"],
                                     stderr=subprocess.PIPE, text=True)
        self.err = lines_of(self.proc.stderr)
        self.said = []
        while not any(re.match(r"crashwatch: recording the (process|cgroup)", l)
                      for l in self.said):
            line = self.err.get(timeout=60)
            assert line is not None, "".join(self.said)
            self.said.append(line)

    def stop(self, sig=signal.SIGINT):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=60)
        while (line := self.err.get(timeout=10)) is not None:
            self.said.append(line)
        return rc, "".join(self.said)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_timeline_records_events_on_the_firing_threads_track_with_their_arguments(tmp_path):
    """timeline --events: each event fired an instant on its own thread's track, at
    the time it fired on the samples' clock, with its arguments named and its
    strings read; the count what the program fired; Chrome DevTools' trace engine
    loads it; every probe detached at the end, the semaphores back to zero."""
    out = tmp_path / "timeline.json"
    t = Target()
    tl = None
    try:
        assert t.fire(2) == (0, 0)
        tl = Timeline(out, f"--pid={t.pid}", "--seconds=60", "--events=cwtest:tick",
                      "--events=cwtest:order,cwtest:tick", "--hz=199")
        assert "recording 2 trace event(s) in 2 probe attachment(s)" in "".join(tl.said)
        assert t.ask("enabled") == "tick=1 order=1"
        assert t.fire(4) == (4, 1)
        assert t.ask("order") == "ordered=1"
        m = re.fullmatch(r"tid=(\d+) computed=7", t.ask("work 300"))
        assert m, t.said
        worker = int(m.group(1))
        rc, err = tl.stop()
        assert rc == 0, err
        assert "9 trace event(s) on the threads' tracks (lost 0)" in err, err
        # Detached: the semaphores are zero, the costly argument no longer computed.
        assert t.ask("enabled") == "tick=0 order=0"
        assert t.fire(1) == (7, 0)
        assert t.quit() == 0
    finally:
        if tl:
            tl.kill()
        t.kill()

    events = strict_load(out)
    procs, threads, slices = check_format(events, 60, hz=199)
    assert procs == {t.pid: "usdt_events"}
    assert threads[(t.pid, t.pid)] == "usdt_events" and threads[(t.pid, worker)] == "worker"
    instants = {}
    for e in events:
        if e["ph"] == "I":
            assert e["cat"] == "usdt" and e["s"] == "t", e
            instants.setdefault(e["tid"], []).append((e["name"], e["args"], e["ts"]))
    assert set(instants) == {t.pid, worker}
    assert [(n, a) for n, a, _ in instants[t.pid]] == [
        ("cwtest:tick", {"i": i, "cost": i * i + 7}) for i in (2, 3, 4, 5)] + [
        ("cwtest:order", {"id": 1000, "customer": "alice", "cents": 1999})]
    assert [(n, a) for n, a, _ in instants[worker]] == [
        ("cwtest:order", {"id": 1001, "customer": "bob", "cents": 250})] + [
        ("cwtest:tick", {"i": i, "cost": i * i + 7}) for i in (6, 7, 8)]
    # As many as fired while attached: 7 computed arguments, 7 ticks; and 2 orders.
    assert sum(n == "cwtest:tick" for v in instants.values() for n, _, _ in v) == 7
    # The same clock as the samples: the worker spun between its order and its ticks.
    order_ts, ticks_ts = instants[worker][0][2], instants[worker][1][2]
    assert 0.29e6 < ticks_ts - order_ts < 1e6
    spin = [(a, b) for n, a, b, _ in slices[(t.pid, worker)] if n == "spin_in_work"]
    assert spin and sum(b - a for a, b in spin) > 0.15e6, slices[(t.pid, worker)]
    period = 1e6 / 199
    assert order_ts - 1000 <= min(a for a, _ in spin), (order_ts, spin)
    assert max(b for _, b in spin) <= ticks_ts + 2 * period + 1000, (ticks_ts, spin)

    r = subprocess.run(["node", CONSUMER, str(out)], capture_output=True, text=True,
                       env={**os.environ, "NODE_PATH": NODE_PATH}, timeout=120)
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["errors"] == []
    # Its thread tracks as ours, the instants in them leave the slices whole.
    worker_seen = seen["threads"][f"{t.pid}/{worker}"]
    assert worker_seen["name"] == "worker"
    assert sum(d for n, d, _ in worker_seen["slices"] if n == "spin_in_work") > 0.15e6
    # Chromium's own viewer shows the events on the worker's track.  ("I", the phase
    # Chromium writes; its Performance panel passes "i" by without a word.)
    shown = {tr["name"]: tr for tr in view(out)["tracks"]}
    names = [n for n, _, _ in shown[f"worker ({worker})"]["slices"]]
    assert names.count("cwtest:order") == 1 and names.count("cwtest:tick") == 3, names


def test_timeline_events_usage_errors_name_the_event_and_the_program(tmp_path):
    def run(*args):
        return subprocess.run([WATCHER, "timeline", "--seconds=5", f"--output={tmp_path / 'o'}",
                               *args], capture_output=True, text=True, timeout=60)

    t = Target()
    other = subprocess.Popen([os.path.join(TARGETS, "timeline_threads")], stdout=subprocess.PIPE,
                             text=True)
    try:
        r = run(f"--pid={t.pid}", "--events=nocolon")
        assert r.returncode == 2 and "bad --events 'nocolon': give PROVIDER:NAME" in r.stderr
        r = run(f"--pid={t.pid}", "--events=cwtest:tick@usdt_events")
        assert r.returncode == 2 and "no '@PROGRAM' here" in r.stderr
        r = run(f"--pid={t.pid}", "--events=cwtest:tick,cwtest:nope")
        assert r.returncode == 2, r.stderr
        assert f"usdt_events (pid {t.pid}) has no event cwtest:nope" in r.stderr
        while not other.stdout.readline().startswith("ready="):
            pass
        r = run(f"--pid={other.pid}", "--events=cwtest:tick")
        assert r.returncode == 2, r.stderr
        assert f"timeline_threads (pid {other.pid}) declares no trace events" in r.stderr
        assert not (tmp_path / "o").exists()
        # Nothing stayed attached.
        assert t.ask("enabled") == "tick=0 order=0"
        assert t.quit() == 0
    finally:
        other.kill()
        other.wait()
        t.kill()


@pytest.mark.parametrize("who", ["watch", "trace", "timeline"])
def test_semaphores_go_back_to_zero_when_the_attacher_is_killed(tmp_path, who, host_core_settings):
    """SIGKILL, no clean-up of its own: the kernel closes its perf events, the uprobes go
    and with them the semaphore counts; the program stops computing the argument."""
    t = Target()
    attacher = None
    try:
        assert t.fire(2) == (0, 0)
        if who == "watch":
            attacher = snapshot_watcher(tmp_path, f"--snapshot-on=cwtest:tick@{EVENTS}")
            attacher.wait_stderr(rf"snapshots on cwtest:tick in {re.escape(EVENTS)}, its "
                                 r"semaphore")
            proc = attacher.proc
        elif who == "trace":
            attacher = Tracer("--trace=cwtest:tick", f"--pid={t.pid}")
            proc = attacher.proc
        else:
            attacher = Timeline(tmp_path / "timeline.json", f"--pid={t.pid}", "--seconds=60",
                                "--events=cwtest:tick")
            proc = attacher.proc
        assert t.ask("enabled") == "tick=1 order=0"
        if who != "watch":  # the watcher would hold it for a snapshot
            assert t.fire(3) == (3, 1)
        computed = int(re.search(r"computed=(\d+)", t.ask("fire 0")).group(1))
        proc.kill()
        proc.wait()
        # Synchronous with the process's end: no waiting.
        assert t.ask("enabled") == "tick=0 order=0"
        assert t.fire(5) == (computed, 0)
        assert t.quit() == 0
    finally:
        if attacher:
            attacher.kill() if who != "watch" else attacher.stop(signal.SIGKILL)
        t.kill()
    assert not (tmp_path / "timeline.json").exists()


def test_timeline_events_of_a_cgroup_include_its_processes_started_later(tmp_path):
    """--cgroup: the events of its processes, one started after the recording began
    included; not those of the same program outside the cgroup."""
    out = tmp_path / "timeline.json"
    targets, tl = [], None
    with Cgroup(f"cw-usdt-timeline-{os.getpid()}") as cg:
        try:
            targets.append(Target(cgroup=cg))
            targets.append(Target())  # outside
            tl = Timeline(out, f"--cgroup={cg.rel}", "--seconds=60", "--events=cwtest:order")
            targets.append(Target(cgroup=cg))  # later
            for t in targets:
                assert t.ask("order") == "ordered=1"
            rc, err = tl.stop()
            assert rc == 0, err
            for t in targets:
                assert t.ask("enabled") == "tick=0 order=0"
                assert t.quit() == 0
        finally:
            if tl:
                tl.kill()
            for t in targets:
                t.kill()
    inside, outside, later = targets
    events = strict_load(out)
    check_format(events, 60)
    instants = [(e["pid"], e["tid"], e["args"]["customer"]) for e in events
                if e["ph"] == "I" and e["name"] == "cwtest:order"]
    assert sorted(instants) == sorted([(inside.pid, inside.pid, "alice"),
                                       (later.pid, later.pid, "alice")])


def mapping(path):
    """The processes that map the file at path now."""
    real, found = os.path.realpath(path), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/maps") as f:
                if any(l.rstrip("\n").endswith(" " + real) for l in f):
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_snapshot_on_a_library_probe_in_a_program_started_later(tmp_path):
    """PROVIDER:NAME alone, in a library no process maps when the watcher starts: found
    when a program that will map it starts, by the loader's libraries for it."""
    assert not mapping(LIB), "a process maps the library already: the test proves nothing"
    w = snapshot_watcher(tmp_path, "--snapshot-on=cwlib:ping", "--dedup-window=0",
                         "--rate-limit=0")
    t = None
    try:
        t = Target(LIB_USER)
        w.wait_stderr(rf"snapshots on cwlib:ping in \S*/libcwlib_events\.so \(pid {t.pid}\), "
                      r"its semaphore", 30)
        assert t.ask("ping") == "pinged=1 enabled=1"
        snap = w.wait_for(lambda r: r["type"] == "snapshot" and r["pid"] == t.pid, 30)
        assert t.quit() == 0
    finally:
        if t:
            t.kill()
        assert w.stop() == 0
    assert snap["tool_status"] == 0 and snap["path"]
    with open(snap["path"]) as f:
        doc = json.load(f)
    # "lib": a literal in a page the program never touched, read by the watcher.
    assert {k: v for k, v in doc["attributes"].items() if k.startswith("usdt.")} == {
        "usdt.probe": "cwlib:ping", "usdt.arg0": "1", "usdt.arg1": "lib"}
    assert w.counters()["usdt_library_lookups"] >= 1


def test_trace_reads_a_string_in_a_page_the_program_never_touched():
    """BPF takes no page faults: a string literal of the library, in a page nothing read
    yet, is read from the process's memory instead (it used to print who="")."""
    tr = Tracer("--trace=cwlib:ping", "--json", "--duration=60", LIB_USER)
    out = lines_of(tr.proc.stdout)
    t, events = None, []
    try:
        t = Target(LIB_USER)
        # Each event printed while the program waits for its next line: alive, its
        # memory as it was when the event fired.
        for n in (1, 2):
            assert t.ask("ping") == f"pinged={n} enabled=1"
            events.append(json.loads(out.get(timeout=30)))
        assert t.quit() == 0
        tr.proc.send_signal(signal.SIGINT)
        assert tr.proc.wait(timeout=30) == 0, tr.proc.stderr.read()
    finally:
        tr.kill()
        if t:
            t.kill()
    assert [e["args"] for e in events] == [
        [{"name": "n", "value": n}, {"name": "who", "value": "lib"}] for n in (1, 2)]


@pytest.mark.parametrize("end", ["sigterm", "target_exit"])
def test_timeline_events_end_with_sigterm_or_the_process(tmp_path, end):
    """The recording's other ends: SIGTERM (the semaphores zero after), the process's
    exit (the recording stops then); the trace is written with every event either way."""
    out = tmp_path / "timeline.json"
    t = Target()
    tl = None
    try:
        tl = Timeline(out, f"--pid={t.pid}", "--seconds=60", "--events=cwtest:tick,cwtest:idle")
        assert t.fire(3) == (3, 1)  # 3 ticks, then an idle
        if end == "sigterm":
            rc, err = tl.stop(signal.SIGTERM)
            assert t.ask("enabled") == "tick=0 order=0"  # its idle fired unseen
            assert t.quit() == 0
        else:
            assert t.quit() == 0  # no idle after quit
            rc = tl.proc.wait(timeout=30)
            err = tl.stop()[1]
        assert rc == 0, err
    finally:
        if tl:
            tl.kill()
        t.kill()
    assert "4 trace event(s) on the threads' tracks (lost 0)" in err, err
    events = strict_load(out)
    check_format(events, 60)
    assert [(e["name"], e["tid"]) for e in events if e["ph"] == "I"] == [
        ("cwtest:tick", t.pid)] * 3 + [("cwtest:idle", t.pid)]
