"""Issue 14 items 1 and 6: glibc's abort message (a failed assert() in its
parts) read at the hold at abort()'s entry, and the cause line first."""
import json
import os
import re
import signal
import subprocess

from conftest import SNAPSHOT, TARGETS, Watcher, run_target


def held_at_abort(target):
    """The target run by gdb, left SIGSTOPped at abort()'s entry.  gdb stays
    until release(): its exit would orphan the stopped process group (SIGHUP)."""
    g = subprocess.Popen(
        ["gdb", "-q", "-batch", "-ex", "set pagination off", "-ex", "set startup-with-shell off",
         "-ex", "set breakpoint pending on", "-ex", "break abort", "-ex", "run",
         "-ex", "python import os; os.kill(gdb.selected_inferior().pid, 19)",
         "-ex", "info inferiors", "-ex", "delete", "-ex", "detach", "-ex", "shell read x",
         os.path.join(TARGETS, target)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    pid, said = None, []
    for line in g.stdout:
        said.append(line)
        m = re.search(r"process (\d+)", line)
        if m:
            pid = int(m.group(1))
        if "detached" in line:
            break
    assert pid and any("Breakpoint 1, " in l for l in said), "".join(said)

    def release():
        os.kill(pid, signal.SIGCONT)
        g.stdin.write("\n")
        g.stdin.close()
        g.wait(timeout=30)
    return pid, release


def snapshot_at_abort(target):
    """The tool's snapshot of target held at abort(), as the watcher runs it there."""
    pid, release = held_at_abort(target)
    try:
        r = subprocess.run([SNAPSHOT, "--output=-", "--signal=6", f"--fault-thread={pid}", str(pid)],
                           capture_output=True, text=True, timeout=120)
    finally:
        release()
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_a_failed_assert_says_its_expression_file_line_and_function():
    doc = snapshot_at_abort("assert_fail")
    a = doc["attributes"]
    assert a["assert.expression"] == "value == 0"
    assert a["assert.file"] == "tests/targets/assert_fail.c"
    assert a["assert.line"] == "10" and a["assert.function"] == "check_invariant"
    assert a["abort.message"] == ("assert_fail: tests/targets/assert_fail.c:10: check_invariant: "
                                  "Assertion `value == 0' failed.")
    assert "assertion-failure" in doc["classifiers"]
    assert doc["cause"] == ("assertion failed: value == 0 "
                            "(tests/targets/assert_fail.c:10, check_invariant)")


def test_a_plain_abort_has_no_abort_message():
    doc = snapshot_at_abort("abort")
    assert not any(k.startswith(("abort.", "assert.")) for k in doc["attributes"])
    assert doc["cause"].startswith("abort in do_abort ("), doc["cause"]


def test_on_demand_snapshot_has_no_cause():
    pid, release = held_at_abort("abort")
    try:
        r = subprocess.run([SNAPSHOT, "--output=-", str(pid)], capture_output=True, text=True,
                           timeout=120)
    finally:
        release()
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["cause"] is None


def test_the_readable_snapshot_line_says_the_cause(tmp_path):
    """A null dereference (its core dump held by the watcher): the cause in the
    document and at the end of the readable snapshot line."""
    w = Watcher("--hold", f"--spool={tmp_path / 'spool'}", json_output=False)
    try:
        ran = run_target("null_deref")
        line = w.wait_for(lambda l: f" snapshot pid={ran.pid} " in l, what="snapshot line")
    finally:
        assert w.stop() == 0
    path = re.search(r" path=(\S+)", line).group(1)
    with open(path) as f:
        doc = json.load(f)
    assert re.fullmatch(r"null pointer dereference at 0x0 in crash_null_deref "
                        r"\(\S*null_deref\.c:\d+\)", doc["cause"]), doc["cause"]
    assert line.rstrip("\n").endswith(f' cause="{doc["cause"]}"'), line
    # Held on its way out (its core dump): captured at its exit stops.
    assert doc["capture"]["method"] == "ptrace-at-exit", doc["capture"]
