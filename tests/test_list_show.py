"""Issue 18, items 1 and 2: `crashwatch list` and `crashwatch show`, after real
crashes: held fully, partially (a failing snapshot tool), suppressed (over the
rate limit) and uploaded to a local backend; the index outlives the uploads and
the watcher, and `show` still finds a snapshot once it was uploaded."""
import json
import os
import subprocess

from conftest import WATCHER, Watcher, run_target, wait_until
from receiver import Receiver


def cw(*args):
    return subprocess.run([WATCHER, *args], capture_output=True, text=True, timeout=60)


def listed(spool, *args):
    r = cw("list", "--json", f"--spool={spool}", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def outcome(w, pid):
    return w.wait_for(lambda r: r["pid"] == pid and r["type"] in ("snapshot", "suppressed"),
                      30, f"the outcome of {pid}")


def waiting(spool):
    return [n for n in os.listdir(spool) if n.endswith(".json") and not n.startswith(".")]


def test_list_and_show_full_suppressed_and_uploaded_crashes_across_a_restart(tmp_path):
    spool = tmp_path / "spool"
    with Receiver(mode="generic") as rx:
        # Two snapshots' worth of tokens, refilled too slowly to matter: the rest is suppressed.
        w = Watcher("--hold", f"--spool={spool}", f"--upload=generic:{rx.generic_url}",
                    "--rate-limit=0.001", "--rate-burst=2", "--dedup-window=0")
        try:
            w.wait_stderr("hold points:")
            seg = run_target("null_deref")
            rec_seg = outcome(w, seg.pid)
            abo = run_target("abort")
            rec_abo = outcome(w, abo.pid)
            sup = run_target("segv_handler_exit")
            rec_sup = outcome(w, sup.pid)
            wait_until(lambda: not waiting(spool), 30, "the uploads")
        finally:
            assert w.stop() == 0
        sent = {json.loads(r.body)["uuid"]: json.loads(r.body) for r in rx.log}
    assert rec_seg["type"] == rec_abo["type"] == "snapshot", (rec_seg, rec_abo)
    assert rec_sup["type"] == "suppressed", rec_sup
    # A second watcher later adds to the same index.
    w = Watcher("--hold", f"--spool={spool}")
    try:
        w.wait_stderr("hold points:")
        late = run_target("null_deref")
        rec_late = outcome(w, late.pid)
    finally:
        assert w.stop() == 0

    ours = {c["pid"]: c for c in listed(spool) if c["pid"] in
            (seg.pid, abo.pid, sup.pid, late.pid)}
    assert len(ours) == 4, ours
    order = [c["pid"] for c in listed(spool) if c["pid"] in ours]
    assert order == [late.pid, sup.pid, abo.pid, seg.pid]  # newest first
    url = rx.generic_url.split("/generic")[0]
    for pid, rec, held_at, sig in ((seg.pid, rec_seg, "core", "SIGSEGV"),
                                   (abo.pid, rec_abo, "abort", "SIGABRT")):
        c = ours[pid]
        uuid = os.path.basename(rec["path"])[:-len(".json")]
        assert (c["snapshot"], c["held_at"], c["signal"], c["id"]) == \
            ("full", held_at, sig, uuid)
        assert c["cause"] == sent[uuid]["cause"]
        assert c["uploaded_to"] == f"generic:{url}", c
        assert c["exe"].endswith("/null_deref" if pid == seg.pid else "/abort")
    c = ours[sup.pid]
    assert (c["snapshot"], c["held_at"], c["id"], c["uploaded_to"]) == \
        ("suppressed", "handler", None, None)
    c = ours[late.pid]
    assert (c["snapshot"], c["uploaded_to"]) == ("full", None)
    assert c["id"] == os.path.basename(rec_late["path"])[:-len(".json")]

    # The readable list: one row a crash, its id and cause on it.
    r = cw("list", f"--spool={spool}")
    assert r.returncode == 0 and r.stdout.startswith("TIME"), r
    (row,) = [l for l in r.stdout.splitlines() if f" {seg.pid} " in l]
    assert ours[seg.pid]["id"] in row and ours[seg.pid]["cause"] in row and "SIGSEGV" in row
    assert listed(spool, "--since=2099-01-01") == []
    assert {c["pid"] for c in listed(spool, "--since=1h")} >= set(ours)

    # show, by pid and by a prefix of the id, of a snapshot that was uploaded.
    seg_id = ours[seg.pid]["id"]
    by_pid = cw("show", f"--spool={spool}", str(seg.pid))
    by_id = cw("show", f"--spool={spool}", seg_id[:8])
    assert by_pid.returncode == 0, by_pid.stderr
    assert by_pid.stdout == by_id.stdout
    lines = by_pid.stdout.splitlines()
    assert lines[0] == f"cause: {sent[seg_id]['cause']}"
    faulted = lines.index(next(l for l in lines if l.startswith(f"faulted thread {seg.pid}")))
    assert "crash_null_deref" in lines[faulted + 1]
    modules, attributes = lines.index("modules:"), lines.index("attributes:")
    assert faulted < modules < attributes
    assert any("libc.so.6" in l for l in lines[modules:attributes])
    assert f"uploaded to generic:{url}" in by_pid.stdout
    doc = json.loads(cw("show", "--json", f"--spool={spool}", seg_id).stdout)
    assert doc == sent[seg_id]
    # A suppressed crash has no snapshot of its own: said, not shown.
    r = cw("show", f"--spool={spool}", str(sup.pid))
    assert r.returncode == 1 and "suppressed" in r.stderr, r
    r = cw("show", f"--spool={spool}", "99999999")
    assert r.returncode == 1 and "no crash of pid 99999999" in r.stderr, r


def test_list_and_show_a_partial_snapshot(tmp_path):
    tool = tmp_path / "failing-tool"
    tool.write_text("#!/bin/sh\nexit 1\n")
    tool.chmod(0o755)
    spool = tmp_path / "spool"
    w = Watcher("--hold", f"--spool={spool}", f"--snapshot-tool={tool}")
    try:
        w.wait_stderr("hold points:")
        ran = run_target("null_deref")
        rec = outcome(w, ran.pid)
    finally:
        assert w.stop() == 0
    assert rec["partial"] is True
    (c,) = [c for c in listed(spool) if c["pid"] == ran.pid]
    assert (c["snapshot"], c["held_at"]) == ("partial", "core")
    with open(rec["path"]) as f:
        doc = json.load(f)
    assert c["cause"] == doc["cause"] and doc["cause"].startswith("null pointer dereference")
    # By its file, too.
    r = cw("show", rec["path"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == f"cause: {doc['cause']}"
    assert "bpf-first-capture (partial)" in r.stdout


def test_list_skips_lines_that_are_not_entries_and_refuses_a_foreign_index(tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    index = spool / ".index.jsonl"
    good = {"event": "crash", "time": "2026-12-01T10:00:00.000000Z", "pid": 7, "tid": 7,
            "comm": "x", "exe": "/bin/x", "signal": "SIGSEGV", "cause": "c", "id": None,
            "snapshot": "none", "held_at": "none"}
    index.write_text("\n".join([
        json.dumps(good), "not json", json.dumps({**good, "pid": "7"}),
        json.dumps({**good, "snapshot": "eaten"}), json.dumps({**good, "signal": "SIGNOPE"}),
        "{" * 100000]) + "\n")
    index.chmod(0o600)
    r = cw("list", "--json", "--since=3650d", f"--spool={spool}")
    assert r.returncode == 0, r.stderr
    assert [c["pid"] for c in json.loads(r.stdout)] == [7]
    assert "5 line(s)" in r.stderr
    index.chmod(0o666)
    r = cw("list", f"--spool={spool}")
    assert r.returncode == 1 and "not writable by others" in r.stderr, r
