"""crashwatch timeline: every thread of a real process recorded by the kernel's
clock and scheduler, written as Chrome Trace Event Format JSON, checked against
the format's rules here and loaded by a real consumer (Chrome DevTools' trace
engine) — not only by our own reading."""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import BUILD, TARGETS, WATCHER, Cgroup

TARGET = os.path.join(TARGETS, "timeline_threads")
GO_TARGET = os.path.join(TARGETS, "go_goroutines")
CONSUMER = os.path.join(os.path.dirname(__file__), "tools", "trace_consumer.mjs")
NODE_PATH = os.path.join(BUILD, "node", "node_modules")
STATES = {"running", "runnable", "sleeping", "disk", "stopped"}


def start_target(*args, prefix=(), path=TARGET):
    """timeline_threads (under prefix, e.g. setpriv), once every thread is at it."""
    p = subprocess.Popen([*prefix, path, *map(str, args)], stdout=subprocess.PIPE, text=True)
    info = {}
    while "ready" not in info:
        line = p.stdout.readline()
        assert line, "the target ended before it was ready"
        k, v = line.strip().split("=", 1)
        info[k] = int(v)
    return p, info


@pytest.fixture
def target():
    p, info = start_target()
    yield info
    p.kill()
    p.wait()


@pytest.fixture
def go_target():
    """go_goroutines: a goroutine spinning, one blocked reading a pipe, main in bursts."""
    p, info = start_target(path=GO_TARGET)
    yield info
    p.kill()
    p.wait()


def record(tmp_path, *args, name="timeline.json"):
    out = tmp_path / name
    r = subprocess.run([WATCHER, "timeline", *args, f"--output={out}"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return out, r.stderr


def strict_load(path):
    """JSON as the RFC has it: no NaN/Infinity, no duplicate keys."""
    def no_dupes(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicate keys {keys}"
        return dict(pairs)

    def no_constant(c):
        raise AssertionError(f"not JSON: {c}")

    with open(path) as f:
        return json.load(f, object_pairs_hook=no_dupes, parse_constant=no_constant)


def check_format(events, seconds, hz=99):
    """The Trace Event Format's rules, and fgtrace's shape.  Per track: slices.
    Instants (timeline --events) are thread-scoped, on a track of their own thread."""
    assert isinstance(events, list) and events
    assert events[0] == {"name": "hz", "ph": "M", "ts": 0, "args": {"hz": hz}}
    procs, threads, stacks, slices, last_ts = {}, {}, {}, {}, {}
    for e in events:
        assert e["ph"] in ("B", "E", "M", "I"), e
        assert isinstance(e["name"], str) and e["name"], e
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0, e
        for k in ("pid", "tid"):
            if k in e:  # Perfetto drops ids that do not fit 32 bits
                assert isinstance(e[k], int) and 0 < e[k] < 2**31, e
        if e["ph"] == "M":
            if e["name"] == "process_name":
                procs[e["pid"]] = e["args"]["name"]
            elif e["name"] == "thread_name":
                threads[(e["pid"], e["tid"])] = e["args"]["name"]
            else:
                assert e["name"] == "hz"
            continue
        track = (e["pid"], e["tid"])
        assert track in threads, f"{track}: events before (or without) its thread_name"
        assert e["pid"] in procs
        assert e["ts"] >= last_ts.get(track, 0), f"{track} goes back in time at {e}"
        assert e["ts"] <= seconds * 1e6 * 1.05 + 50000, f"past the recording's end: {e}"
        last_ts[track] = e["ts"]
        if e["ph"] == "I":
            assert e["s"] == "t" and isinstance(e["args"], dict), e
            continue
        st = stacks.setdefault(track, [])
        if e["ph"] == "B":
            st.append((e["name"], e["ts"]))
        else:
            assert st, f"{track}: E with no B: {e}"
            name, begin = st.pop()
            assert name == e["name"], f"{track}: E {e['name']} closes B {name}"
            slices.setdefault(track, []).append((name, begin, e["ts"], len(st)))
    for track, st in stacks.items():
        assert not st, f"{track}: slices left open: {st}"
    return procs, threads, slices


def longest(slices, name):
    return max((b - a for n, a, b, _ in slices if n == name), default=0)


def total(slices, name):
    return sum(b - a for n, a, b, _ in slices if n == name)


def by_name(threads, slices):
    return {threads[t]: slices.get(t, []) for t in threads}


def test_timeline_threads(target, tmp_path):
    seconds = 2
    out, err = record(tmp_path, f"--pid={target['pid']}", f"--seconds={seconds}")
    assert f"{out}: 6 threads of 1 processes" in err, err
    procs, threads, slices = check_format(strict_load(out), seconds)
    pid = target["pid"]
    assert procs == {pid: "timeline_thread"}
    assert threads == {
        (pid, pid): "timeline_thread", (pid, target["spinner_tid"]): "spinner",
        (pid, target["locked_tid"]): "locked", (pid, target["piped_tid"]): "piped",
        (pid, target["napper_tid"]): "napper", (pid, target["alternate_tid"]): "alternate"}
    span = seconds * 1e6
    t = by_name(threads, slices)

    # Blocked threads: one slice, the whole recording, in the function that waits
    # (found by CFI through libc, which has no frame pointers), under "sleeping".
    for name, fn in (("locked", "wait_on_the_lock"), ("piped", "read_the_pipe"),
                     ("timeline_thread", "main_waits")):
        assert longest(t[name], fn) > 0.95 * span, (name, fn, t[name])
        assert [s for s in t[name] if s[0] == fn and s[3] == 3], "root frame + start_thread/run"
        roots = {n for n, _, _, d in t[name] if d == 0}
        assert roots == {"sleeping"}, roots
    assert "__pthread_mutex_lock" in " ".join(n for n, *_ in t["locked"])

    # The spinner: in its function all along, running or waiting for a CPU (how
    # much of each depends on what else the host runs: 2 CPUs here).
    assert total(t["spinner"], "spin_in_known_function") > 0.8 * span
    assert total(t["spinner"], "running") > 0.1 * span
    assert {n for n, _, _, d in t["spinner"] if d == 0} <= {"running", "runnable"}

    # Napping 1 ms at a time: asleep most of the time, in the function that naps.
    assert total(t["napper"], "nap_in_short_sleeps") > 0.8 * span
    assert total(t["napper"], "sleeping") > 0.7 * span

    # Alternating 30 ms work and 30 ms rest: both, many times, each about 30 ms.
    for fn in ("work_a_while", "rest_a_while"):
        n = [b - a for f, a, b, _ in t["alternate"] if f == fn]
        assert len(n) >= 10, (fn, n)
        assert 0.15 * span < sum(n) < 0.85 * span, (fn, sum(n))

    # Every state frame is one of fgtrace's states, at the root.
    for s in slices.values():
        assert {n for n, _, _, d in s if d == 0} <= STATES


def test_timeline_on_cpu_only(target, tmp_path):
    """--off-cpu=no: samples only, nothing on sched_switch; a thread off the CPU is a gap."""
    seconds = 2
    out, err = record(tmp_path, f"--pid={target['pid']}", f"--seconds={seconds}",
                      "--off-cpu=no")
    assert re.search(r"samples [1-9]\d*, off-CPU intervals 0,", err), err
    procs, threads, slices = check_format(strict_load(out), seconds)
    t = by_name(threads, slices)
    span = seconds * 1e6
    assert total(t["spinner"], "spin_in_known_function") > 0.5 * span
    assert {n for n, _, _, d in t["spinner"] if d == 0} == {"running"}
    # Blocked all along: never sampled, so no slice at all, not one in the function that waits.
    assert not t.get("locked") and not t.get("piped"), (t.get("locked"), t.get("piped"))
    r = subprocess.run([WATCHER, "timeline", f"--pid={target['pid']}", "--off-cpu=maybe"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "bad --off-cpu 'maybe': yes or no" in r.stderr, r.stderr


def test_timeline_loads_in_devtools(target, tmp_path):
    """Chrome DevTools' trace engine reads it: no complaint, every thread, the slices."""
    out, _ = record(tmp_path, f"--pid={target['pid']}", "--seconds=1")
    r = subprocess.run(["node", CONSUMER, str(out)], capture_output=True, text=True,
                       env={**os.environ, "NODE_PATH": NODE_PATH}, timeout=120)
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["errors"] == []
    assert seen["bounds"]["max"] - seen["bounds"]["min"] > 0.9e6
    pid = target["pid"]
    names = {k: v["name"] for k, v in seen["threads"].items()}
    for key in ("spinner", "locked", "piped", "napper", "alternate"):
        assert names[f"{pid}/{target[key + '_tid']}"] == key
    locked = seen["threads"][f"{pid}/{target['locked_tid']}"]["slices"]
    assert ["sleeping", pytest.approx(1e6, rel=0.1), 0] in [[n, d, dep] for n, d, dep in locked]
    assert any(n == "wait_on_the_lock" and d > 0.9e6 and dep == 3 for n, d, dep in locked)
    spinner = seen["threads"][f"{pid}/{target['spinner_tid']}"]["slices"]
    assert sum(d for n, d, _ in spinner if n == "spin_in_known_function") > 0.7e6


def goroutine(info, which):
    return f"goroutine {info[which + '_goid']}"


def test_timeline_goroutine_tracks(go_target, tmp_path):
    """A Go process: each goroutine that ran a track of its own, in the same process,
    with a tid no thread can have; what ran on the Ms' own stacks stays on theirs."""
    seconds = 2
    out, err = record(tmp_path, f"--pid={go_target['pid']}", f"--seconds={seconds}")
    procs, threads, slices = check_format(strict_load(out), seconds)
    pid = go_target["pid"]
    assert procs == {pid: "go_goroutines"}
    span = seconds * 1e6
    t = by_name(threads, slices)
    for which in ("main", "spinner", "reader"):
        assert goroutine(go_target, which) in t, threads
    goroutines = {tid for (_, tid), name in threads.items() if name.startswith("goroutine ")}
    assert all(2**30 < tid < 2**31 for tid in goroutines), goroutines
    n_threads = len(threads) - len(goroutines)
    assert f"{out}: {n_threads} threads, {len(goroutines)} goroutines of 1 processes" in err, err
    real = {int(tid) for tid in os.listdir(f"/proc/{pid}/task")}
    assert {tid for (_, tid) in threads} - goroutines <= real, threads

    # Blocked in read(2): one slice, the whole recording, under "sleeping".
    reader = t[goroutine(go_target, "reader")]
    assert longest(reader, "main.readThePipe") > 0.95 * span, reader
    assert {n for n, _, _, d in reader if d == 0} == {"sleeping"}
    # Spinning: in its function most of the time, 2 CPUs shared with the rest.
    spinner = t[goroutine(go_target, "spinner")]
    assert total(spinner, "main.spinInKnownFunction") > 0.5 * span, spinner
    assert total(t[goroutine(go_target, "main")], "main.mainBursts") > 0
    # The goroutines' functions on their tracks only.
    for (_, tid), name in threads.items():
        if tid not in goroutines:
            seen = {n for n, *_ in slices.get((pid, tid), [])}
            assert not seen & {"main.readThePipe", "main.spinInKnownFunction"}, (name, seen)


def test_timeline_goroutines_load_in_devtools(go_target, tmp_path):
    """The trace engine reads the goroutine tracks as threads of the process."""
    out, _ = record(tmp_path, f"--pid={go_target['pid']}", "--seconds=1")
    r = subprocess.run(["node", CONSUMER, str(out)], capture_output=True, text=True,
                       env={**os.environ, "NODE_PATH": NODE_PATH}, timeout=120)
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["errors"] == []
    names = {v["name"]: v["slices"] for v in seen["threads"].values()}
    reader = names[goroutine(go_target, "reader")]
    assert any(n == "main.readThePipe" and d > 0.9e6 for n, d, _ in reader), reader
    assert goroutine(go_target, "spinner") in names


@pytest.mark.parametrize("where", ["leaf", "no"])
def test_timeline_state_frames(target, tmp_path, where):
    out, _ = record(tmp_path, f"--pid={target['pid']}", "--seconds=0.5", f"--state-frames={where}")
    _, threads, slices = check_format(strict_load(out), 0.5)
    locked = slices[(target["pid"], target["locked_tid"])]
    names = [n for n, *_ in sorted(locked, key=lambda s: s[3])]
    assert names[0] == "start_thread"
    if where == "leaf":
        assert names[-1] == "sleeping"
    else:
        assert not STATES & {n for s in slices.values() for n, *_ in s}


def test_timeline_cgroup(tmp_path):
    """--cgroup: every process in it (a cgroup made for the target)."""
    with Cgroup(f"cw-timeline-{os.getpid()}") as cg:
        p = subprocess.Popen([TARGET], stdout=subprocess.PIPE, text=True,
                             preexec_fn=lambda: cg.enter(os.getpid()))
        try:
            info = {}
            while "ready" not in info:
                k, v = p.stdout.readline().strip().split("=", 1)
                info[k] = int(v)
            out, _ = record(tmp_path, f"--cgroup={cg.rel}", "--seconds=0.5")
        finally:
            p.kill()
            p.wait()
    procs, threads, slices = check_format(strict_load(out), 0.5)
    assert procs == {info["pid"]: "timeline_thread"}
    assert len(threads) == 6
    assert longest(slices[(info["pid"], info["locked_tid"])], "wait_on_the_lock") > 0.4e6


def test_timeline_ends_with_the_process(tmp_path):
    """A process that ends: the recording stops then, with what it saw."""
    p, info = start_target(700)  # crashes after 0.7 s
    try:
        t0 = time.monotonic()
        out, err = record(tmp_path, f"--pid={info['pid']}", "--seconds=20")
        assert time.monotonic() - t0 < 5
    finally:
        p.kill()
        p.wait()
    _, threads, slices = check_format(strict_load(out), 20)
    assert "spinner" in threads.values()


@pytest.mark.parametrize("args, message", [
    (["--pid=1", "--hz=0"], "bad --hz '0'"),
    (["--pid=1", "--hz=x"], "bad --hz 'x'"),
    (["--pid=1", "--hz=10001"], "bad --hz '10001'"),
    (["--pid=1", "--seconds=0"], "bad --seconds '0'"),
    (["--pid=1", "--seconds=-1"], "bad --seconds '-1'"),
    (["--pid=1", "--seconds=1x"], "bad --seconds '1x'"),
    (["--pid=1", "--state-frames=top"], "bad --state-frames 'top'"),
    (["--pid=0"], "bad --pid '0'"),
    ([], "timeline needs --pid or --cgroup"),
    (["--pid=1", "--cgroup=/"], "not both"),
])
def test_timeline_usage(args, message):
    r = subprocess.run([WATCHER, "timeline", *args], capture_output=True, text=True)
    assert r.returncode == 2
    assert message in r.stderr


def test_timeline_no_such_process():
    r = subprocess.run([WATCHER, "timeline", "--pid=4194304", "--seconds=0.1"],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "no process 4194304" in r.stderr
