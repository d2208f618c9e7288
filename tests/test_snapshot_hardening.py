"""Issue 12, row 7: crashwatch-snapshot's exit codes and messages when things go
wrong — a process ending mid-snapshot, cut-short and corrupt cores, a process it
may not trace — and its life tied to the watcher's (--die-with-parent)."""
import fcntl
import json
import os
import random
import re
import signal
import struct
import subprocess
import termios
import time

import pytest

from conftest import BUILD, SNAPSHOT, TARGETS, Watcher, wait_until

WRAPPER = os.path.join(os.path.dirname(__file__), "tools", "tool_wrapper.py")
F_SETPIPE_SZ = 1031
# What a message never says: a NULL printed, an error that is none, libelf's words
# for "I was given a directory".
UNSAID = ("(null)", "no error", "invalid file descriptor", "Success")


def run_tool(*args, stdin=None):
    return subprocess.run([SNAPSHOT, "--output=-", *map(str, args)], capture_output=True,
                          text=True, timeout=120, stdin=stdin)


def plain(stderr):
    for phrase in UNSAID:
        assert phrase not in stderr, stderr


def start_parked(nthreads=4):
    proc = subprocess.Popen([os.path.join(TARGETS, "parked_threads"), str(nthreads)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if line.startswith("ready="):
            return proc
    raise AssertionError("parked_threads never got ready")


def status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def untraced(pid):
    st = status(pid)
    return st["TracerPid"] == "0" and st["State"][0] in "RS"


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except FileNotFoundError:
        return False


# --- a process that ends while it is being snapshotted -----------------------


def test_a_process_ending_mid_snapshot_is_exit_9_never_traced_or_refused():
    """Processes that _exit a few ms after they start, snapshotted as they end:
    each run is 0 (caught alive), 5 (already a zombie when looked at) or 9 (ended
    during the capture) — never 6 'not permitted', 7 'already traced' by the tool
    itself, nor a hang to --timeout (8)."""
    rng = random.Random(12)
    seen = {}
    for _ in range(120):
        threads, delay_us = rng.randint(1, 16), rng.randint(4000, 16000)
        proc = subprocess.Popen([os.path.join(TARGETS, "exit_soon"), str(threads),
                                 str(delay_us)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # ready: its threads are running
        t0 = time.monotonic()
        r = subprocess.run([SNAPSHOT, "--output=-", "--no-source", "--timeout=20",
                            str(proc.pid)], capture_output=True, text=True, timeout=60)
        took = time.monotonic() - t0
        proc.wait()
        proc.stdout.close()
        seen[r.returncode] = seen.get(r.returncode, 0) + 1
        assert r.returncode in (0, 5, 9), (r.returncode, r.stderr)
        assert took < 10, f"a snapshot of an ending process took {took:.1f} s"
        plain(r.stderr)
        if r.returncode == 9:
            assert f"{proc.pid} ended before it could be captured" in r.stderr, r.stderr
    assert seen.get(0, 0) > 0, seen


# --- cores ----------------------------------------------------------------------


def kernel_layout(src, dst):
    """gcore writes its notes last; the kernel writes them first, then the
    segments. The same core laid out as the kernel would: cut short, it keeps
    its notes and loses segments, as a real cut-short core does."""
    data = open(src, "rb").read()
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    phdrs = [list(struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize))
             for i in range(phnum)]
    out = bytearray(data[:phoff + phnum * phentsize])
    for ph in sorted(phdrs, key=lambda p: p[0] != 4):  # PT_NOTE first
        out += b"\0" * (-len(out) % 4)
        chunk = data[ph[2]:ph[2] + ph[5]]
        ph[2] = len(out)
        out += chunk
    for i, ph in enumerate(phdrs):
        struct.pack_into("<IIQQQQQQ", out, phoff + i * phentsize, *ph)
    open(dst, "wb").write(out)
    (notes,) = [p for p in phdrs if p[0] == 4]
    return notes[2] + notes[5]  # where the notes end


@pytest.fixture(scope="module")
def cores(tmp_path_factory):
    """A real core of parked_threads (gdb's gcore), and the kernel's layout of it."""
    d = tmp_path_factory.mktemp("cores")
    proc = start_parked(4)
    try:
        r = subprocess.run(["gcore", "-o", str(d / "core"), str(proc.pid)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
    finally:
        proc.kill()
        proc.wait()
    gcore = str(d / f"core.{proc.pid}")
    kernel = str(d / "kernel-core")
    notes_end = kernel_layout(gcore, kernel)
    return {"dir": d, "gcore": gcore, "kernel": kernel, "notes_end": notes_end}


def head(cores, name, src, n):
    path = str(cores["dir"] / name)
    with open(src, "rb") as f, open(path, "wb") as out:
        out.write(f.read(n))
    return path


def test_a_whole_core_has_no_note(cores):
    for core in (cores["gcore"], cores["kernel"]):
        r = run_tool(f"--core={core}")
        assert r.returncode == 0, r.stderr
        snap = json.loads(r.stdout)
        assert snap["capture"]["notes"] == []
        assert len(snap["threads"]) == 4
        assert all(len(t["frames"]) >= 5 for t in snap["threads"]), snap["threads"]


TRUNCATED = re.compile(r"the core is truncated: (\d+) of (\d+) bytes of its segments are "
                       r"missing; stacks may be short")


@pytest.mark.parametrize("keep", ["just-past-the-notes", "half", "all-but-a-page"])
def test_a_core_cut_in_its_segments_is_a_snapshot_that_says_so(cores, keep):
    size = os.path.getsize(cores["kernel"])
    n = {"just-past-the-notes": cores["notes_end"] + 100, "half": size // 2,
         "all-but-a-page": size - 4096}[keep]
    core = head(cores, f"cut-{keep}", cores["kernel"], n)
    r = run_tool(f"--core={core}")
    assert r.returncode == 0, r.stderr
    snap = json.loads(r.stdout)
    (note,) = snap["capture"]["notes"]
    m = TRUNCATED.fullmatch(note)
    assert m, note
    # Every byte cut off was segment data: the notes were whole.
    assert int(m.group(1)) == size - n
    assert len(snap["threads"]) == 4
    # Through stdin the same.
    with open(core, "rb") as f:
        r = run_tool("--core=-", stdin=f)
    assert r.returncode == 0 and TRUNCATED.fullmatch(json.loads(r.stdout)["capture"]["notes"][0])


@pytest.mark.parametrize("which", ["kernel-4096", "kernel-mid-notes", "gcore-4096",
                                   "gcore-half"])
def test_a_core_cut_before_its_notes_end_is_exit_10(cores, which):
    src = cores["gcore" if which.startswith("gcore") else "kernel"]
    n = {"kernel-4096": 4096, "kernel-mid-notes": cores["notes_end"] - 5000,
         "gcore-4096": 4096, "gcore-half": os.path.getsize(src) // 2}[which]
    r = run_tool(f"--core={head(cores, which, src, n)}")
    assert r.returncode == 10, (r.returncode, r.stderr)
    assert re.search(r"not a readable core file: it is truncated in its notes "
                     r"\(\d+ of \d+ bytes missing\)", r.stderr), r.stderr
    assert r.stdout == ""
    plain(r.stderr)


def test_what_is_no_core_is_exit_10_saying_what_it_is(cores, tmp_path):
    rnd = tmp_path / "random"
    rnd.write_bytes(random.Random(1).randbytes(100_000))
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    elf_head = tmp_path / "elf-head"
    elf_head.write_bytes(open(cores["kernel"], "rb").read(40))
    cases = {
        str(rnd): "it does not begin with the ELF magic",
        str(empty): "it is empty",
        "/dev/null": "it does not begin with the ELF magic",
        str(tmp_path): "it is a directory",
        SNAPSHOT: "not a core file: an ELF shared object or PIE executable",
        str(elf_head): "not a readable core file",
    }
    for path, said in cases.items():
        r = run_tool(f"--core={path}")
        assert r.returncode == 10, (path, r.returncode, r.stderr)
        assert said in r.stderr, (path, r.stderr)
        assert r.stdout == ""
        plain(r.stderr)
    r = run_tool(f"--core={tmp_path / 'none'}")
    assert r.returncode == 10
    assert "failed to open the core" in r.stderr and "No such file or directory" in r.stderr


def test_corrupt_cores_are_exit_0_or_10_with_plain_messages(cores, tmp_path):
    """Bytes changed at random in the headers and notes of a real core: a snapshot
    or exit 10, no crash of the (sanitized) tool, no empty words."""
    base = open(cores["kernel"], "rb").read(cores["notes_end"] + 20_000)
    rng = random.Random(12)
    path = tmp_path / "corrupt"
    for _ in range(60):
        b = bytearray(base[:rng.randint(64, len(base))])
        for _ in range(rng.randint(1, 20)):
            b[rng.randrange(min(len(b), cores["notes_end"]))] = rng.randrange(256)
        path.write_bytes(b)
        r = run_tool("--no-source", f"--core={path}")
        assert r.returncode in (0, 10), (r.returncode, r.stderr[-2000:])
        assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
        plain(r.stderr)


# --- a process it may not trace -----------------------------------------------


def test_not_permitted_says_why_for_another_uid():
    proc = start_parked(2)
    try:
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "--inh-caps=-all", SNAPSHOT, "--output=-", str(proc.pid)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 6, r.stderr
        assert (f"not permitted to trace {proc.pid} (parked_threads): it runs as uid 0 and "
                "this tool as uid 65534 without CAP_SYS_PTRACE: run it as root or as uid 0"
                in r.stderr), r.stderr
        assert untraced(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_not_permitted_says_why_for_root_without_cap_sys_ptrace():
    proc = start_parked(2)
    try:
        r = subprocess.run(["setpriv", "--bounding-set=-sys_ptrace", SNAPSHOT, "--output=-",
                            str(proc.pid)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 6, r.stderr
        assert "run as root" not in r.stderr, r.stderr
        assert ("it holds capabilities this tool does not (cap_sys_ptrace) and this tool "
                "lacks CAP_SYS_PTRACE: give this tool CAP_SYS_PTRACE" in r.stderr), r.stderr
    finally:
        proc.kill()
        proc.wait()


def test_pid_1_refused_to_root_is_not_told_to_run_as_root():
    """Where the host lets root trace its init this is a snapshot of it (0); where it
    does not (here a security module or a sandbox's init), the message names what
    root already has and what is left."""
    r = run_tool("--no-source", 1)
    if r.returncode == 0:
        assert json.loads(r.stdout)["process"]["pid"] == 1
        return
    assert r.returncode == 6, r.stderr
    assert "run as root" not in r.stderr, r.stderr
    assert re.search(r"not permitted to trace 1 \(.*\): this tool has CAP_SYS_PTRACE \(uid 0\)",
                     r.stderr), r.stderr
    plain(r.stderr)


# --- the tool's life tied to its parent's ---------------------------------------


def test_a_tool_whose_parent_has_ended_takes_no_snapshot():
    proc = start_parked(2)
    try:
        r = run_tool("--die-with-parent=1", proc.pid)  # 1 is not its parent: it is gone
        assert r.returncode == 128 + signal.SIGKILL, r.stderr
        assert ("1, which started this tool (--die-with-parent), has ended; not taking the "
                "snapshot" in r.stderr)
        assert r.stdout == ""
        assert untraced(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_the_tool_ends_within_a_second_of_its_parent(tmp_path):
    """The tool blocked writing its snapshot (a pipe nobody reads) when the process
    that started it is killed: it ends at once instead of running on."""
    proc = start_parked(64)
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)  # the snapshot does not fit
    pidfile = tmp_path / "tool.pid"
    parent = subprocess.Popen(
        ["/bin/sh", "-c", f'"$0" --output=- --no-source --die-with-parent=$$ {proc.pid} &'
         f' echo $! > {pidfile}; exec sleep 600 >/dev/null', SNAPSHOT], stdout=w)
    os.close(w)
    try:
        wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), what="the tool")
        tool = int(pidfile.read_text())
        wait_until(lambda: unread(r) >= 4096, what="the tool blocked on its output")
        assert alive(tool) and untraced(proc.pid)
        parent.kill()
        parent.wait()
        t0 = time.monotonic()
        wait_until(lambda: not alive(tool), timeout=1, what="the tool's end")
        assert time.monotonic() - t0 < 1
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        os.close(r)
        proc.kill()
        proc.wait()


def unread(fd):
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]


def wrapper_tool(tmp_path, **rules):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"real": os.path.join(BUILD, "crashwatch-snapshot"),
                                "rules": rules}))
    path = tmp_path / "tool.sh"
    path.write_text(f'#!/bin/sh\nexec /usr/bin/python3 {WRAPPER} {plan} "$@"\n')
    path.chmod(0o755)
    return str(path)


def tools_for(target_pid):
    """Processes whose command line is a snapshot tool's for target_pid."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")[:-1]
        except OSError:
            continue
        if (argv and argv[-1] == str(target_pid).encode()
                and any(b"--die-with-parent=" in a for a in argv) and alive(int(d))):
            found.append(int(d))
    return found


def held_then_watcher_killed(tmp_path, rule):
    """A watcher holding crash_and_park (its handler parks for good once let go)
    with a tool following rule, killed with SIGKILL; the watchdog lets the process
    go on into its handler.  (target, the tool's pids just before the kill, when
    the kill was); the target is still running."""
    w = Watcher("--hold", f"--spool={tmp_path / 'spool'}",
                f"--snapshot-tool={wrapper_tool(tmp_path, crash_and_park=rule)}")
    proc = subprocess.Popen([os.path.join(TARGETS, "crash_and_park"), "null"],
                            stdout=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: tools_for(proc.pid) and status(proc.pid)["State"][0] == "T",
                   what="the hold")
        tools = tools_for(proc.pid)
        w.proc.kill()
        w.proc.wait()
        t0 = time.monotonic()
        # Its handler runs, and says so, only once it is let go.
        assert "ready=1\n" in iter(proc.stdout.readline, "")
        return proc, tools, t0
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        w.stop()
        subprocess.run([w.args[0], "core-restore"], capture_output=True)


def test_killing_the_watcher_ends_the_tool_it_started(tmp_path):
    proc, tools, t0 = held_then_watcher_killed(tmp_path, "hang")
    try:
        assert tools
        wait_until(lambda: not any(alive(t) for t in tools), timeout=1, what="the tool's end")
        assert time.monotonic() - t0 < 1.5
        assert untraced(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_a_tool_that_starts_after_the_watcher_died_takes_no_snapshot(tmp_path):
    """The real tool gets to run only after the watcher died (late:2 — slow to
    start), while the process it was for runs on, let go: it sees its parent gone
    at start and ends without stopping or snapshotting that process."""
    proc, tools, _ = held_then_watcher_killed(tmp_path, "late:2")
    try:
        wait_until(lambda: not any(alive(t) for t in tools), timeout=10, what="the tool's end")
        assert untraced(proc.pid)
        assert not list((tmp_path / "spool").glob("*.json"))
    finally:
        proc.kill()
        proc.wait()
