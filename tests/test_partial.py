"""Issue 4, item 5: where no hold point catches a crash, or the snapshot tool
fails, the kernel's first capture of the faulting thread becomes a snapshot,
marked partial, so that no crash goes without one."""
import json
import os
import signal

import pytest

from conftest import Watcher, run_target

SUID_DUMPABLE = "/proc/sys/fs/suid_dumpable"


def load(rec):
    assert rec["path"], rec
    with open(rec["path"]) as f:
        return json.load(f)


def assert_partial_of_null_deref(snap, pid):
    assert snap["version"] == 1
    assert snap["capture"]["method"] == "bpf-first-capture"
    assert snap["capture"]["partial"] is True
    assert snap["process"]["pid"] == pid
    assert snap["classifiers"] == ["SIGSEGV", "SEGV_MAPERR", "null-pointer-dereference"]
    assert snap["signal"]["address"] == "0x0"
    (t,) = snap["threads"]
    assert t["faulted"] and t["tid"] == pid
    names = [f["function"] for f in t["frames"]]
    assert names[:2] == ["crash_null_deref", "caller"], names
    assert t["registers"]["rip"] == t["frames"][0]["pc"]
    assert any(m["build_id"] for m in snap["modules"])


@pytest.fixture
def not_dumpable_skips_core():
    """fs.suid_dumpable 0: the kernel writes no core for a non-dumpable process."""
    with open(SUID_DUMPABLE) as f:
        saved = f.read().strip()
    with open(SUID_DUMPABLE, "w") as f:
        f.write("0")
    yield
    with open(SUID_DUMPABLE, "w") as f:
        f.write(saved)


def test_a_crash_no_hold_catches_gets_a_partial_snapshot(tmp_path, not_dumpable_skips_core):
    w = Watcher("--hold", f"--spool={tmp_path}")
    try:
        w.wait_stderr("hold points:")
        ran = run_target("null_deref", "undumpable")
        assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGSEGV
        assert not os.WCOREDUMP(ran.status)  # no dump: no core-dump hold
        w.records_for(ran.pid, "exit")
        rec = w.records_for(ran.pid, "snapshot")
        assert rec["partial"] is True and "no hold point" in rec["why_partial"]
    finally:
        assert w.stop() == 0
    assert w.counters()["partial_snapshots"] == 1
    assert_partial_of_null_deref(load(rec), ran.pid)


def test_a_failing_snapshot_tool_leaves_a_partial_snapshot(tmp_path):
    tool = tmp_path / "failing-tool"
    tool.write_text("#!/bin/sh\nexit 1\n")
    tool.chmod(0o755)
    w = Watcher("--hold", f"--spool={tmp_path / 'spool'}", f"--snapshot-tool={tool}")
    try:
        w.wait_stderr("hold points:")
        ran = run_target("null_deref")  # held by the core dump; the tool fails
        assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGSEGV
        rec = w.records_for(ran.pid, "snapshot")
        assert rec["partial"] is True and rec["tool_status"] == 1
        assert "exit status 1" in rec["why_partial"]
        w.records_for(ran.pid, "exit")
    finally:
        assert w.stop() == 0
    snaps = [r for r in w.seen if r["type"] == "snapshot" and r["pid"] == ran.pid]
    assert len(snaps) == 1, snaps  # not a second one at its exit
    assert_partial_of_null_deref(load(rec), ran.pid)
