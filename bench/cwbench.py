"""What bench/hold.py, bench/concurrent.py and bench/storm.py share (Python 3 stdlib only).

- a holding `crashwatch watch` started and stopped (SIGTERM; SIGKILL if it does
  not end), its JSON records collected per pid, its stderr kept;
- kernel.core_pattern / core_pipe_limit saved at the start and given back on
  every way out (`crashwatch core-restore`, then by hand), and checked;
- every target the benchmark started remembered: at the end none may be left
  stopped (state T/t) or alive; one that is gets SIGCONT + SIGKILL and is named;
- bench/spool_watch: when each snapshot was renamed into the spool (CLOCK_BOOTTIME);
- crash targets spawned with os.posix_spawn and reaped with waitpid, timed with
  time.perf_counter_ns.

Nothing here asserts a time: these are benchmarks.
"""
import atexit
import calendar
import datetime
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.path.abspath(os.environ.get("CW_BUILD", "build"))
PATTERN = "/proc/sys/kernel/core_pattern"
PIPE_LIMIT = "/proc/sys/kernel/core_pipe_limit"
TARGETS = os.path.join(BUILD, "tests", "targets")

# How each target ends, as its parent's waitpid sees it (held or not).
EXPECT = {
    "null_deref": ("signal", signal.SIGSEGV), "null_deref_threads": ("signal", signal.SIGSEGV),
    "stack_overflow": ("signal", signal.SIGSEGV), "abort": ("signal", signal.SIGABRT),
    "assert_fail": ("signal", signal.SIGABRT), "sigbus": ("signal", signal.SIGBUS),
    "sigfpe": ("signal", signal.SIGFPE), "sigill": ("signal", signal.SIGILL),
    "segv_handler_exit": ("exit", 42), "wait_for_kill": ("signal", signal.SIGSEGV),
}


def run_main(main, name):
    """A benchmark's entry: its errors and Ctrl-C end it with one line (cleanup runs at exit)."""
    try:
        main()
    except BenchError as e:
        sys.exit(f"{name}: {e}")
    except KeyboardInterrupt:
        sys.exit(f"{name}: interrupted")


class BenchError(Exception):
    pass


def die(msg):
    raise BenchError(msg)


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def read(path):
    with open(path) as f:
        return f.read().strip()


def core_settings():
    return f"{read(PATTERN)} / {read(PIPE_LIMIT)}"


def watchers():
    """Other `crashwatch watch` processes on the host, as 'pid cmdline' lines."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 1 and argv[0].endswith(b"crashwatch") and argv[1] == b"watch":
            out.append(f"{d} " + " ".join(a.decode(errors="replace") for a in argv if a))
    return out


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def fmt(v, decimals=1):
    return "-" if v is None else f"{v:.{decimals}f}"


def rt_ns(stamp):
    """A record's time ("2026-12-01T21:41:48.871610Z", UTC) as CLOCK_REALTIME ns."""
    dt = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    return calendar.timegm(dt.timetuple()) * 1_000_000_000 + dt.microsecond * 1000


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


class Host:
    """The host's state this benchmark may touch, and its restoration on every way out."""

    def __init__(self, name):
        if os.geteuid() != 0:
            sys.exit(f"{name}: needs root: the watcher loads BPF programs and owns "
                     "kernel.core_pattern while it runs")
        self.name = name
        for f in ("crashwatch", "crashwatch-snapshot"):
            if not os.access(os.path.join(BUILD, f), os.X_OK):
                sys.exit(f"{name}: {BUILD}/{f} missing: run 'make {name}'")
        self.saved_pattern, self.saved_limit = read(PATTERN), read(PIPE_LIMIT)
        self.saved = f"{self.saved_pattern} / {self.saved_limit}"
        others = watchers()
        if any("--no-hold" not in w for w in others):
            sys.exit(f"{name}: another holding crashwatch watcher runs (it would hold these "
                     "crashes too, and owns kernel.core_pattern):\n" + "\n".join(others))
        if "crashwatch" in self.saved_pattern:
            sys.exit(f"{name}: kernel.core_pattern is crashwatch's ({self.saved}) with no "
                     f"holding watcher running: run {BUILD}/crashwatch core-restore")
        self.tmp = tempfile.mkdtemp(prefix=f"crashwatch-{name}.")
        self.targets = []  # every pid this benchmark started (targets, helpers)
        self.watcher = None
        self.helpers = []  # Popen objects to stop at the end
        # Targets write no core file (as in the tests): a core-dump hold is held all the
        # same (the pipe handler is called with %c 0; the socket is connected).  The
        # watcher gets the limit back (preexec).
        self.core_limit = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (0, self.core_limit[1]))
        atexit.register(self.cleanup)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"{name}: terminated"))
        signal.signal(signal.SIGHUP, lambda *_: sys.exit(f"{name}: hung up"))

    def give_back_core(self):
        """0 if the core settings are as they were; else put them back and 1."""
        if core_settings() == self.saved:
            return 0
        others = watchers()
        if others:
            log(f"kernel.core_pattern / core_pipe_limit is '{core_settings()}', was "
                f"'{self.saved}'; left to the watcher that runs now:\n" + "\n".join(others))
            return 1
        log(f"the watcher left kernel.core_pattern / core_pipe_limit at '{core_settings()}', "
            f"not '{self.saved}'; putting it back")
        subprocess.run([f"{BUILD}/crashwatch", "core-restore"], stdout=sys.stderr)
        if core_settings() != self.saved:
            with open(PATTERN, "w") as f:
                f.write(self.saved_pattern + "\n")
            with open(PIPE_LIMIT, "w") as f:
                f.write(self.saved_limit + "\n")
        if core_settings() != self.saved:
            log(f"could not: put '{self.saved}' back by hand (README)")
        return 1

    def leftovers(self):
        """Targets still there (not reaped): stopped or traced ones first get SIGCONT."""
        bad = []
        for pid in self.targets:
            st = proc_state(pid)
            if st is None:
                continue
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            st = proc_state(pid)
            if st in (None, "Z"):
                continue
            bad.append(f"{pid} ({cmdline(pid)}) state {st}")
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        return bad

    def cleanup(self):
        rc = 0
        if self.watcher:
            rc |= self.watcher.stop()
        for p in self.helpers:
            if p.poll() is None:
                p.kill()
                p.wait()
        bad = self.leftovers()
        if bad:
            log("targets left behind, now continued and killed:\n  " + "\n  ".join(bad))
            rc = 1
        rc |= self.give_back_core()
        subprocess.run(["rm", "-rf", self.tmp])
        resource.setrlimit(resource.RLIMIT_CORE, self.core_limit)
        self.final_check = rc
        return rc

    def final_report(self):
        """The closing lines every benchmark prints: what it left behind (nothing)."""
        bad = self.leftovers()
        stopped = [f"{p} {proc_state(p)}" for p in self.targets if proc_state(p) in ("T", "t")]
        print(f"check: kernel.core_pattern / core_pipe_limit '{core_settings()}' "
              f"({'as before' if core_settings() == self.saved else 'CHANGED, was ' + self.saved}); "
              f"{len(self.targets)} processes started, {len(bad)} left running, "
              f"{len(stopped)} stopped")

    # ---- targets -------------------------------------------------------------------
    def spawn(self, path, args=(), stdout=None):
        """posix_spawn PATH with stdout to the fd given (else /dev/null); its pid."""
        fa = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0)]
        if stdout is None:
            fa.append((os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0))
        else:
            fa.append((os.POSIX_SPAWN_DUP2, stdout, 1))
        fa.append((os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0))
        pid = os.posix_spawn(path, [path, *args], os.environ, file_actions=fa)
        self.targets.append(pid)
        return pid

    def wait(self, pid, timeout=60):
        """waitpid PID (blocking: no polling to compete with the watcher for a CPU),
        bounded: a target still there after TIMEOUT s is continued and killed."""
        def overdue():
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        t = threading.Timer(timeout, overdue)
        t.start()
        try:
            _, st = os.waitpid(pid, 0)
        finally:
            t.cancel()
        if os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGKILL:
            die(f"pid {pid} did not end within {timeout} s: killed")
        return st

    def run_target(self, kind, path=None):
        """One crash of KIND: (ns from the spawn, or from the kill for wait_for_kill, to
        waitpid's return; pid; status)."""
        path = path or os.path.join(TARGETS, kind)
        if kind == "wait_for_kill":
            r, w = os.pipe()
            pid = self.spawn(path, stdout=w)
            os.close(w)
            buf = b""
            deadline = time.monotonic() + 10
            while b"ready=1" not in buf and time.monotonic() < deadline:
                got = os.read(r, 256)
                if not got:
                    break
                buf += got
            os.close(r)
            if b"ready=1" not in buf:
                os.kill(pid, signal.SIGKILL)
                die("wait_for_kill never said ready=1")
            t0 = time.perf_counter_ns()
            os.kill(pid, signal.SIGSEGV)
        else:
            t0 = time.perf_counter_ns()
            pid = self.spawn(path)
        st = self.wait(pid)
        t1 = time.perf_counter_ns()
        return t1 - t0, pid, st


def check_status(kind, st):
    how, val = EXPECT[kind]
    ok = (os.WIFSIGNALED(st) and os.WTERMSIG(st) == val) if how == "signal" else (
        os.WIFEXITED(st) and os.WEXITSTATUS(st) == val)
    if not ok:
        die(f"{kind} ended with wait status {st:#x}, not {how} {val} as it does unwatched")


class SpoolWatch:
    """bench/spool_watch on a directory: {path: CLOCK_BOOTTIME ns of its rename}."""

    def __init__(self, host, spool):
        self.seen = {}
        self.cv = threading.Condition()
        self.p = subprocess.Popen([f"{BUILD}/bench/spool_watch", spool],
                                  stdout=subprocess.PIPE, text=True)
        host.helpers.append(self.p)
        first = self.p.stdout.readline()
        if not first.startswith("offset_ns="):
            die(f"spool_watch did not start: {first!r}")
        self.offset = int(first.split("=")[1])
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            at, path = line.rstrip("\n").split(" ", 1)
            with self.cv:
                self.seen[path] = int(at)
                self.cv.notify_all()

    def at(self, path, timeout=10):
        with self.cv:
            self.cv.wait_for(lambda: path in self.seen, timeout)
            return self.seen.pop(path, None)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            self.p.wait()


class Watcher:
    """A holding `crashwatch watch --json` on a spool of its own."""

    def __init__(self, host, args=(), hold_timeout=10, spool=None, spool_watch=False,
                 stack=False):
        self.host = host
        self.sw = None
        self.hold_timeout = hold_timeout
        self.spool = spool or tempfile.mkdtemp(dir=host.tmp, prefix="spool.")
        self.records = {}  # pid -> [records]
        self.all = []
        self.errs = []
        self.cv = threading.Condition()
        self.argv = [f"{BUILD}/crashwatch", "watch", "--config=", "--hold", "--json",
                     f"--hold-timeout={hold_timeout}", f"--spool={self.spool}", *args]
        if not stack:
            self.argv.append("--no-stack")
        limit = host.core_limit
        self.p = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, start_new_session=True,
                                  preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE,
                                                                        limit))
        host.watcher = self
        self.readers = [threading.Thread(target=self._out, daemon=True),
                        threading.Thread(target=self._err, daemon=True)]
        for t in self.readers:
            t.start()
        deadline = time.monotonic() + 30
        with self.cv:
            while not any(e.startswith("crashwatch: watching") for e in self.errs):
                if self.p.poll() is not None or time.monotonic() > deadline:
                    self.cv.wait(0.2)
                    self.stop()
                    die("the watcher did not start: " + "".join(self.errs))
                self.cv.wait(0.05)
        self.pattern = read(PATTERN)
        if "crashwatch" not in self.pattern:
            die(f"the watcher did not install its core hold: core_pattern is '{self.pattern}': "
                + "".join(self.errs))
        self.sw = SpoolWatch(host, self.spool) if spool_watch else None

    def _out(self):
        for line in self.p.stdout:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            with self.cv:
                self.all.append(rec)
                self.records.setdefault(rec.get("pid"), []).append(rec)
                self.cv.notify_all()

    def _err(self):
        for line in self.p.stderr:
            with self.cv:
                self.errs.append(line)
                self.cv.notify_all()

    def symbol_server(self):
        """The pid of the watcher's symbol server (a child running --symbol-server), or None."""
        for c in children(self.p.pid):
            if "--symbol-server" in cmdline(c):
                return c
        return None

    def wait_for(self, pid, types, timeout=30):
        """PID's records of the given types, once each of them came (None on timeout)."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                recs = self.records.get(pid, [])
                if all(any(r["type"] == t for r in recs) for t in types):
                    return recs
                left = deadline - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    return None
                self.cv.wait(left)

    def still_ours(self):
        if read(PATTERN) != self.pattern:
            die(f"kernel.core_pattern changed under the watcher to '{read(PATTERN)}': "
                "another watcher started?")

    def counters(self):
        for e in self.errs:
            if "counters:" in e:
                return dict(kv.split("=", 1) for kv in e.split("counters:")[1].split())
        return {}

    def server_counters(self):
        for e in self.errs:
            if "symbol server: requests=" in e:
                return dict(kv.split("=", 1) for kv in e.split("symbol server:")[1].split())
        return {}

    def stop(self):
        """SIGTERM (SIGKILL if it does not end); 0 if it exited 0 and gave core_pattern back."""
        rc = 0
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=self.hold_timeout + 10)
            except subprocess.TimeoutExpired:
                log("the watcher did not stop on SIGTERM; killing it")
                self.p.kill()
                self.p.wait()
        if self.p.returncode != 0:
            log(f"the watcher exited with {self.p.returncode}: " + "".join(self.errs[-5:]))
            rc = 1
        for t in self.readers:  # the last lines (counters) are read
            t.join(timeout=5)
        if self.sw:
            self.sw.stop()
        if self.host.watcher is self:
            self.host.watcher = None
        rc |= self.host.give_back_core()
        return rc
