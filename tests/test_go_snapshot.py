"""crashwatch-snapshot on live Go programs (Debian's Go 1.19): every goroutine with its
wait reason, creator and frames, from DWARF builds and from -s -w and PIE ones (names
from .gopclntab); the panic value at a hold at runtime.fatalpanic, made here with gdb
(stop at the function, queue SIGSTOP, detach): what the watcher's uprobe does."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BUILD, SNAPSHOT

GO = os.path.join(BUILD, "tests", "targets", "go_snap")
BUILDS = ["parked", "parked-sw", "parked-pie"]


def start(binary, *args):
    proc = subprocess.Popen([os.path.join(GO, binary), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "ready", line
    return proc


def snapshot(*args):
    r = subprocess.run([SNAPSHOT, "--output=-", *map(str, args)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def by_function(doc, name):
    for g in doc["goroutines"]:
        if any(f["function"] == name for f in g["frames"]):
            return g
    raise AssertionError(f"no goroutine in {name}: {doc['goroutines']}")


@pytest.mark.parametrize("binary", BUILDS)
def test_parked_goroutines(binary):
    proc = start(binary)
    try:
        doc = snapshot(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    go = doc["go"]
    assert go["version"].startswith("go1.19")
    # Go 1.19's layouts are built in (no DWARF read while the process is held).
    assert go["layouts"] == ("table" if go["version"].startswith("go1.19") else "dwarf")
    assert go["error"] is None and go["panic"] is None
    expect = {"main.waitOnChannel": "chan receive", "main.waitOnMutex": "semacquire",
              "main.sleeper": "sleep"}
    for function, reason in expect.items():
        g = by_function(doc, function)
        assert g["status"] == "waiting" and g["wait_reason"] == reason, g
        assert g["frames"][0]["function"] == "runtime.gopark"
        assert g["frames"][-1]["function"] == "runtime.goexit"
        assert g["created_by"]["function"] == "main.main"
        assert g["created_by"]["file"].endswith("go_snap/parked/main.go")
        assert not g["system"] and not g["faulted"]
    f = next(f for f in by_function(doc, "main.waitOnChannel")["frames"]
             if f["function"] == "main.waitOnChannel")
    assert f["file"].endswith("go_snap/parked/main.go") and f["line"] == 36
    assert f["module"] == doc["process"]["exe"]
    main = next(g for g in doc["goroutines"] if g["id"] == 1)
    assert [f["function"] for f in main["frames"]][-3:] == ["main.main", "runtime.main",
                                                            "runtime.goexit"]
    # The runtime's own are left out by default, and counted.
    assert go["system_goroutines_left_out"] > 0
    assert not any(g["system"] for g in doc["goroutines"])


def test_system_goroutines_on_request():
    proc = start("parked")
    try:
        doc = snapshot("--go-system-goroutines", proc.pid)
    finally:
        proc.kill()
        proc.wait()
    system = [g for g in doc["goroutines"] if g["system"]]
    assert system and doc["go"]["system_goroutines_left_out"] == 0
    assert any(f["function"].startswith("runtime.") for g in system for f in g["frames"])


def test_not_go_has_no_goroutines():
    proc = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.1)
        doc = snapshot(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert "goroutines" not in doc and "go" not in doc


def test_ten_thousand_goroutines():
    proc = start("parked", "10000")
    try:
        t0 = time.monotonic()
        doc = snapshot(proc.pid)
        took = time.monotonic() - t0
    finally:
        proc.kill()
        proc.wait()
    sleepers = [g for g in doc["goroutines"] if g["wait_reason"] == "sleep"]
    assert len(sleepers) == 10001
    assert all(any(f["function"] == "main.sleeper" for f in g["frames"]) for g in sleepers)
    assert doc["go"]["goroutines_total"] >= 10003
    # Read in bulk: the pause stays short (its figure is in the document).
    assert 0 < doc["capture"]["pause_ms"] < 1000, doc["capture"]
    assert took < 30


def held_at_fatalpanic(kind):
    """The target panics (on SIGUSR1) and is left SIGSTOPped at runtime.fatalpanic's entry."""
    proc = start("parked", kind)
    # gdb (13) lets the breakpoint pass when its stdin is /dev/null (pytest's): give it a pipe.
    r = subprocess.run(["gdb", "-q", "-batch", "-p", str(proc.pid), "-ex", "set pagination off",
                        "-ex", "break runtime.fatalpanic", "-ex", "signal SIGUSR1",
                        "-ex", f"shell kill -STOP {proc.pid}", "-ex", "delete", "-ex", "detach"],
                       input="", capture_output=True, text=True, timeout=60)
    assert "Breakpoint 1, runtime.fatalpanic" in r.stdout, r.stdout + r.stderr
    return proc


@pytest.mark.parametrize("kind,message", [
    ("panic-string", "payment 7 declined"),
    ("panic-errors", "card expired"),
    ("panic-custom", "order 7 failed"),
    ("panic-bounds", "runtime error: index out of range [6] with length 0"),
])
def test_panic_value(kind, message):
    proc = held_at_fatalpanic(kind)
    try:
        doc = snapshot(proc.pid)
    finally:
        proc.send_signal(signal.SIGCONT)
        _, err = proc.communicate(timeout=30)
    # Death preserved: the runtime's own message and exit status.
    assert proc.returncode == 2 and f"panic: {message}" in err
    panic = doc["go"]["panic"]
    # At fatalpanic the runtime has turned an error into its Error() text already.
    assert panic["message"] == message and panic["type"] == "string"
    assert doc["attributes"]["error"] == message
    assert "go-panic" in doc["classifiers"]
    faulted = [g for g in doc["goroutines"] if g["faulted"]]
    assert len(faulted) == 1
    names = [f["function"] for f in faulted[0]["frames"]]
    assert names[:2] == ["runtime.fatalpanic", "runtime.gopanic"] and "main.worker" in names
    assert faulted[0]["status"] == "running" and faulted[0]["thread"]


@pytest.mark.parametrize("kind", ["sentry", "backtrace"])
def test_a_go_panic_reaches_backends_with_its_goroutines(tmp_path, kind):
    """Sentry and Backtrace get every goroutine as a thread, named as Go prints it,
    and the panic as the crash: checked by the local backend's validators."""
    from receiver import Receiver
    proc = held_at_fatalpanic("panic-custom")
    try:
        doc = snapshot(proc.pid)
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.communicate(timeout=30)
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    path = spool / f"{doc['uuid']}.json"
    path.write_text(json.dumps(doc))
    path.chmod(0o600)
    with Receiver(mode=kind) as rx:
        where = rx.sentry_dsn if kind == "sentry" else rx.backtrace_endpoint
        out = subprocess.run([os.path.join(BUILD, "crashwatch"), "upload",
                              f"--upload={kind}:{where}", f"--upload-token={rx.token}",
                              str(spool)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        (req,) = rx.wait_for(1)
    faulted = [g for g in doc["goroutines"] if g["faulted"]][0]
    if kind == "sentry":
        event = req.parsed["event"]
        names = [t.get("name", "") for t in event["threads"]["values"]]
        assert f"goroutine {faulted['id']} [running]" in names, names
        assert any(n.startswith("goroutine ") and "[" in n for n in names if n != names[0])
        (ex,) = event["exception"]["values"]
        assert ex["value"] == "panic: order 7 failed" and ex["mechanism"]["type"] == "go-panic"
        crashed = [t for t in event["threads"]["values"] if t.get("crashed")]
        assert any(t["name"].startswith(f"goroutine {faulted['id']} ") for t in crashed)
    else:
        report = req.parsed
        assert report["mainThread"] == f"goroutine {faulted['id']} [running]"
        assert report["threads"][report["mainThread"]]["fault"] is True
        assert "go-panic" in report["classifiers"]
        assert report["attributes"]["error"] == "order 7 failed"
