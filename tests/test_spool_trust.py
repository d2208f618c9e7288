"""Issue 12, rows 1 and 2: the spool (and /run/crashwatch) must be root's alone
and take files before the watcher starts; nothing read back from it is trusted
beyond its schema; a spool that stops taking files is said, counted, and every
crash still gets its outcome record."""
import contextlib
import os
import signal
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import TARGETS, WATCHER, Watcher, run_target, wait_until
from receiver import Receiver
from test_hold import start_ticks_ns, state
from test_upload import snapshot_of_a_live_process, spooled

NOBODY = 65534


def watch_exits(*args):
    """A watcher that must refuse to start: its exit status and what it said."""
    r = subprocess.run([WATCHER, "watch", "--config=", "--json", *args], capture_output=True,
                       text=True, timeout=60)
    return r.returncode, r.stderr


@contextlib.contextmanager
def tmpfs(where, options):
    """A tmpfs mounted for the test, unmounted whatever happens."""
    where.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "cw-test", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_spool_owned_by_another_user_is_refused_naming_the_fix(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    os.chown(spool, NOBODY, NOBODY)
    rc, err = watch_exits("--hold", f"--spool={spool}")
    assert rc == 1, err
    assert f"cannot use the spool {spool}: {spool} is owned by uid {NOBODY}, not root" in err
    assert f"fix: chown root: {spool}" in err
    # crashwatch upload reads the same spool and sends it with the token.
    r = subprocess.run([WATCHER, "upload", "--upload=generic:http://127.0.0.1:9/x", str(spool)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and f"chown root: {spool}" in r.stderr, r.stderr


def test_a_group_writable_spool_or_parent_is_refused(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    os.chmod(spool, 0o770)
    rc, err = watch_exits("--hold", f"--spool={spool}")
    assert rc == 1, err
    assert f"{spool} is writable by group or others (mode 0770)" in err
    assert f"fix: chmod go-w {spool}" in err
    # A parent: whoever can write it can put another spool in its place.
    os.chmod(spool, 0o700)
    os.chmod(tmp_path, 0o777)
    try:
        rc, err = watch_exits("--no-hold", "--upload=generic:http://127.0.0.1:9/x",
                              f"--spool={spool}")
    finally:
        os.chmod(tmp_path, 0o700)
    assert rc == 1 and f"{tmp_path} is writable by group or others" in err, err


def test_run_crashwatch_must_be_roots_alone():
    state_dir = "/run/crashwatch"
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    before = os.stat(state_dir)
    os.chmod(state_dir, 0o777)
    try:
        with tempfile.TemporaryDirectory() as spool:
            rc, err = watch_exits("--hold", f"--spool={spool}")
    finally:
        os.chmod(state_dir, stat.S_IMODE(before.st_mode))
    assert rc == 1, err
    assert "cannot use /run/crashwatch: /run/crashwatch is writable by group or others" in err
    assert "fix: chmod go-w /run/crashwatch" in err


@pytest.mark.parametrize("kind", ["file", "devnull"])
def test_a_spool_that_is_not_a_directory_is_refused(tmp_path, kind):
    spool = "/dev/null" if kind == "devnull" else tmp_path / "spool"
    if kind == "file":
        spool.write_text("not a directory\n")
    rc, err = watch_exits("--hold", f"--spool={spool}")
    assert rc == 1, err
    assert f"cannot use the spool {spool}: {spool} is not a directory" in err


def test_a_read_only_spool_is_refused(tmp_path):
    with tmpfs(tmp_path / "ro", "ro,mode=0700,size=64k") as spool:
        rc, err = watch_exits("--hold", f"--spool={spool}")
    assert rc == 1, err
    assert f"cannot use the spool {spool}: failed to create a file in {spool}: " \
           "Read-only file system" in err


def test_a_planted_hold_for_another_process_is_not_released(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    proc = subprocess.Popen([os.path.join(TARGETS, "wait_for_kill")], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.2)
        os.kill(proc.pid, signal.SIGSTOP)
        wait_until(lambda: state(proc.pid) == "T", what="the stop")
        # Its pid, but the start time of another process; and a line that is no hold.
        other = start_ticks_ns(proc.pid) + 1_000_000_000
        (spool / ".held").write_text(f"{proc.pid} {other} 0\n{proc.pid}abc {other} 0\n")
        w = Watcher("--hold", f"--spool={spool}")
        try:
            w.wait_stderr(r"ignoring line 2 of the hold registry .*\.held: not \"PID "
                          r"START_BOOTTIME_NS DEADLINE_BOOTTIME_NS\"")
            time.sleep(1.0)  # the watchdog has looked twice meanwhile
            assert state(proc.pid) == "T"
            assert not any("released" in l for l in w.stderr_lines), w.stderr_lines
        finally:
            assert w.stop() == 0
        assert state(proc.pid) == "T"  # nor by the watchdog at the watcher's end
    finally:
        proc.kill()
        proc.wait()


def test_a_planted_snapshot_not_roots_is_never_uploaded(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    planted = snapshot_of_a_live_process(spool)  # well-formed, as the tool writes them
    os.chown(planted, NOBODY, NOBODY)
    fifo = spool / "0b7e1c36-3a47-4c5e-9d8e-2f0c2b6f1a10.json"
    os.mkfifo(fifo, 0o600)
    name = os.path.basename(planted)
    with Receiver(mode="generic") as rx:
        r = subprocess.run([WATCHER, "upload", f"--upload=generic:{rx.generic_url}",
                            f"--upload-token={rx.token}", str(spool)],
                           capture_output=True, text=True, timeout=60)
        time.sleep(0.2)
        assert rx.log == []
    assert r.returncode == 0, r.stderr
    assert "0 uploaded, 2 refused" in r.stdout, r.stdout
    assert spooled(spool) == []
    reason = (spool / "failed" / f"{name}.reason").read_text()
    assert f"owned by uid {NOBODY}" in reason and "not sent" in reason
    assert "not a regular file" in (spool / "failed" / f"{fifo.name}.reason").read_text()


def test_a_full_spool_is_said_counted_and_the_record_still_comes(tmp_path):
    with tmpfs(tmp_path / "full", "mode=0700,size=64k") as spool:
        fd = os.open(spool / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
        os.close(fd)
        w = Watcher("--hold", f"--spool={spool}", "--dedup-window=0", "--rate-limit=0")
        try:
            ran = run_target("null_deref")
            rec = w.records_for(ran.pid, "snapshot")
            ran2 = run_target("abort")
            rec2 = w.records_for(ran2.pid, "snapshot")
        finally:
            rc = w.stop()
        assert rc == 0, w.stderr_lines
    assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGSEGV
    for r in (rec, rec2):
        assert r["path"] is None and r["partial"], r
        assert "No space left on device" in r["why_partial"], r
    assert "could not write the snapshot into the spool" in rec["why_partial"], rec
    said = [l for l in w.stderr_lines if "failed to write the snapshot of" in l]
    assert len(said) == 1, w.stderr_lines  # once a minute, however many
    assert f"Free or fix the spool {spool}" in said[0]
    assert w.counters()["spool_write_failed"] >= 2
