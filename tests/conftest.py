"""Shared by the integration tests: the real watcher, real crashing targets.

Every test here runs against the running kernel; nothing is faked.  The
watcher runs from build/san (AddressSanitizer + UBSan): a leak or an
undefined behaviour makes it exit non-zero, which the fixture asserts.
"""
import fcntl
import json
import os
import queue
import re
import resource
import signal
import subprocess
import threading
import time

import pytest

BUILD = os.environ.get("CW_BUILD", os.path.join(os.path.dirname(__file__), "..", "build"))
WATCHER = os.path.join(BUILD, "san", "crashwatch")
SNAPSHOT = os.path.join(BUILD, "san", "crashwatch-snapshot")
TARGETS = os.path.join(BUILD, "tests", "targets")

BPF_PROG_NAMES = ("on_signal_deliver", "on_signal_generate", "on_process_exit", "on_mark_victim")

LIVE_WATCHERS = []  # stopped at the end of the session whatever happened

PATTERN = "/proc/sys/kernel/core_pattern"
PIPE_LIMIT = "/proc/sys/kernel/core_pipe_limit"


def read(path):
    with open(path) as f:
        return f.read().rstrip("\n")


def write(path, value):
    with open(path, "w") as f:
        f.write(value)


@pytest.fixture
def host_core_settings():
    """core_pattern is global to the host: whatever a test does, put it back."""
    saved = read(PATTERN), read(PIPE_LIMIT)
    yield saved
    subprocess.run([WATCHER, "core-restore"], capture_output=True)
    write(PATTERN, saved[0])
    write(PIPE_LIMIT, saved[1])


def pytest_sessionfinish(session, exitstatus):
    # A failed test must not leave a watcher (and its BPF programs) behind.
    for proc in LIVE_WATCHERS:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # ... nor kernel.core_pattern pointing at a watcher that is gone.
    subprocess.run([WATCHER, "core-restore"], capture_output=True)


SESSION_LOCK = "/run/crashwatch-tests.lock"


def pytest_configure(config):
    if os.geteuid() != 0:
        raise pytest.UsageError("the integration tests load BPF programs: run them as root")
    # Watchers see every crash on the host: two test sessions at once would
    # hold each other's targets.  The lock lives as long as this process.
    config._cw_lock = open(SESSION_LOCK, "w")
    try:
        fcntl.flock(config._cw_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"waiting for another crashwatch test session ({SESSION_LOCK})", flush=True)
        fcntl.flock(config._cw_lock, fcntl.LOCK_EX)


def drain(q):
    """What is left in a reader's queue once the stream has ended."""
    out = []
    while True:
        try:
            line = q.get_nowait()
        except queue.Empty:
            return out
        if line is not None:
            out.append(line)


class Watcher:
    """crashwatch watch, its stdout read line by line in the background."""

    def __init__(self, *args, json_output=True, default_hold=False, prefix=(), program=WATCHER):
        # Holding is the watcher's default; the detection tests only report, unless
        # a test asks for holds (--hold) or for the defaults as they are.
        report_only = () if default_hold or "--hold" in args else ("--no-hold",)
        # The host's /etc/crashwatch/crashwatch.conf is not the tests' to read.
        no_config = () if any(a.startswith("--config") for a in args) else ("--config=",)
        # prefix: a command the watcher runs under, e.g. unshare into a new pid namespace.
        self.prefix = tuple(prefix)
        self.args = [*prefix, program, "watch", *no_config, *(("--json",) if json_output else ()),
                     *report_only, *args]
        self.json = json_output
        self.lines = queue.Queue()
        self.seen = []  # every record read so far
        self.stderr_lines = []
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        LIVE_WATCHERS.append(self.proc)
        self._out = threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines))
        self._err_q = queue.Queue()
        self._err = threading.Thread(target=self._pump, args=(self.proc.stderr, self._err_q))
        self._out.start()
        self._err.start()
        self.wait_stderr(r"crashwatch: watching ", 30)

    @staticmethod
    def _pump(stream, q):
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    def wait_stderr(self, pattern, timeout=10):
        deadline = time.monotonic() + timeout
        for line in self.stderr_lines:
            if re.search(pattern, line):
                return line
        while time.monotonic() < deadline:
            try:
                line = self._err_q.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.stderr_lines.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(
            f"watcher never said /{pattern}/ on stderr; it said: {self.stderr_lines}"
        )

    def _read(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is None:
            raise AssertionError(f"watcher stopped; stderr: {self.stderr_lines}")
        rec = json.loads(line) if self.json else line
        self.seen.append(rec)
        return rec

    def wait_for(self, pred, timeout=10, what="record"):
        for rec in self.seen:
            if pred(rec):
                return rec
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rec = self._read(0.1)
            if rec is not None and pred(rec):
                return rec
        raise AssertionError(f"no {what} within {timeout}s; saw {len(self.seen)} records")

    def records_for(self, pid, kind, timeout=10):
        return self.wait_for(
            lambda r: r["type"] == kind and r["pid"] == pid, timeout, f"{kind} record for {pid}"
        )

    def pid(self):
        """The watcher's own pid (not its prefix command's), as the host numbers it."""
        if "--fork" not in self.prefix:
            return self.proc.pid
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
            return int(f.read().split()[0])

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            os.kill(self.pid(), sig)
        rc = self.proc.wait(timeout=30)
        self._out.join(timeout=10)
        self._err.join(timeout=10)
        self.stderr_lines += drain(self._err_q)
        self.seen += [json.loads(l) if self.json else l for l in drain(self.lines)]
        return rc

    def counters(self):
        """The last counters line, as a dict."""
        lines = [l for l in self.stderr_lines if l.startswith("crashwatch: counters:")]
        assert lines, f"no counters line; stderr: {self.stderr_lines}"
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


class Ran:
    """A finished target: what it said on stdout and how it ended."""

    def __init__(self, pid, status, stdout, stderr):
        self.pid = pid
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.said = dict(re.findall(r"^(\w+)=(\d+)$", stdout, re.M))

    def value(self, key):
        return int(self.said[key])


def wait_until(pred, timeout=15, what="condition"):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def in_pause(pid):
    """The target waits in pause(2) (x86_64 syscall 34): past printing "ready", where a
    kill finds it in wait_forever and not still flushing its stdout."""
    wait_until(lambda: open(f"/proc/{pid}/syscall").read().split()[0] == "34",
               what=f"{pid} to wait in pause()")


def no_core():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def start_target(name, *args, preexec_fn=no_core):
    return subprocess.Popen(
        [os.path.join(TARGETS, name), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )


def finish(proc, timeout=30):
    """Reap the target ourselves to see the raw wait status (core-dumped flag)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status = os.waitpid(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"target {proc.args[0]} did not end")
        time.sleep(0.01)
    proc.returncode = -1  # reaped here: keep Popen from waiting again
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    return Ran(proc.pid, status, out, err)


def run_target(name, *args):
    return finish(start_target(name, *args))


@pytest.fixture(scope="module")
def watcher():
    w = Watcher()
    yield w
    rc = w.stop()
    assert rc == 0, f"watcher exited {rc}; stderr: {w.stderr_lines}"
    c = w.counters()
    signals = [r for r in w.seen if r["type"] in ("signal", "abort", "kill")]
    exits = [r for r in w.seen if r["type"] == "exit"]
    # Loss is never silent: what the kernel side sent is what we read.
    assert c["dropped_ringbuf_full"] == 0
    assert c["malformed"] == 0
    assert c["signals_emitted"] == len(signals)
    assert c["exits_emitted"] == len(exits)


def cgroup2_mount():
    """Where the cgroup v2 hierarchy is mounted, read from /proc/self/mountinfo."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            # Optional fields end at "-"; the filesystem type follows it.
            fstype = fields[fields.index("-") + 1]
            if fstype == "cgroup2":
                return fields[4]
    pytest.fail("no cgroup2 filesystem is mounted (see /proc/self/mountinfo)")


class Cgroup:
    """A real cgroup v2 cgroup made for a test, removed with its descendants at exit."""

    def __init__(self, *parts):
        self.rel = "/" + "/".join(parts)  # as /proc/PID/cgroup shows it
        self.path = cgroup2_mount() + self.rel

    def __enter__(self):
        os.makedirs(self.path, exist_ok=True)
        return self

    def child(self, *parts):
        return Cgroup(*self.rel.strip("/").split("/"), *parts).__enter__()

    def enter(self, pid):
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(pid))

    def __exit__(self, *exc):
        # Deepest first; a task that just exited may keep a cgroup busy for a moment.
        for root, dirs, _ in sorted(os.walk(self.path), key=lambda t: -t[0].count("/")):
            deadline = time.monotonic() + 10
            while True:
                try:
                    os.rmdir(root)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        return False


def start_in_cgroup(cg, name, *args):
    """A target that is in cg from its first instruction (it joins before exec)."""
    def join():
        no_core()
        cg.enter(os.getpid())

    return start_target(name, *args, preexec_fn=join)
