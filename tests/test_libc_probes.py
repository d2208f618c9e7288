"""Issue 4, item 2: abort() is held in every libc processes use, not only the
host's: a container's libc is another file (another inode), and uprobes are
per inode.  A private mount namespace with a copy of the host's libc bound
over it stands for a container: the same code, another file.  The bind mount
vanishes with the namespace; the copy is removed at the end."""
import json
import os
import re
import shutil
import signal
import subprocess

from conftest import TARGETS, Watcher, finish, no_core


def hold_watcher(tmp_path, *args):
    # Hold points, not admission: crashes alike are each snapshotted here.
    return Watcher("--hold", f"--spool={tmp_path / 'spool'}", "--dedup-window=0",
                   "--rate-limit=0", *args)


def host_libc(w):
    """Where the watcher probes the host's abort(), as its start-up line says."""
    line = w.wait_stderr(r"hold points:")
    assert "and in the libcs of other mount namespaces (containers)" in line, line
    return re.search(r"abort\(\) in (/\S+)", line).group(1)


def start_with_private_libc(copy, libc, *args):
    """build/tests/targets/abort in a mount namespace of its own where libc is the copy."""
    return subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", str(copy), libc,
         os.path.join(TARGETS, "abort"), *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=no_core,
    )


def start_in_overlay(image, tmp, libc, *args):
    """The same, libc bound from an overlayfs mount of image (a container of that image)."""
    for d in ("upper", "work", "merged"):
        (tmp / d).mkdir(parents=True)
    return subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" && '
         'mount --bind "$4/libc.so.6" "$5" && shift 5 && exec "$@"', "sh", str(image),
         str(tmp / "upper"), str(tmp / "work"), str(tmp / "merged"), libc,
         os.path.join(TARGETS, "abort"), *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=no_core,
    )


def mount_ns(pid):
    return re.search(r"\d+", os.readlink(f"/proc/{pid}/ns/mnt")).group(0)


def ready(proc, libc):
    """Its pid (unshare, sh and the target are one process), once its libc is the copy."""
    assert proc.stdout.readline().strip() == f"pid={proc.pid}"
    # The premise: the libc it runs on is another file than the host's.
    assert os.stat(f"/proc/{proc.pid}/root{libc}").st_ino != os.stat(libc).st_ino
    return mount_ns(proc.pid)


def release(proc):
    proc.stdin.write("go\n")
    proc.stdin.close()
    return finish(proc)


def kill(proc):
    if proc and proc.returncode is None:
        proc.kill()
        proc.wait()


def assert_held_at_abort(w, ran):
    assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGABRT
    ab = w.records_for(ran.pid, "abort")
    assert ab["signal"]["name"] == "SIGABRT"
    snap = w.records_for(ran.pid, "snapshot")
    assert snap["tool_status"] == 0 and snap["path"]
    # Released, abort() raised SIGABRT: delivered and fatal as always, the same wait status.
    assert w.records_for(ran.pid, "signal")["signal"]["code_name"] == "SI_TKILL"
    ex = w.records_for(ran.pid, "exit")
    assert ex["status"] == ran.status and ex["killed_by"] == "SIGABRT"
    return snap["path"]


def assert_abort_is_frame_0(path):
    with open(path) as f:
        snap = json.load(f)
    assert snap["classifiers"] == ["SIGABRT", "abort"]
    (t,) = [t for t in snap["threads"] if t["faulted"]]
    names = [f["function"] for f in t["frames"]]
    assert names[0] == "abort", names
    assert "do_abort" in names and "main" in names


def test_abort_in_another_mount_namespaces_libc_is_held_at_its_entry(tmp_path):
    w = hold_watcher(tmp_path)
    copy = tmp_path / "libc.so.6"
    proc = None
    try:
        libc = host_libc(w)
        shutil.copy(libc, copy)
        proc = start_with_private_libc(copy, libc, "wait")
        mnt = ready(proc, libc)
        # It aborts only once the watcher said it probes that libc: no race here.
        w.wait_stderr(rf"probing abort\(\) in {re.escape(libc)}, the libc of pid \d+ "
                      rf"\(.*\) in mount namespace {mnt}$")
        ran = release(proc)
        path = assert_held_at_abort(w, ran)
    finally:
        kill(proc)
        assert w.stop() == 0
        copy.unlink(missing_ok=True)
    assert_abort_is_frame_0(path)
    c = w.counters()
    assert c["libcs_probed"] == 2 and c["libcs_skipped"] == 0 and c["libc_probes_failed"] == 0
    assert c["execs_new"] >= 1


def test_the_first_process_may_win_the_race_the_next_ones_cannot(tmp_path):
    """A process that aborts at once, in a libc never seen, races the watcher's
    probe: it is held at abort() or, losing that, in its core dump; either way
    it dies as it would.  Once the libc is probed, a process started later
    with it is held at abort() whatever it does."""
    w = hold_watcher(tmp_path)
    copy = tmp_path / "libc.so.6"
    try:
        libc = host_libc(w)
        shutil.copy(libc, copy)
        first = finish(start_with_private_libc(copy, libc))
        assert os.WIFSIGNALED(first.status) and os.WTERMSIG(first.status) == signal.SIGABRT
        assert w.records_for(first.pid, "snapshot")["tool_status"] == 0
        assert w.records_for(first.pid, "exit")["status"] == first.status
        w.wait_stderr(rf"probing abort\(\) in {re.escape(libc)}, the libc of pid")
        # Another namespace, the same file: probed before this one starts.
        second = finish(start_with_private_libc(copy, libc))
        path = assert_held_at_abort(w, second)
    finally:
        assert w.stop() == 0
        copy.unlink(missing_ok=True)
    assert_abort_is_frame_0(path)


def test_two_containers_of_one_image_share_one_probe(tmp_path):
    """overlayfs shows each container its own device for the file below, which
    the uprobe goes to: probed once, and each abort held once."""
    w = hold_watcher(tmp_path)
    image = tmp_path / "image"
    procs = []
    try:
        libc = host_libc(w)
        image.mkdir()
        shutil.copy(libc, image / "libc.so.6")
        procs.append(start_in_overlay(image, tmp_path / "a", libc, "wait"))
        mnt = ready(procs[0], libc)
        w.wait_stderr(rf"probing abort\(\) in {re.escape(libc)}, the libc of pid \d+ "
                      rf"\(.*\) in mount namespace {mnt}$")
        procs.append(start_in_overlay(image, tmp_path / "b", libc, "wait"))
        ready(procs[1], libc)
        # The premise: one file below, two devices above.
        a, b = (os.stat(f"/proc/{p.pid}/root{libc}") for p in procs)
        assert a.st_ino == b.st_ino and a.st_dev != b.st_dev
        ran = [release(p) for p in procs]
        paths = [assert_held_at_abort(w, r) for r in ran]
    finally:
        for p in procs:
            kill(p)
        assert w.stop() == 0
        shutil.rmtree(image, ignore_errors=True)
    for r in ran:
        assert len([x for x in w.seen if x["type"] == "abort" and x["pid"] == r.pid]) == 1
    for path in paths:
        assert_abort_is_frame_0(path)
    assert len([l for l in w.stderr_lines if "crashwatch: probing abort()" in l]) == 1
    assert w.counters()["libcs_probed"] == 2


def test_libcs_past_the_bound_are_skipped_counted_and_held_in_their_core_dump(tmp_path):
    w = hold_watcher(tmp_path, "--max-libcs=1")  # the host's libc takes the one place
    copy = tmp_path / "libc.so.6"
    proc = None
    try:
        libc = host_libc(w)
        shutil.copy(libc, copy)
        proc = start_with_private_libc(copy, libc, "wait")
        mnt = ready(proc, libc)
        w.wait_stderr(rf"not probing abort\(\) in {re.escape(libc)} \(pid \d+, mount "
                      rf"namespace {mnt}\): 1 libcs are probed already \(--max-libcs\)")
        ran = release(proc)
        assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGABRT
        assert w.records_for(ran.pid, "snapshot")["tool_status"] == 0  # the core-dump hold
        assert w.records_for(ran.pid, "exit")["status"] == ran.status
    finally:
        kill(proc)
        assert w.stop() == 0
        copy.unlink(missing_ok=True)
    assert not [r for r in w.seen if r["type"] == "abort" and r["pid"] == ran.pid]
    c = w.counters()
    assert c["libcs_probed"] == 1 and c["libcs_skipped"] >= 1

