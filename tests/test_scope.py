"""Issue 6: what a watcher watches.  --cgroup narrows it to real cgroup v2
cgroups and their descendants (made later too), in the kernel; a watcher in
its own pid namespace (a sidecar) sees only that namespace's processes, by
the pids it gives them, and says which hold points it has there."""
import json
import os
import re
import signal
import subprocess

import pytest

from conftest import (PATTERN, PIPE_LIMIT, TARGETS, WATCHER, Cgroup, Watcher, finish, read,
                      run_target, start_in_cgroup)


def crash_records(w, pid):
    return [r for r in w.seen if r.get("pid") == pid and r["type"] in ("signal", "exit")]


def test_only_crashes_in_watched_cgroups_and_below_are_reported():
    with Cgroup(f"cw-test-scope-{os.getpid()}") as top:
        watched, other = top.child("watched"), top.child("other")
        # One as /proc/PID/cgroup shows it, one by its absolute path.
        w = Watcher(f"--cgroup={watched.rel}", f"--cgroup={top.child('also').path}")
        try:
            assert w.wait_stderr(r"crashwatch: watching ").count(" and below") == 1
            outside = finish(start_in_cgroup(other, "null_deref"))
            on_host = run_target("sigfpe")
            inside = finish(start_in_cgroup(watched, "null_deref"))
            assert os.WTERMSIG(inside.status) == signal.SIGSEGV
            w.records_for(inside.pid, "signal")
            ex = w.records_for(inside.pid, "exit")
            assert ex["killed_by"] == "SIGSEGV"
            # A cgroup made under a watched one after the start is watched too.
            later = watched.child("made-later", "deeper")
            deep = finish(start_in_cgroup(later, "sigbus"))
            rec = w.records_for(deep.pid, "signal")
            assert rec["signal"]["name"] == "SIGBUS"
            assert rec["cgroup_id"] == os.stat(later.path).st_ino
            also = finish(start_in_cgroup(top.child("also"), "sigill"))
            w.records_for(also.pid, "signal")
        finally:
            assert w.stop() == 0
    # Outside: the kernel skipped them, and counted each it skipped.
    assert crash_records(w, outside.pid) == [] and crash_records(w, on_host.pid) == []
    assert w.counters()["out_of_scope"] >= 2


def test_a_default_action_crash_outside_the_cgroups_is_not_held(tmp_path, host_core_settings):
    spool = tmp_path / "spool"
    with Cgroup(f"cw-test-scope-hold-{os.getpid()}") as top:
        watched, other = top.child("watched"), top.child("other")
        w = Watcher("--hold", f"--spool={spool}", f"--cgroup={watched.rel}",
                    "--dedup-window=0", "--rate-limit=0")
        try:
            w.wait_stderr(r"default-action faults \(core dump")
            # core_pattern is the host's: the handler is asked, and told to go on.
            outside = finish(start_in_cgroup(other, "null_deref"), timeout=10)
            assert os.WTERMSIG(outside.status) == signal.SIGSEGV
            inside = finish(start_in_cgroup(watched, "null_deref"))
            snap = w.records_for(inside.pid, "snapshot")
            assert snap["tool_status"] == 0 and not snap["partial"]
        finally:
            assert w.stop() == 0
    assert crash_records(w, outside.pid) == []
    assert not [r for r in w.seen if r["type"] == "snapshot" and r["pid"] == outside.pid]
    with open(snap["path"]) as f:
        doc = json.load(f)
    assert doc["container"]["cgroup"] == watched.rel
    assert [p.name for p in spool.iterdir() if p.suffix == ".json"] == [
        os.path.basename(snap["path"])]


@pytest.mark.parametrize("arg", ["/cw-no-such-cgroup", "/proc", ""])
def test_a_cgroup_that_is_not_one_is_refused(arg):
    r = subprocess.run([WATCHER, "watch", "--config=", "--no-hold", f"--cgroup={arg}"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    assert f"bad --cgroup '{arg}'" in r.stderr
    assert "Traceback" not in r.stderr


def run_in_ns(watcher_pid, name, *args):
    """A target in the watcher's pid and mount namespaces.  nsenter -F does not
    fork: the sh it runs stays outside, and its children are born inside."""
    proc = subprocess.Popen(
        ["nsenter", "-t", str(watcher_pid), "-p", "-m", "-F", "--",
         "sh", "-c", 'ulimit -c 0; "$0" "$@" & wait $!; echo "rc=$?"',
         os.path.join(TARGETS, name), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=60)
    said = dict(re.findall(r"^(\w+)=(\d+)$", out, re.M))
    return int(said["pid"]), int(said["rc"])


SIDECAR = ("unshare", "--pid", "--fork", "--mount-proc", "--kill-child")


def test_a_sidecar_sees_only_its_pid_namespace_by_its_pids(tmp_path, host_core_settings):
    spool = tmp_path / "spool"
    w = Watcher("--hold", f"--spool={spool}", "--dedup-window=0", "--rate-limit=0",
                prefix=SIDECAR)
    try:
        line = w.wait_stderr(r"crashwatch: watching ")
        assert re.search(r"in the processes of pid namespace \d+ \(a sidecar", line)
        # The host's core_pattern is not a sidecar's: it says so and leaves it alone.
        assert "not default-action faults" in line
        assert "handled signals (SIGSTOP at the handler)" in line
        assert (read(PATTERN), read(PIPE_LIMIT)) == host_core_settings
        ns = os.stat(f"/proc/{w.pid()}/ns/pid").st_ino

        handled_pid, rc = run_in_ns(w.pid(), "segv_handler_exit")
        assert rc == 42
        snap = w.records_for(handled_pid, "snapshot")
        assert snap["tool_status"] == 0 and not snap["partial"]
        fault_pid, rc = run_in_ns(w.pid(), "null_deref")
        assert rc == 128 + signal.SIGSEGV
        partial = w.records_for(fault_pid, "snapshot")
        assert partial["partial"] and "sidecar" in partial["why_partial"]
        on_host = run_target("null_deref")
        # The watcher is the namespace's pid 1: its targets are small numbers there,
        # never the host's.
        assert handled_pid < 100 and fault_pid < 100
    finally:
        assert w.stop() == 0
    assert crash_records(w, on_host.pid) == []
    assert w.counters()["out_of_scope"] >= 1
    for rec, pid in ((snap, handled_pid), (partial, fault_pid)):
        with open(rec["path"]) as f:
            doc = json.load(f)
        assert doc["process"]["pid"] == pid
        assert doc["container"]["pid_ns"] == ns
    sig = [r for r in w.seen if r["type"] == "signal" and r["pid"] == handled_pid]
    assert sig and sig[0]["ppid"] == 0  # its parent (nsenter's sh) is outside
    assert sig[0]["pid_ns"] == ns


def in_a_container_image(image_dir):
    """The watcher runs from a tmpfs only its own mount namespace sees, as from a
    container's image: the host's kernel cannot run it as core_pattern's helper."""
    script = ('mount -t tmpfs cw-image "$0" && cp "$(dirname "$1")"/crashwatch* "$0"/ '
              '&& shift && exec "$0"/crashwatch "$@"')
    return ("unshare", "--mount", "--propagation", "private", "sh", "-c", script, image_dir)


def test_a_watcher_the_host_cannot_run_says_so_and_gives_partial_snapshots(
        tmp_path, host_core_settings):
    image = tmp_path / "image"
    image.mkdir()
    w = Watcher("--hold", f"--spool={tmp_path / 'spool'}", prefix=in_a_container_image(image))
    try:
        line = w.wait_stderr(r"default-action faults are not held: ")
        # The static handler beside the watcher, which the kernel would have run.
        assert f"the host does not see {image}/crashwatch-core-handler at that path" in line
        assert "--host-core-handler" in line
        assert (read(PATTERN), read(PIPE_LIMIT)) == host_core_settings
        ran = run_target("null_deref")
        assert os.WTERMSIG(ran.status) == signal.SIGSEGV
        rec = w.records_for(ran.pid, "snapshot")
        assert rec["partial"] and "does not see" in rec["why_partial"]
    finally:
        assert w.stop() == 0


def test_host_core_handler_holds_default_action_faults_from_a_container(host_core_settings):
    import tempfile

    # A short host path: core_pattern holds 127 bytes.
    host_dir = tempfile.mkdtemp(prefix="cw-")
    image = tempfile.mkdtemp(prefix="cw-image-")
    handler = os.path.join(host_dir, "crashwatch-core-handler")
    spool = os.path.join(host_dir, "spool")
    w = Watcher("--hold", f"--spool={spool}", f"--host-core-handler={handler}",
                prefix=in_a_container_image(image))
    try:
        w.wait_stderr(r"default-action faults \(core dump")
        assert read(PATTERN).startswith(f"|{handler} %P %I %s %c")
        # The copy is the static handler, which the host can run with its own libraries.
        out = subprocess.run(["file", handler], capture_output=True, text=True).stdout
        assert "statically linked" in out
        ran = run_target("null_deref")
        assert os.WTERMSIG(ran.status) == signal.SIGSEGV
        rec = w.records_for(ran.pid, "snapshot")
        assert rec["tool_status"] == 0 and not rec["partial"], rec
        with open(rec["path"]) as f:
            assert json.load(f)["capture"]["method"] == "ptrace-at-exit"
    finally:
        assert w.stop() == 0
        subprocess.run(["rm", "-rf", host_dir, image])
    assert (read(PATTERN), read(PIPE_LIMIT)) == host_core_settings


def test_cgroups_can_come_from_the_config_file(tmp_path):
    with Cgroup(f"cw-test-scope-conf-{os.getpid()}") as top:
        a, b = top.child("a"), top.child("b")
        conf = tmp_path / "crashwatch.conf"
        conf.write_text(f"[watch]\ncgroup = {a.rel}\ncgroup = {b.path}\n")
        out = subprocess.run([WATCHER, "config", "check", str(conf)], capture_output=True,
                             text=True)
        assert out.returncode == 0 and "2 setting(s), no problems" in out.stdout, out.stdout
        w = Watcher(f"--config={conf}")
        try:
            line = w.wait_stderr(r"crashwatch: watching ")
            assert f"in cgroups {a.rel}, {b.rel} and below" in line
            ran = finish(start_in_cgroup(b, "sigfpe"))
            w.records_for(ran.pid, "signal")
        finally:
            assert w.stop() == 0


def test_a_watched_cgroup_removed_and_made_again_is_still_watched():
    """systemd removes a service's cgroup at each stop and makes it again at its
    start: the new one has a new id, which the watcher picks up."""
    with Cgroup(f"cw-test-scope-again-{os.getpid()}") as top:
        svc = top.child("svc.service")
        w = Watcher(f"--cgroup={svc.rel}")
        try:
            w.wait_stderr(r"crashwatch: watching ")
            first_id = os.stat(svc.path).st_ino
            os.rmdir(svc.path)
            svc = top.child("svc.service")
            assert os.stat(svc.path).st_ino != first_id
            w.wait_stderr(rf"cgroup {re.escape(svc.rel)} was made again \(id \d+\): watching it")
            ran = finish(start_in_cgroup(svc, "null_deref"))
            rec = w.records_for(ran.pid, "signal")
            assert rec["cgroup_id"] == os.stat(svc.path).st_ino
        finally:
            assert w.stop() == 0
