"""The watcher as a user meets it: readable output, errors, options, clean stop."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import BPF_PROG_NAMES, WATCHER, Watcher, run_target


def our_prog_ids():
    out = subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True, text=True,
                         check=True).stdout
    return {p["id"] for p in json.loads(out) if p.get("name") in BPF_PROG_NAMES}


def test_readable_output_shows_the_crash_and_its_stack():
    w = Watcher(json_output=False)
    try:
        ran = run_target("null_deref")
        line = w.wait_for(lambda l: f" signal pid={ran.pid} " in l, what="signal line")
        assert re.search(
            rf" signal pid={ran.pid} tid={ran.pid} comm=null_deref sig=SIGSEGV code=SEGV_MAPERR "
            r"addr=0x0 handler=default exe=\S+/tests/targets/null_deref ppid=\d+ uid=0", line)
        # The frames follow their own event's line (another crash may print meanwhile).
        w.wait_for(lambda l: f" exit pid={ran.pid} " in l, what="exit line")
        frame = w.seen[w.seen.index(line) + 1]
        assert re.match(r"    #0  0x[0-9a-f]{16} crash_null_deref\+0x[0-9a-f]+ "
                        r"\(tests/targets/null_deref\.c:\d+\) in \S+/null_deref\+0x[0-9a-f]+ "
                        r"build-id=[0-9a-f]{40}$", frame), frame
        exit_line = w.wait_for(lambda l: f" exit pid={ran.pid} " in l, what="exit line")
        assert "status=killed:SIGSEGV core=no seen=SIGSEGV" in exit_line
    finally:
        assert w.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_detaches_everything_and_exits_0(sig):
    before = our_prog_ids()
    w = Watcher()
    mine = our_prog_ids() - before
    rc = w.stop(sig)
    assert len(mine) >= 3, "the watcher's BPF programs were not loaded"
    assert rc == 0, w.stderr_lines
    assert any(l.startswith("crashwatch: counters: ") for l in w.stderr_lines)
    assert "crashwatch: stopped, everything detached" in w.stderr_lines
    # The kernel frees a program after an RCU grace period, not at close().
    deadline = time.monotonic() + 10
    while our_prog_ids() & mine and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not (our_prog_ids() & mine), "BPF programs left loaded after the watcher stopped"


def test_not_root_says_so():
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", WATCHER,
                        "watch"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "crashwatch: must run as root" in r.stderr
    assert "sudo" in r.stderr


@pytest.mark.parametrize("args,message", [
    (["--signals=SEGV,BOGUS"], "'BOGUS' is not a signal name"),
    (["--stack-bytes=12abc"], "bad --stack-bytes '12abc'"),
    (["--ringbuf-size=5000"], "power of two"),
    (["--no-such-option"], "unknown option '--no-such-option'"),
])
def test_bad_options_exit_2_with_a_reason(args, message):
    r = subprocess.run([WATCHER, "watch", *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert message in r.stderr


@pytest.mark.parametrize("value,says", [
    ("STOP", "bad --signals 'STOP': SIGSTOP cannot be watched: it stops, it does not kill"),
    ("SEGV,KILL", "bad --signals 'SEGV,KILL': SIGKILL cannot be watched: it cannot be caught"),
    ("CONT", "SIGCONT cannot be watched: it is job control"),
    ("TSTP", "SIGTSTP cannot be watched: it is job control (a stop)"),
    ("TTIN", "SIGTTIN cannot be watched"),
    ("TTOU", "SIGTTOU cannot be watched"),
    ("CHLD", "SIGCHLD cannot be watched: it is ignored by default, never fatal"),
    ("WINCH", "SIGWINCH cannot be watched"),
    ("URG", "SIGURG cannot be watched"),
    ("32", "glibc uses it to cancel threads"),
    ("33", "glibc uses it for setuid()"),
])
def test_signals_that_must_not_be_watched_are_refused(tmp_path, value, says):
    """Issue 12 row 4: `--signals=STOP` made `kill -STOP` of any process stop nothing."""
    r = subprocess.run([WATCHER, "watch", f"--signals={value}"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
    assert says in r.stderr
    # The config file's key says the same, through `config check` and the watcher.
    conf = tmp_path / "crashwatch.conf"
    conf.write_text(f"[watch]\nsignals = {value}\n")
    c = subprocess.run([WATCHER, "config", "check", str(conf)], capture_output=True,
                       text=True, timeout=30)
    assert c.returncode == 1 and f"{conf}:2: key 'signals': " in c.stdout and says in c.stdout
    w = subprocess.run([WATCHER, "watch", f"--config={conf}"], capture_output=True, text=True,
                       timeout=30)
    assert w.returncode == 2 and says in w.stderr


def test_unknown_command():
    r = subprocess.run([WATCHER, "frobnicate"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "unknown command 'frobnicate'" in r.stderr


def test_nonzero_exit_option_reports_failed_exits():
    w = Watcher("--nonzero-exit")
    try:
        sh = subprocess.Popen(["/bin/sh", "-c", "exit 3"])
        sh.wait()
        rec = w.records_for(sh.pid, "exit")
        assert rec["exit_code"] == 3
        assert rec["killed_by"] is None
        assert rec["seen_at_delivery"] is None
        ok = subprocess.Popen(["/bin/true"])
        ok.wait()
        marker = run_target("sigfpe")
        w.records_for(marker.pid, "exit")
        assert not [r for r in w.seen if r["pid"] == ok.pid]
    finally:
        assert w.stop() == 0


def test_signals_option_narrows_what_is_watched():
    w = Watcher("--signals=FPE")
    try:
        segv = run_target("null_deref")
        fpe = run_target("sigfpe")
        w.records_for(fpe.pid, "exit")
        assert not [r for r in w.seen if r["pid"] == segv.pid]
    finally:
        assert w.stop() == 0


def memory_cgroup_dir():
    """A memory cgroup parent we may create a child in, v1 or v2, from mountinfo."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, opts = fields[sep + 1], fields[sep + 3]
            mnt = fields[4]
            if fstype == "cgroup" and "memory" in opts.split(","):
                return mnt, "v1"
            if fstype == "cgroup2":
                try:
                    with open(os.path.join(mnt, "cgroup.subtree_control")) as s:
                        if "memory" in s.read().split():
                            return mnt, "v2"
                except OSError:
                    pass
    return None, None


def test_oom_kill_is_reported_as_such():
    parent, version = memory_cgroup_dir()
    if not parent:
        pytest.skip("no memory cgroup controller to make an OOM kill in")
    cg = os.path.join(parent, f"crashwatch-test-oom-{os.getpid()}")
    os.mkdir(cg)
    w = None
    try:
        limit = "memory.limit_in_bytes" if version == "v1" else "memory.max"
        with open(os.path.join(cg, limit), "w") as f:
            f.write(str(32 << 20))
        if version == "v2":
            with open(os.path.join(cg, "memory.swap.max"), "w") as f:
                f.write("0")
        w = Watcher()
        hog = subprocess.Popen(
            ["/bin/sh", "-c", f"echo $$ > {cg}/cgroup.procs && "
             "exec /usr/bin/python3 -c 'b = bytearray(512 << 20)'"],
            stderr=subprocess.DEVNULL)
        _, status = os.waitpid(hog.pid, 0)
        hog.returncode = -1
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        rec = w.records_for(hog.pid, "exit")
        assert rec["oom_victim"] is True
        assert rec["killed_by"] == "SIGKILL"
        assert rec["seen_at_delivery"] is None
        assert rec["status"] == status
    finally:
        if w:
            assert w.stop() == 0
            assert w.counters()["oom_victims"] >= 1
        for _ in range(50):
            try:
                os.rmdir(cg)
                break
            except OSError:
                time.sleep(0.1)
        assert not os.path.exists(cg), f"could not remove the test cgroup {cg}"
