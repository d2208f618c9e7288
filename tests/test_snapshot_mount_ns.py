"""crashwatch-snapshot on a process of another mount namespace (a container's): its
executable is opened as the process sees it, not at that path on the host, where
there may be nothing, or another file.

Only crashwatch-snapshot runs here (no watcher): the targets are parked, not crashed.
"""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import SNAPSHOT, TARGETS

# Without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE /proc/PID/map_files is closed:
# the tool falls back to /proc/PID/root/PATH.
NO_MAP_FILES = ["setpriv", "--bounding-set=-sys_admin,-checkpoint_restore",
                "--inh-caps=-sys_admin,-checkpoint_restore"]


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True,
                         check=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", out).group(1)


def start_in_private_mount(tmp_path, host_file):
    """parked_threads run from a tmpfs mounted in its own mount namespace only."""
    x = tmp_path / "x"
    x.mkdir()
    staged = tmp_path / "staged"
    shutil.copy(os.path.join(TARGETS, "parked_threads"), staged)
    if host_file:
        shutil.copy(os.path.join(TARGETS, host_file), x / "parked_threads")
    # unshare and sh exec: the target keeps their pid.
    proc = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         f"mount -t tmpfs none {x} && cp {staged} {x}/parked_threads && "
         f"exec {x}/parked_threads 1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("ready"):
            return proc, str(x / "parked_threads")
    raise AssertionError(f"target never got ready: {proc.stderr.read()}")


@pytest.mark.parametrize("host_file", [None, "crash_and_park"], ids=["nothing", "another"])
@pytest.mark.parametrize("caps", ["root", "no-map-files"])
def test_executable_of_another_mount_namespace_is_symbolized(tmp_path, host_file, caps):
    if caps == "no-map-files" and not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is not installed")
    proc, exe = start_in_private_mount(tmp_path, host_file)
    try:
        assert os.stat(f"/proc/{proc.pid}/ns/mnt").st_ino != os.stat("/proc/self/ns/mnt").st_ino
        assert os.path.exists(exe) == bool(host_file)  # the host's view of that path
        tool = (NO_MAP_FILES if caps == "no-map-files" else []) + [SNAPSHOT, "--output=-",
                                                                  str(proc.pid)]
        r = subprocess.run(tool, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        snap = json.loads(r.stdout)
    finally:
        proc.kill()
        proc.wait()
    main = next(t for t in snap["threads"] if t["tid"] == proc.pid)
    names = [f["function"] for f in main["frames"]]
    assert ["park_main", "main"] == [n for n in names if n in ("park_main", "main")], names
    mine = [f for f in main["frames"] if f["module"] == exe]
    assert mine and all(f["function"] for f in mine), mine
    assert any(f["file"] and f["file"].endswith("parked_threads.c") for f in mine)
    # The module is the file the process mapped, never the host's file at that path.
    module = next(m for m in snap["modules"] if m["path"] == exe)
    assert module["build_id"] == build_id(os.path.join(TARGETS, "parked_threads"))
    if host_file:
        assert module["build_id"] != build_id(os.path.join(TARGETS, host_file))
