"""The snapshot's "container" object against real cgroup v2 cgroups named as container
runtimes name them, and a target in its own pid and mount namespaces.

Only crashwatch-snapshot runs here (no watcher): the targets are parked, not crashed.
"""
import contextlib
import json
import os
import secrets
import subprocess
import uuid

import pytest

from conftest import SNAPSHOT, TARGETS, Cgroup, no_core

ID = secrets.token_hex(32)
UID = str(uuid.uuid4())
UID_ = UID.replace("-", "_")  # the systemd cgroup driver's spelling

# (cgroup below the test's own top cgroup, runtime, id, pod uid, systemd unit)
FORMS = {
    "docker-cgroupfs": (("docker", ID), "docker", ID, None, None),
    "docker-systemd": (("system.slice", f"docker-{ID}.scope"), "docker", ID, None,
                       f"docker-{ID}.scope"),
    "kubepods-cgroupfs": (("kubepods", "burstable", f"pod{UID}", ID), None, ID, UID, None),
    "kubepods-guaranteed": (("kubepods", f"pod{UID}", ID), None, ID, UID, None),
    "kubepods-systemd-containerd": (
        ("kubepods.slice", "kubepods-besteffort.slice", f"kubepods-besteffort-pod{UID_}.slice",
         f"cri-containerd-{ID}.scope"), "containerd", ID, UID, f"cri-containerd-{ID}.scope"),
    "kubepods-systemd-crio": (
        ("kubepods.slice", "kubepods-burstable.slice", f"kubepods-burstable-pod{UID_}.slice",
         f"crio-{ID}.scope"), "cri-o", ID, UID, f"crio-{ID}.scope"),
    "crio-conmon": (
        ("kubepods.slice", "kubepods-burstable.slice", f"kubepods-burstable-pod{UID_}.slice",
         f"crio-conmon-{ID}.scope"), None, None, UID, f"crio-conmon-{ID}.scope"),
    "podman": (("machine.slice", f"libpod-{ID}.scope", "container"), "podman", ID, None,
               f"libpod-{ID}.scope"),
    "podman-cgroupfs": (("libpod_parent", f"libpod-{ID}"), "podman", ID, None, None),
    "plain-service": (("system.slice", "cw-test.service"), None, None, None,
                      "cw-test.service"),
}


def snapshot(pid):
    r = subprocess.run([SNAPSHOT, "--output=-", str(pid)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@contextlib.contextmanager
def runtime_cgroups():
    """A top-level cgroup of this test run; whatever is left in it is killed at the end."""
    with Cgroup(f"cw-test-ci-{os.getpid()}") as top:
        try:
            yield top
        finally:
            # cgroup.kill (Linux 5.14) kills every process below, however nested.
            with open(os.path.join(top.path, "cgroup.kill"), "w") as f:
                f.write("1")


def start_parked(cg, *wrapper):
    """parked_threads in cg from its first instruction, once it says ready."""
    def join():
        no_core()
        cg.enter(os.getpid())

    proc = subprocess.Popen([*wrapper, os.path.join(TARGETS, "parked_threads"), "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            preexec_fn=join)
    for line in proc.stdout:
        if line.startswith("ready"):
            return proc
    raise AssertionError("parked_threads never got ready")


def ns_inode(pid, name):
    return os.stat(f"/proc/{pid}/ns/{name}").st_ino


def reap(proc):
    proc.kill()
    proc.wait()
    proc.stdout.close()


@pytest.mark.parametrize("form", sorted(FORMS))
def test_container_named_from_a_real_cgroup(form):
    parts, runtime, cid, pod_uid, unit = FORMS[form]
    with runtime_cgroups() as top:
        cg = top.child(*parts)
        proc = start_parked(cg)
        try:
            snap = snapshot(proc.pid)
            pid_ns, mnt_ns = ns_inode(proc.pid, "pid"), ns_inode(proc.pid, "mnt")
            cgroup_id = os.stat(cg.path).st_ino
        finally:
            reap(proc)
    c = snap["container"]
    assert c == {
        "cgroup": cg.rel,
        "cgroup_id": cgroup_id,
        "runtime": runtime,
        "id": cid,
        "pod_uid": pod_uid,
        "systemd_unit": unit,
        "pid_ns": pid_ns,
        "mnt_ns": mnt_ns,
    }
    assert snap["process"]["cgroup"] == cg.rel


def child_of(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        kids = f.read().split()
    assert len(kids) == 1, kids
    return int(kids[0])


def test_own_pid_and_mount_namespaces():
    host_pid_ns, host_mnt_ns = ns_inode("self", "pid"), ns_inode("self", "mnt")
    with runtime_cgroups() as top:
        cg = top.child("system.slice", f"docker-{ID}.scope")
        # unshare forks the target into the new namespaces: it is unshare's child.
        proc = start_parked(cg, "unshare", "--pid", "--mount", "--fork", "--kill-child")
        try:
            target = child_of(proc.pid)
            snap = snapshot(target)
            pid_ns, mnt_ns = ns_inode(target, "pid"), ns_inode(target, "mnt")
        finally:
            reap(proc)
    c = snap["container"]
    assert c["pid_ns"] == pid_ns != host_pid_ns
    assert c["mnt_ns"] == mnt_ns != host_mnt_ns
    assert (c["runtime"], c["id"], c["cgroup"]) == ("docker", ID, cg.rel)
    assert snap["process"]["pid"] == target


def test_an_ordinary_process_is_in_no_container():
    with open("/proc/self/cgroup") as f:
        v2 = [l.strip()[3:] for l in f if l.startswith("0::")]
    proc = subprocess.Popen([os.path.join(TARGETS, "parked_threads"), "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        next(l for l in proc.stdout if l.startswith("ready"))
        snap = snapshot(proc.pid)
    finally:
        reap(proc)
    c = snap["container"]
    assert c["pid_ns"] == ns_inode("self", "pid")
    assert c["mnt_ns"] == ns_inode("self", "mnt")
    if v2:
        assert c["cgroup"] == v2[0]
    assert c["id"] is None
