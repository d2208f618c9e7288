"""Issue 12, row 5: a backend that never answers (or answers too late) never
delays a shutdown, one request is bounded by --upload-timeout, and every try
of one snapshot carries the same idempotency key."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import WATCHER, Watcher, run_target, wait_until
from receiver import Receiver
from test_upload import snapshot_of_a_live_process, spooled


def tries_of(rx, uuid):
    """Every request about one snapshot, answered or not, in order."""
    out = []
    for r in rx.log:
        try:
            doc = json.loads(r.body)
        except ValueError:
            doc = None
        if doc is not None and doc.get("uuid") == uuid:
            out.append(r)
    return out


@pytest.mark.parametrize("sig,mode", [(signal.SIGTERM, "async"), (signal.SIGINT, "async"),
                                      (signal.SIGTERM, "sync")],
                         ids=["SIGTERM", "SIGINT", "SIGTERM-sync"])
def test_the_watcher_stops_at_once_while_the_backend_never_answers(tmp_path, sig, mode):
    with Receiver(mode="generic") as rx:
        rx.hang()
        w = Watcher("--hold", f"--spool={tmp_path}", f"--upload=generic:{rx.generic_url}",
                    f"--upload-mode={mode}")
        try:
            ran = run_target("null_deref")
            # In sync mode the snapshot record waits for the upload: look at the request.
            wait_until(lambda: rx.log, what="the upload to be in flight")
            uuid = json.loads(rx.log[0].body)["uuid"]
            time.sleep(0.3)  # well into the wait for an answer
        finally:
            t0 = time.monotonic()
            rc = w.stop(sig)
            took = time.monotonic() - t0
        assert rc == 0, w.stderr_lines
        assert took < 2.0, f"the watcher took {took:.1f} s to stop"
        (req,) = tries_of(rx, uuid)
        assert req.status is None  # it never got an answer
        assert req.headers["Idempotency-Key"] == uuid
    rec = w.records_for(ran.pid, "snapshot")
    name = os.path.basename(rec["path"])
    assert name == f"{uuid}.json" and name in spooled(tmp_path)  # kept for the next start
    assert any(f"upload of {name} stopped: it stays in {tmp_path}" in l for l in w.stderr_lines)
    assert not any("did not finish in time" in l for l in w.stderr_lines)
    assert w.counters()["upload_retries"] == 0  # a stop is not a failure of the backend


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_crashwatch_upload_stops_at_once_while_the_backend_never_answers(tmp_path, sig):
    path = snapshot_of_a_live_process(tmp_path)
    name = os.path.basename(path)
    with Receiver(mode="generic") as rx:
        rx.hang()
        proc = subprocess.Popen([WATCHER, "upload", f"--upload=generic:{rx.generic_url}",
                                 "--wait=600", str(tmp_path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: rx.log, what="the upload to be in flight")
            time.sleep(0.3)
            t0 = time.monotonic()
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=10)
            took = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert took < 2.0, f"crashwatch upload took {took:.1f} s to stop"
    assert proc.returncode == 1, err  # snapshots are left
    assert f"upload of {name} stopped: it stays in {tmp_path}" in err
    assert "stopped by a signal" in err
    assert "0 uploaded" in out and "1 left" in out
    assert spooled(tmp_path) == [name]


def test_a_slow_backend_gets_every_try_with_the_same_idempotency_key(tmp_path):
    path = snapshot_of_a_live_process(tmp_path)
    uuid = os.path.basename(path)[:-len(".json")]
    with Receiver(mode="generic") as rx:
        rx.slow(4)  # longer than --upload-timeout: each try is given up
        proc = subprocess.Popen([WATCHER, "upload", f"--upload=generic:{rx.generic_url}",
                                 "--upload-timeout=1", "--wait=60", str(tmp_path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: len(tries_of(rx, uuid)) >= 3, timeout=20, what="3 tries")
            rx.slow(0)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        tries = tries_of(rx, uuid)
    assert proc.returncode == 0, err
    assert "Timeout was reached" in err or "timed out" in err
    assert len(tries) >= 4  # 3 given up, then the one answered in time
    assert {t.headers["Idempotency-Key"] for t in tries} == {uuid}
    assert "1 uploaded" in out and spooled(tmp_path) == []


def test_sentry_event_id_is_the_same_on_every_retry(tmp_path):
    with Receiver(mode="sentry") as rx:
        rx.slow(3)
        w = Watcher("--hold", f"--spool={tmp_path}", f"--upload=sentry:{rx.sentry_dsn}",
                    "--upload-timeout=1")
        try:
            ran = run_target("null_deref")
            rec = w.records_for(ran.pid, "snapshot")
            uuid = os.path.basename(rec["path"])[:-len(".json")]
            event_id = uuid.replace("-", "")

            def tries():
                return [r for r in rx.log
                        if r.parsed and r.parsed["event"]["event_id"] == event_id]

            wait_until(lambda: len(tries()) >= 2, timeout=20, what="2 tries")
            rx.slow(0)
            wait_until(lambda: spooled(tmp_path) == [], timeout=20, what="an empty spool")
        finally:
            assert w.stop() == 0
        got = tries()
    assert len(got) >= 3  # 2 given up, then the one answered in time
    assert {r.parsed["header"]["event_id"] for r in got} == {event_id}
    c = w.counters()
    assert c["uploaded"] >= 1 and c["upload_retries"] >= 2


def test_upload_timeout_is_refused_when_it_is_not_seconds(tmp_path):
    for args in (["watch", "--config=", "--upload-timeout=0"],
                 ["upload", "--upload=generic:http://127.0.0.1:9/x", "--upload-timeout=12abc",
                  str(tmp_path)]):
        out = subprocess.run([WATCHER, *args], capture_output=True, text=True, timeout=30)
        assert out.returncode == 2, out.stderr
        assert "bad --upload-timeout" in out.stderr and "give seconds from 1 to 3600" in out.stderr
    out = subprocess.run([WATCHER, "watch", "--help"], capture_output=True, text=True)
    assert "--upload-timeout=SEC" in out.stdout
