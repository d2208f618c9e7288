"""The timeline in the trace viewer of Debian's Chromium: the Performance panel of
the DevTools that the browser bundles, driven headless, loading the file through
its own file input.  What the panel shows is what a user would look at: a track
per thread by its name, and every slice of our file in it."""
import collections
import json
import os
import subprocess

import pytest

from conftest import BUILD, Watcher
from test_flight_recorder import crash_after_work
from test_timeline import go_target, goroutine, record, strict_load, target  # noqa: F401 (fixtures)

VIEWER = os.path.join(os.path.dirname(__file__), "tools", "trace_viewer.mjs")
NODE_PATH = os.path.join(BUILD, "node", "node_modules")
CHROMIUM = "/usr/bin/chromium"
THREADS = ("spinner", "locked", "piped", "napper", "alternate")


def view(path):
    """What the viewer made of the trace at path; skips only if the browser can't start."""
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: run 'make deps'"
    r = subprocess.run(["node", VIEWER, str(path)], capture_output=True, text=True,
                       env={**os.environ, "NODE_PATH": NODE_PATH, "CHROMIUM": CHROMIUM},
                       timeout=120)
    if r.returncode == 77:
        pytest.skip(f"Chromium cannot start here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["errors"] == [], seen["errors"]
    assert seen["loaded"], "the viewer did not load the trace"
    assert seen["warnings"] == [], seen["warnings"]
    return seen


def check_viewed(path, pid, tids):
    """tids: thread name -> tid.  The viewer shows the process, a track for each
    thread named as thread_name says, and each of our slices, no more, no fewer."""
    seen = view(path)
    # The process's header and its main thread's track have the same name.
    procs = [t["name"] for t in seen["tracks"] if t["nesting"] == 0]
    assert procs == [f"timeline_thread ({pid})"], seen["tracks"]
    threads = {t["name"]: t for t in seen["tracks"] if t["nesting"] == 1}
    assert sorted(threads) == sorted(f"{name} ({tid})" for name, tid in tids.items())
    threads = {name: threads[f"{name} ({tid})"] for name, tid in tids.items()}
    ours = collections.Counter(e["tid"] for e in strict_load(path) if e["ph"] == "B")
    for name, tid in tids.items():
        assert len(threads[name]["slices"]) == ours[tid], (name, threads[name]["slices"])
    return {name: t["slices"] for name, t in threads.items()}


def test_timeline_opens_in_chromiums_viewer(target, tmp_path):
    out, _ = record(tmp_path, f"--pid={target['pid']}", "--seconds=1")
    pid = target["pid"]
    tids = {name: target[name + "_tid"] for name in THREADS} | {"timeline_thread": pid}
    slices = check_viewed(out, pid, tids)
    # The blocked thread is one slice in the function that waits, under its state.
    assert ["sleeping", pytest.approx(1e6, rel=0.1), 0] in [
        [n, d, dep] for n, d, dep in slices["locked"]]
    assert any(n == "wait_on_the_lock" and d > 0.9e6 and dep == 3 for n, d, dep in slices["locked"])
    assert sum(d for n, d, _ in slices["spinner"] if n == "spin_in_known_function") > 0.7e6


def test_goroutine_tracks_open_in_chromiums_viewer(go_target, tmp_path):
    """A Go process's goroutine tracks: tracks of its process, named, with our slices."""
    out, _ = record(tmp_path, f"--pid={go_target['pid']}", "--seconds=1")
    seen = view(out)
    pid = go_target["pid"]
    assert [t["name"] for t in seen["tracks"] if t["nesting"] == 0] == [f"go_goroutines ({pid})"]
    threads = {t["name"].rsplit(" (", 1)[0]: t for t in seen["tracks"] if t["nesting"] == 1}
    ours = collections.Counter(e["tid"] for e in strict_load(out) if e["ph"] == "B")
    for which in ("reader", "spinner"):
        name = goroutine(go_target, which)
        assert name in threads, seen["tracks"]
        tid = int(threads[name]["name"].rsplit("(", 1)[1].rstrip(")"))
        assert len(threads[name]["slices"]) == ours[tid]
    reader = threads[goroutine(go_target, "reader")]["slices"]
    assert any(n == "main.readThePipe" and d > 0.9e6 for n, d, _ in reader), reader


def test_flight_recorder_timeline_opens_in_chromiums_viewer(tmp_path):
    """The timeline written beside a crash's snapshot: the same in the viewer."""
    spool = tmp_path / "spool"
    w = Watcher("--hold", f"--spool={spool}", "--flight-recorder=5", "--rate-limit=0",
                "--dedup-window=0")
    try:
        ran, rec = crash_after_work(w, 1000)
    finally:
        assert w.stop() == 0
    with open(rec["path"]) as f:
        path = os.path.join(spool, json.load(f)["timeline"]["file"])
    tids = {name: ran.value(name + "_tid") for name in THREADS} | {"timeline_thread": ran.pid}
    slices = check_viewed(path, ran.pid, tids)
    assert any(n == "read_the_pipe" and d > 0.9e6 for n, d, _ in slices["piped"])
