"""Issue 5, item 3: one global rate limit on snapshots, one snapshot per crash
signature within a window; every crash beyond them counted and aggregated by
signature in the spool, never silently lost."""
import json
import os
import time

from conftest import Watcher, run_target


def spool_docs(spool):
    docs = []
    for name in os.listdir(spool):
        if name.endswith(".json") and not name.startswith("."):
            with open(os.path.join(spool, name)) as f:
                docs.append(json.load(f))
    return docs


def test_rate_limit_holds_in_a_crash_storm_and_counts_every_crash(tmp_path):
    w = Watcher("--hold", f"--spool={tmp_path}", "--rate-limit=1", "--rate-burst=5",
                "--dedup-window=0")
    pids = []
    try:
        w.wait_stderr("hold points:")
        t0 = time.monotonic()
        for i in range(200):
            # 200 crashes in 10 s: 20 a second against a limit of 1 a second.
            while time.monotonic() < t0 + i * 0.05:
                time.sleep(0.005)
            pids.append(run_target("null_deref").pid)
        elapsed = time.monotonic() - t0
        outcome = {}
        for pid in pids:
            rec = w.wait_for(lambda r, p=pid: r["pid"] == p and r["type"] in
                             ("snapshot", "suppressed"), what=f"the outcome of {pid}")
            outcome[pid] = rec
    finally:
        assert w.stop() == 0
    snapshots = [r for r in outcome.values() if r["type"] == "snapshot"]
    suppressed = [r for r in outcome.values() if r["type"] == "suppressed"]
    assert len(snapshots) + len(suppressed) == 200  # every crash counted
    assert len(snapshots) <= 5 + elapsed * 1 + 1, (len(snapshots), elapsed)
    assert len(snapshots) >= 5
    assert all(r["why"] == "rate-limited" for r in suppressed)
    # The watcher sees every crash on the host: count its records, not only ours.
    every_suppressed = [r for r in w.seen if r["type"] == "suppressed"]
    c = w.counters()
    assert c["suppressed_rate_limited"] == len(every_suppressed)
    assert c["aggregated_crashes_lost"] == 0
    # In the spool: the snapshots, and the suppressed crashes aggregated by signature.
    docs = spool_docs(tmp_path)
    aggregates = [d for d in docs if "aggregate" in d]
    assert len(docs) - len(aggregates) == len([r for r in w.seen if r["type"] == "snapshot"])
    assert sum(a["aggregate"]["rate_limited"] for a in aggregates) == len(every_suppressed)
    (agg,) = [a for a in aggregates if a["process"]["exe"].endswith("/null_deref")]
    assert agg["capture"]["partial"] is True
    assert agg["threads"][0]["frames"][0]["function"] == "crash_null_deref"


def test_crashes_alike_are_counted_on_their_first_snapshot(tmp_path):
    w = Watcher("--hold", f"--spool={tmp_path}")
    try:
        w.wait_stderr("hold points:")
        # The first one's snapshot is written (after its process died) before the
        # others come: counted_on names it then.
        ran = [run_target("null_deref")]
        first = w.records_for(ran[0].pid, "snapshot")
        assert first["path"] and first["tool_status"] == 0
        uuid = os.path.basename(first["path"])[:-len(".json")]
        ran += [run_target("null_deref") for _ in range(4)]
        for i, r in enumerate(ran[1:], 1):
            dup = w.records_for(r.pid, "suppressed")
            assert dup["why"] == "duplicate" and dup["counted_on"] == uuid
            assert dup["count"] == i
        other = run_target("sigfpe")  # another signature: snapshotted as usual
        assert w.records_for(other.pid, "snapshot")["path"]
    finally:
        assert w.stop() == 0
    assert w.counters()["suppressed_duplicate"] == 4
    (agg,) = [d for d in spool_docs(tmp_path) if "aggregate" in d]
    assert agg["aggregate"]["counted_on"] == uuid
    assert agg["aggregate"]["duplicates"] == 4 and agg["aggregate"]["count"] == 4
    assert agg["attributes"]["crashwatch.aggregate_count"] == "4"
