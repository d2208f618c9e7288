"""A watcher whose stdout nobody reads still holds and snapshots crashes.

Its records queue in front of stdout (user/watch/output_queue.c); when the queue is
full, whole records are dropped and counted, never half a line, and the loop that
answers core dumps never waits on the reader.
"""
import fcntl
import json
import os
import re
import signal
import subprocess
import time

from conftest import TARGETS, WATCHER, host_core_settings  # noqa: F401

F_SETPIPE_SZ = 1031
EXITS = 6000  # about 1.5 MiB of exit records: more than the 1 MiB queue and the pipe


def stderr_text(path):
    with open(path) as f:
        return f.read()


def wait_for(what, cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout} s")


def read_until_closed(fd, proc, timeout):
    """All bytes of the pipe until its writers are gone (or timeout)."""
    os.set_blocking(fd, False)
    out, ended = b"", None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            if proc.poll() is not None:
                ended = ended or time.monotonic()
                if time.monotonic() - ended > 3:  # its helpers hold the pipe a moment
                    break
            time.sleep(0.01)
            continue
        if not chunk:
            break
        out += chunk
    return out


def test_a_stalled_stdout_costs_records_not_crash_handling(tmp_path, host_core_settings):
    spool = tmp_path / "spool"
    err_path = tmp_path / "stderr"
    r, wfd = os.pipe()
    fcntl.fcntl(r, F_SETPIPE_SZ, 4096)  # the smallest pipe: full after a few records
    with open(err_path, "w") as err:
        proc = subprocess.Popen([WATCHER, "watch", "--config=", "--json", "--hold",
                                 f"--spool={spool}", "--nonzero-exit"],
                                stdout=wfd, stderr=err)
    os.close(wfd)
    try:
        wait_for("the watcher started", lambda: "crashwatch: watching " in
                 stderr_text(err_path), 30)
        # Nobody reads r: exit records fill the pipe, then the queue.
        for _ in range(EXITS):
            pid = os.fork()
            if pid == 0:
                os._exit(3)
            os.waitpid(pid, 0)
        said = wait_for("the watcher said its stdout is not read", lambda: re.search(
            r"stdout is not being read: (\d+) records dropped", stderr_text(err_path)), 30)
        assert int(said.group(1)) > 0

        # A crash now is still held, snapshotted and let die as it would have.
        t = subprocess.Popen([os.path.join(TARGETS, "null_deref")], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        assert t.wait(timeout=60) == -signal.SIGSEGV
        snaps = wait_for("a snapshot in the spool", lambda: [
            f for f in os.listdir(spool) if f.endswith(".json") and not f.startswith(".")
            and ".timeline." not in f], 30)
        with open(spool / snaps[0]) as f:
            assert json.load(f)["process"]["pid"] == t.pid

        # Stopping: read everything that is left while the watcher drains and ends.
        proc.send_signal(signal.SIGTERM)
        out = read_until_closed(r, proc, 30)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(r)

    lines = out.decode().splitlines()
    recs = [json.loads(l) for l in lines]  # whole records only: each line parses
    assert out.endswith(b"\n")
    counters = [l for l in stderr_text(err_path).splitlines()
                if l.startswith("crashwatch: counters:")]
    assert counters, stderr_text(err_path)
    c = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters[-1])}
    assert c["stdout_dropped_lines"] > 0
    assert c["stderr_dropped_lines"] == 0
    exits = [x for x in recs if x["type"] == "exit"]
    assert exits, "the records before the stall were written"
    # What was not read was counted: nothing is lost silently.
    assert len(recs) + c["stdout_dropped_lines"] >= c["exits_emitted"] >= EXITS
