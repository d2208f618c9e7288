"""Issue 13: Go programs from outside, with no change to them.  An unrecovered
panic or a runtime fatal error ends with exit status 2 and no signal: the
watcher finds each Go executable as it starts, probes the entry of
runtime.fatalpanic and runtime.fatalthrow, and holds the program there.  One
crash, one report (a nil dereference is a SIGSEGV, then a panic); the death is
the same as without the watcher."""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import TARGETS, Watcher, finish, no_core

PANIC_VARIANTS = ["go_panic", "go_panic_stripped", "go_panic_pie"]
DEATHS = {  # target: (environment, first line of its stderr)
    "go_panic": ({}, "panic: payment 7 declined"),
    "go_panic_stripped": ({}, "panic: payment 7 declined"),
    "go_panic_pie": ({}, "panic: payment 7 declined"),
    "go_nil": ({}, "panic: runtime error: invalid memory address or nil pointer dereference"),
    "go_mapwrites": ({}, "fatal error: concurrent map writes"),
}


def start(name, env=(), stdin=subprocess.PIPE):
    return subprocess.Popen(
        [os.path.join(TARGETS, name)], stdin=stdin, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=no_core, env={**os.environ, **dict(env)},
    )


def normalized(stderr):
    """The runtime's traceback but for what changes run to run: addresses, goroutine ids."""
    s = re.sub(r"0x[0-9a-f]+", "0x?", stderr)
    return re.sub(r"goroutine \d+", "goroutine ?", s)


@pytest.fixture(scope="module")
def unwatched():
    """Each target's death with no watcher: the status and the runtime's traceback."""
    out = {}
    for name, (env, _) in DEATHS.items():
        r = finish(start(name, env, stdin=subprocess.DEVNULL))
        out[name] = r
    r = finish(start("go_panic", {"GOTRACEBACK": "crash"}, stdin=subprocess.DEVNULL))
    out["crash"] = r
    return out


@pytest.fixture(scope="module")
def w(unwatched, tmp_path_factory):
    spool = tmp_path_factory.mktemp("go") / "spool"
    w = Watcher("--hold", f"--spool={spool}", "--dedup-window=0", "--rate-limit=0")
    yield w
    assert w.stop() == 0
    c = w.counters()
    assert c["go_probes_failed"] == 0 and c["go_binaries_skipped"] == 0
    assert c["dropped_ringbuf_full"] == 0 and c["malformed"] == 0


def run_probed(w, name, env=()):
    """Start name, let it crash once the watcher has probed its file; how it ended."""
    proc = start(name, env)
    try:
        assert proc.stdout.readline().strip() == f"pid={proc.pid}"
        w.wait_stderr(rf"probing runtime\.fatalpanic and runtime\.fatalthrow in "
                      rf"\S*/{re.escape(name)}, the Go executable of pid")
        proc.stdin.write("go\n")
        proc.stdin.close()
        return finish(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()


def only(w, pid, kind):
    """The one record of kind for pid (waiting for the first, then for stragglers)."""
    first = w.records_for(pid, kind, timeout=30)
    drain(w, 0.3)
    recs = [r for r in w.seen if r["type"] == kind and r["pid"] == pid]
    assert recs == [first], recs
    return first


def drain(w, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        w._read(0.05)


def load(rec):
    assert rec["tool_status"] == 0 and rec["path"], rec
    with open(rec["path"]) as f:
        return json.load(f)


def faulted(snap):
    (t,) = [t for t in snap["threads"] if t["faulted"]]
    return t


def assert_died_as_without(ran, unwatched_run, first_line):
    assert os.WIFEXITED(ran.status) and os.WEXITSTATUS(ran.status) == 2
    assert ran.status == unwatched_run.status
    assert ran.stderr.splitlines()[0] == first_line
    assert unwatched_run.stderr.splitlines()[0] == first_line


@pytest.mark.parametrize("name", PANIC_VARIANTS)
def test_a_panic_is_held_at_fatalpanic_once(w, unwatched, name):
    ran = run_probed(w, name)
    assert_died_as_without(ran, unwatched[name], DEATHS[name][1])
    # Only the panicking goroutine is printed (GOTRACEBACK=single): the same text.
    assert normalized(ran.stderr) == normalized(unwatched[name].stderr)
    rec = w.records_for(ran.pid, "go-panic")
    assert rec["held"] is True and rec["signal"]["number"] == 0
    assert rec["signal"]["name"] is None
    # The uprobe's registers: the *_panic and the goroutine, for the go-snap reader.
    assert int(rec["regs"]["rax"], 16) and int(rec["regs"]["r14"], 16)
    drain(w, 0.5)
    snap = load(only(w, ran.pid, "snapshot"))
    assert "go-panic" in snap["classifiers"] and snap["signal"] is None
    t = faulted(snap)
    assert t["tid"] == rec["tid"]
    if name != "go_panic_stripped":  # no symbols there: the go-snap reader names them
        names = [f.get("function") for f in t["frames"]]
        assert names[:3] == ["runtime.fatalpanic", "runtime.gopanic", "main.chargeOrder"]
    assert len(snap["threads"]) >= 2
    # Why, in Go's words: the message Go prints, and the type the value had.
    assert snap.get("go") and snap["go"]["panic"], (snap.get("go"), snap["capture"]["notes"])
    assert snap["go"]["panic"]["message"] == "payment 7 declined", snap["go"]["panic"]
    assert snap["go"]["panic"]["type"] == "*main.OrderError", snap["go"]["panic"]
    assert "*main.OrderError" in snap["classifiers"]
    assert snap["attributes"]["error"] == "payment 7 declined"
    panicking = [g for g in snap["goroutines"] if g["faulted"]]
    assert len(panicking) == 1
    ex = w.records_for(ran.pid, "exit")
    assert ex["status"] == ran.status and ex["seen_at_delivery"] == "go"


def test_a_nil_dereference_is_one_report_the_panic(w, unwatched):
    ran = run_probed(w, "go_nil")
    assert_died_as_without(ran, unwatched["go_nil"], DEATHS["go_nil"][1])
    assert normalized(ran.stderr) == normalized(unwatched["go_nil"].stderr)
    sig = w.records_for(ran.pid, "signal")
    # Delivered to the runtime's handler, not held there: its panic is.
    assert sig["signal"]["name"] == "SIGSEGV" and sig["held"] is False
    assert w.records_for(ran.pid, "go-panic")["held"] is True
    w.records_for(ran.pid, "exit")
    drain(w, 0.5)
    snap = load(only(w, ran.pid, "snapshot"))
    assert "go-panic" in snap["classifiers"]
    names = [f.get("function") for f in faulted(snap)["frames"]]
    assert names[:2] == ["runtime.fatalpanic", "runtime.gopanic"]


def test_a_fault_that_never_reaches_its_panic_is_still_reported(w):
    """Killed while panicking (a deferred call runs before fatalpanic): no panic
    hold comes, the fault was not held at the handler, the exit reports it."""
    ran = run_probed(w, "go_nil", {"GO_NIL_KILL": "1"})
    assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGKILL
    assert w.records_for(ran.pid, "signal")["held"] is False
    w.records_for(ran.pid, "exit")
    drain(w, 0.5)
    rec = only(w, ran.pid, "snapshot")
    assert rec["partial"] is True and rec["path"]
    assert not [r for r in w.seen if r["type"] == "go-panic" and r["pid"] == ran.pid]
    with open(rec["path"]) as f:
        snap = json.load(f)
    assert snap["classifiers"][:2] == ["SIGSEGV", "SEGV_MAPERR"]


def test_a_fatal_error_is_held_at_fatalthrow(w, unwatched):
    ran = run_probed(w, "go_mapwrites")
    assert_died_as_without(ran, unwatched["go_mapwrites"], DEATHS["go_mapwrites"][1])
    rec = w.records_for(ran.pid, "go-fatal")
    assert rec["held"] is True
    drain(w, 0.5)
    snap = load(only(w, ran.pid, "snapshot"))
    assert "go-fatal-error" in snap["classifiers"]
    # Why, in the runtime's words: what it printed after "fatal error: ".
    assert snap["go"]["fatal_error"] == "concurrent map writes", snap["go"]
    assert snap["attributes"]["error"] == "concurrent map writes"
    t = faulted(snap)
    assert t["tid"] == rec["tid"]
    names = [f.get("function") for f in t["frames"]]
    assert names[:3] == ["runtime.fatalthrow", "runtime.fatal", "runtime.mapassign_fast64"]


def test_a_recovered_panic_is_not_a_crash(w):
    ran = run_probed(w, "go_recovered")
    assert os.WIFEXITED(ran.status) and os.WEXITSTATUS(ran.status) == 0
    assert "recovered: payment 7 declined" in ran.stdout
    drain(w, 1.0)
    assert not [r for r in w.seen if r.get("pid") == ran.pid]


def test_gotraceback_crash_still_ends_in_sigabrt(w, unwatched):
    ran = run_probed(w, "go_panic", {"GOTRACEBACK": "crash"})
    before = unwatched["crash"]
    assert os.WIFSIGNALED(before.status) and os.WTERMSIG(before.status) == signal.SIGABRT
    assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGABRT
    assert ran.stderr.splitlines()[0] == before.stderr.splitlines()[0]
    assert w.records_for(ran.pid, "go-panic")["held"] is True
    ex = w.records_for(ran.pid, "exit")
    assert ex["killed_by"] == "SIGABRT"
    drain(w, 1.0)
    load(only(w, ran.pid, "snapshot"))


def test_ten_thousand_goroutines_are_held_within_a_bound(w):
    ran = run_probed(w, "go_many")
    assert os.WIFEXITED(ran.status) and os.WEXITSTATUS(ran.status) == 2
    assert "ready=10000" in ran.stdout
    assert ran.stderr.splitlines()[0] == "panic: 10000 goroutines parked"
    rec = w.records_for(ran.pid, "go-panic")
    assert rec["held"] is True
    snap_rec = only(w, ran.pid, "snapshot")
    load(snap_rec)
    assert snap_rec["held_ms"] < 5000, snap_rec


def test_a_go_binary_in_another_mount_namespace_is_held(w, tmp_path, unwatched):
    """A container's Go program is another file: found at its exec there, probed, held."""
    target = os.path.join(TARGETS, "go_panic")
    copy = tmp_path / "go_panic"
    shutil.copy(target, copy)
    proc = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount --bind "$1" "$2" && exec "$2"', "sh", str(copy), target],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=no_core,
    )
    try:
        assert proc.stdout.readline().strip() == f"pid={proc.pid}"
        mnt = re.search(r"\d+", os.readlink(f"/proc/{proc.pid}/ns/mnt")).group(0)
        assert os.stat(f"/proc/{proc.pid}/exe").st_ino == copy.stat().st_ino
        w.wait_stderr(rf"probing runtime\.fatalpanic and runtime\.fatalthrow in "
                      rf"{re.escape(target)}, the Go executable of pid {proc.pid} "
                      rf"\(go_panic\) in mount namespace {mnt}$")
        proc.stdin.write("go\n")
        proc.stdin.close()
        ran = finish(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
    assert_died_as_without(ran, unwatched["go_panic"], DEATHS["go_panic"][1])
    assert w.records_for(ran.pid, "go-panic")["held"] is True
    drain(w, 0.5)
    snap = load(only(w, ran.pid, "snapshot"))
    assert "go-panic" in snap["classifiers"]
