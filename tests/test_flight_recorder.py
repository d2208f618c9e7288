"""watch --flight-recorder: the last seconds of every watched thread, kept all
along; a crash's snapshot gets the timeline of the seconds before it beside it
in the spool, named in the document, and a Sentry upload carries it."""
import json
import os
import subprocess

import pytest

from conftest import WATCHER, Watcher, finish, start_target, wait_until
from receiver import Receiver
from test_timeline import CONSUMER, NODE_PATH, check_format, longest, strict_load, total


def crash_after_work(w, ms=2000):
    """timeline_threads works in known functions for ms, then dereferences NULL."""
    ran = finish(start_target("timeline_threads", str(ms)))
    rec = w.records_for(ran.pid, "snapshot", timeout=30)
    return ran, rec


def check_timeline(ran, doc, spool, counters):
    assert doc["timeline"] == {"file": doc["uuid"] + ".timeline.json",
                               "format": "chrome-trace-event"}
    path = os.path.join(spool, doc["timeline"]["file"])
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    procs, threads, slices = check_format(strict_load(path), 5)
    pid = ran.pid
    # Only the crashing process, every one of its threads by name.
    assert procs == {pid: "timeline_thread"}
    assert threads == {(pid, ran.value(k + "_tid")): k
                       for k in ("spinner", "locked", "piped", "napper", "alternate")} | {
        (pid, pid): "timeline_thread"}
    t = {threads[k]: v for k, v in slices.items()}
    flight = {k: v for k, v in counters.items() if k.startswith("flight_")}
    # The two seconds before the crash: each thread in its function all along.
    assert longest(t["locked"], "wait_on_the_lock") > 1.8e6, (t["locked"], flight)
    assert longest(t["piped"], "read_the_pipe") > 1.8e6, (t["piped"], flight)
    assert total(t["spinner"], "spin_in_known_function") > 1.6e6
    assert total(t["napper"], "nap_in_short_sleeps") > 1.6e6
    assert total(t["alternate"], "work_a_while") > 0.3e6
    assert total(t["alternate"], "rest_a_while") > 0.3e6
    # The main thread waited in main_waits until it crashed.
    assert longest(t["timeline_thread"], "main_waits") > 1.8e6
    return path


def test_crash_has_the_timeline_of_its_last_seconds(tmp_path):
    spool = tmp_path / "spool"
    w = Watcher("--hold", f"--spool={spool}", "--flight-recorder=5", "--rate-limit=0",
                "--dedup-window=0")
    try:
        w.wait_stderr(r"flight recorder: the last 5s of every watched thread")
        ran, rec = crash_after_work(w)
    finally:
        assert w.stop() == 0
    c = w.counters()
    with open(rec["path"]) as f:
        doc = json.load(f)
    path = check_timeline(ran, doc, str(spool), c)
    assert c["flight_timelines"] >= 1 and c["flight_timeline_failed"] == 0
    assert c["flight_bytes_peak"] <= 64 << 20
    # Nothing left half-written in the spool, nothing it would take for a snapshot.
    # (The crash index, .index.jsonl, is crashwatch list's.)
    names = sorted(n for n in os.listdir(spool) if not n.startswith(".index."))
    assert names == sorted([os.path.basename(rec["path"]), os.path.basename(path)]), names
    # A real consumer reads it too.
    r = subprocess.run(["node", CONSUMER, path], capture_output=True, text=True,
                       env={**os.environ, "NODE_PATH": NODE_PATH}, timeout=120)
    assert r.returncode == 0, r.stderr
    seen = json.loads(r.stdout)
    assert seen["errors"] == []
    locked = seen["threads"][f"{ran.pid}/{ran.value('locked_tid')}"]["slices"]
    assert any(n == "wait_on_the_lock" and d > 1.8e6 for n, d, _ in locked)


def test_a_partial_snapshot_has_the_timeline_too(tmp_path):
    """The snapshot tool fails: the partial snapshot that stands in gets the timeline."""
    spool = tmp_path / "spool"
    tool = tmp_path / "failing-tool"
    tool.write_text("#!/bin/sh\nexit 1\n")
    tool.chmod(0o755)
    w = Watcher("--hold", f"--spool={spool}", f"--snapshot-tool={tool}", "--flight-recorder=5",
                "--rate-limit=0", "--dedup-window=0")
    try:
        w.wait_stderr(r"flight recorder: the last 5s of every watched thread")
        ran, rec = crash_after_work(w)
        assert rec["partial"] is True and rec["tool_status"] == 1
    finally:
        assert w.stop() == 0
    c = w.counters()
    with open(rec["path"]) as f:
        doc = json.load(f)
    path = check_timeline(ran, doc, str(spool), c)
    # The one the failed tool had been given is gone: the spool holds the pair only.
    names = sorted(n for n in os.listdir(spool) if not n.startswith(".index."))
    assert names == sorted([os.path.basename(rec["path"]), os.path.basename(path)]), names


def test_sentry_upload_carries_the_timeline(tmp_path):
    spool = tmp_path / "spool"
    with Receiver(mode="sentry") as rx:
        w = Watcher("--hold", f"--spool={spool}", "--flight-recorder=5", "--rate-limit=0",
                    "--dedup-window=0", f"--upload=sentry:{rx.sentry_dsn}")
        try:
            ran, rec = crash_after_work(w)
            uuid = os.path.basename(rec["path"])[:-5].replace("-", "")
            wait_until(lambda: any(r.parsed and r.parsed["event"]["event_id"] == uuid
                                   for r in rx.log), timeout=30, what="the upload")
            # Uploaded: the snapshot and its timeline leave the spool together.
            # The snapshot is kept in uploaded/ for crashwatch show, its timeline is not.
            def left():
                return sorted(n for n in os.listdir(spool) if not n.startswith(".index."))
            wait_until(lambda: left() == ["uploaded"], what="an empty spool")
            assert os.listdir(spool / "uploaded") == [os.path.basename(rec["path"])]
        finally:
            assert w.stop() == 0
    (req,) = [r for r in rx.log if r.parsed and r.parsed["event"]["event_id"] == uuid]
    atts = [(h, p) for h, p in req.parsed["items"] if h.get("type") == "attachment"]
    assert len(atts) == 1
    head, payload = atts[0]
    assert head["filename"] == "timeline.json"
    assert head["content_type"] == "application/json"
    assert head["length"] == len(payload)
    events = json.loads(payload)
    names = {e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert names == {"timeline_thread", "spinner", "locked", "piped", "napper", "alternate"}


@pytest.mark.parametrize("kind", ["generic", "backtrace"])
def test_generic_and_backtrace_uploads_carry_the_timeline_intact(tmp_path, kind):
    """multipart/form-data: the snapshot (generic) or Backtrace's report as upload_file,
    the timeline beside it, byte for byte the file the spool held."""
    spool = tmp_path / "spool"
    with Receiver(mode=kind) as rx:
        where = (f"generic:{rx.generic_url}" if kind == "generic" else
                 f"backtrace:{rx.backtrace_endpoint}")
        # Refused once, so that the timeline is still in the spool to compare with.
        rx.fail_next(status=503)
        w = Watcher("--hold", f"--spool={spool}", "--flight-recorder=5", "--rate-limit=0",
                    "--dedup-window=0", f"--upload={where}", f"--upload-token={rx.token}")
        try:
            ran, rec = crash_after_work(w)
            uuid = os.path.basename(rec["path"])[:-5]
            wait_until(lambda: rx.log, timeout=30, what="the first upload")
            with open(rec["path"]) as f:
                doc = json.load(f)
            with open(spool / doc["timeline"]["file"], "rb") as f:
                kept = f.read()
            (req,) = rx.wait_for(1, timeout=30)
        finally:
            assert w.stop() == 0
    assert req.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    main, att = ("snapshot", "timeline") if kind == "generic" else (
        "upload_file", "attachment_timeline.json")
    assert list(req.parts) == [main, att]
    assert req.parts[main].content_type == "application/json"
    assert req.parsed["uuid"] == uuid
    if kind == "generic":
        assert req.parsed["timeline"] == doc["timeline"]
        assert req.headers["Idempotency-Key"] == uuid
    part = req.parts[att]
    assert (part.filename, part.content_type) == ("timeline.json", "application/json")
    assert part.data == kept
    events = json.loads(part.data)
    names = {e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert names == {"timeline_thread", "spinner", "locked", "piped", "napper", "alternate"}


def test_the_recorders_memory_is_bounded(tmp_path):
    """At 1 MiB the oldest records go first; the crash still gets its last seconds."""
    spool = tmp_path / "spool"
    w = Watcher("--hold", f"--spool={spool}", "--flight-recorder=30",
                "--flight-recorder-size=1M", "--rate-limit=0", "--dedup-window=0")
    try:
        ran, rec = crash_after_work(w, 3000)
    finally:
        assert w.stop() == 0
    c = w.counters()
    assert 0 < c["flight_bytes_peak"] <= 1 << 20
    with open(rec["path"]) as f:
        doc = json.load(f)
    events = strict_load(os.path.join(spool, doc["timeline"]["file"]))
    check_format(events, 30)


@pytest.mark.parametrize("args, message", [
    (["--hold", "--flight-recorder=-1"], "bad --flight-recorder '-1'"),
    (["--hold", "--flight-recorder=3601"], "bad --flight-recorder '3601'"),
    (["--hold", "--flight-recorder=x"], "bad --flight-recorder 'x'"),
    (["--hold", "--flight-recorder=5", "--flight-recorder-size=1K"],
     "bad --flight-recorder-size '1K'"),
    (["--no-hold", "--flight-recorder=5"], "--flight-recorder needs --hold"),
])
def test_flight_recorder_usage(args, message, tmp_path):
    r = subprocess.run([WATCHER, "watch", "--config=", f"--spool={tmp_path}", *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
