"""Issue 5: the spool is uploaded to a backend (generic, Sentry, Backtrace),
a file leaves the spool only once the backend accepted it, failures are
retried (backoff, Retry-After) or set aside (failed/), the spool is bounded,
and nothing is lost across a restart of the watcher."""
import json
import os
import subprocess
import time

import pytest

from conftest import TARGETS, WATCHER, Watcher, run_target, wait_until
from receiver import Receiver


def spooled(spool):
    return sorted(n for n in os.listdir(spool) if n.endswith(".json") and not n.startswith("."))


def upload_watcher(spool, spec, *args):
    return Watcher("--hold", f"--spool={spool}", f"--upload={spec}", *args)


def of_pid(rx, pid):
    """The requests about one process (the watcher sees every crash on the host)."""
    return [r for r in rx.log if json.loads(r.body)["process"]["pid"] == pid]



def snapshot_of_a_live_process(spool):
    """A real snapshot in the spool, from the snapshot tool on a parked process."""
    proc = subprocess.Popen([os.path.join(TARGETS, "parked_threads"), "3"],
                            stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if line.strip() == "ready=1":
                break
        out = subprocess.run([WATCHER + "-snapshot", f"--output={spool}", "--no-source",
                              str(proc.pid)], capture_output=True, text=True, check=True)
    finally:
        proc.kill()
        proc.wait()
    return out.stdout.strip()


def test_a_crash_is_uploaded_and_leaves_the_spool(tmp_path):
    with Receiver(mode="generic") as rx:
        w = upload_watcher(tmp_path, f"generic:{rx.generic_url}", "--upload-token=s3cret")
        try:
            ran = run_target("null_deref")
            rec = w.records_for(ran.pid, "snapshot")
            wait_until(lambda: of_pid(rx, ran.pid), what="the upload")
            (req,) = of_pid(rx, ran.pid)
            # The backend has it once it answered: the file leaves the spool then (a
            # stop before the answer keeps it for the next start, by design).
            wait_until(lambda: spooled(tmp_path) == [], what="the file to leave the spool")
        finally:
            assert w.stop() == 0
    assert req.parsed["uuid"] == os.path.basename(rec["path"])[:-len(".json")]
    assert req.parsed["threads"][0]["frames"][0]["function"] == "crash_null_deref"
    assert req.headers["authorization"] == "Bearer s3cret"
    assert spooled(tmp_path) == []
    assert w.counters()["uploaded"] >= 1


@pytest.mark.parametrize("kind", ["sentry", "backtrace"])
def test_crashwatch_upload_sends_each_backends_format(tmp_path, kind):
    snap_path = snapshot_of_a_live_process(tmp_path)
    with open(snap_path) as f:
        snap = json.load(f)
    with Receiver(mode=kind) as rx:
        where = rx.sentry_dsn if kind == "sentry" else rx.backtrace_endpoint
        out = subprocess.run([WATCHER, "upload", f"--upload={kind}:{where}",
                              f"--upload-token={rx.token}", str(tmp_path)],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        (req,) = rx.wait_for(1)
    assert "1 uploaded" in out.stdout and spooled(tmp_path) == []
    if kind == "sentry":
        event = req.parsed["event"]
        assert event["event_id"] == snap["uuid"].replace("-", "")
        assert len(event["threads"]["values"]) == 3
    else:
        assert req.parsed["uuid"] == snap["uuid"]
        assert len(req.parsed["threads"]) == 3


def test_nothing_is_lost_across_a_restart_while_the_backend_is_down(tmp_path):
    with Receiver(mode="generic") as rx:
        rx.down()
        w = upload_watcher(tmp_path, f"generic:{rx.generic_url}")
        try:
            ran = [run_target(t) for t in ("null_deref", "sigfpe")]
            for r in ran:
                w.records_for(r.pid, "snapshot")
            w.wait_stderr("will be retried in")
        finally:
            assert w.stop() == 0
        left = spooled(tmp_path)
        assert len(left) == 2  # kept: the backend never took them
        rx.up()
        w = upload_watcher(tmp_path, f"generic:{rx.generic_url}")
        try:
            reqs = rx.wait_for(2)
            wait_until(lambda: spooled(tmp_path) == [], what="an empty spool")
        finally:
            assert w.stop() == 0
    assert sorted(r.parsed["uuid"] + ".json" for r in reqs) == left
    assert len(rx.requests) == 2  # each once


def test_server_errors_are_retried_and_retry_after_is_honoured(tmp_path):
    with Receiver(mode="generic") as rx:
        rx.fail_next(status=500)
        rx.fail_next(status=429, retry_after=2)
        w = upload_watcher(tmp_path, f"generic:{rx.generic_url}")
        try:
            ran = run_target("null_deref")
            w.records_for(ran.pid, "snapshot")
            wait_until(lambda: [t for t in of_pid(rx, ran.pid) if t.status == 200], timeout=20,
                       what="the upload")
            # Once answered, the file leaves the spool (a stop before that keeps it).
            wait_until(lambda: spooled(tmp_path) == [], what="the file to leave the spool")
        finally:
            assert w.stop() == 0
    tries = of_pid(rx, ran.pid)
    assert [t.status for t in tries] == [500, 429, 200]
    assert tries[2].time - tries[1].time >= 1.9  # Retry-After: 2
    assert 0.4 <= tries[1].time - tries[0].time < 2  # the first backoff: 1 s, jittered
    assert spooled(tmp_path) == []


def test_a_refused_snapshot_moves_to_failed_with_the_reason(tmp_path):
    with Receiver(mode="generic") as rx:
        rx.fail_next(status=400, body="no such project")
        w = upload_watcher(tmp_path, f"generic:{rx.generic_url}")
        try:
            ran = run_target("null_deref")
            rec = w.records_for(ran.pid, "snapshot")
            w.wait_stderr("refused, moved to")
        finally:
            assert w.stop() == 0
    name = os.path.basename(rec["path"])
    assert spooled(tmp_path) == []
    assert os.path.exists(tmp_path / "failed" / name)
    reason = (tmp_path / "failed" / f"{name}.reason").read_text()
    assert "HTTP 400" in reason and "no such project" in reason


def test_sync_mode_uploads_before_the_next_record(tmp_path):
    with Receiver(mode="generic") as rx:
        rx.slow(0.5)
        w = upload_watcher(tmp_path, f"generic:{rx.generic_url}", "--upload-mode=sync")
        try:
            ran = run_target("null_deref")
            w.records_for(ran.pid, "snapshot")
            # The snapshot record is printed once the upload was answered.
            assert len(rx.requests) == 1
        finally:
            assert w.stop() == 0


def test_the_spool_is_bounded_oldest_dropped_first(tmp_path):
    with Receiver(mode="generic") as rx:
        rx.down()
        w = upload_watcher(tmp_path, f"generic:{rx.generic_url}", "--spool-max-files=2")
        try:
            recs = []
            for t in ("null_deref", "sigfpe", "sigill", "sigbus"):
                recs.append(w.records_for(run_target(t).pid, "snapshot"))
        finally:
            assert w.stop() == 0
    assert spooled(tmp_path) == sorted(os.path.basename(r["path"]) for r in recs[2:])
    assert w.counters()["spool_dropped"] == 2


def test_crashwatch_upload_says_what_is_left_when_the_backend_is_down(tmp_path):
    snapshot_of_a_live_process(tmp_path)
    with Receiver(mode="generic") as rx:
        rx.down()
        out = subprocess.run([WATCHER, "upload", f"--upload=generic:{rx.generic_url}",
                              "--wait=0", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "1 left" in out.stdout and "will be retried" in out.stderr
    bad = subprocess.run([WATCHER, "upload", "--upload=ftp:x", str(tmp_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "generic, sentry or backtrace" in bad.stderr
