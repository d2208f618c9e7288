"""Issue 14 items 2 and 3: why a C++ or Rust program died, in its own words.

An uncaught C++ exception: std::terminate() aborts, held at abort(); the
snapshot tool reads the exception being handled on the terminating thread
from libstdc++'s own state (its type, what() of a runtime_error or
logic_error).  A Rust panic: the watcher probes std's panic path in each
Rust executable as it starts; panic=abort is held at abort(), panic=unwind at
rust_panic on the main thread (exit status 101, no signal), and a panic a
catch_unwind catches, or that ends only a worker thread, is no crash.  Each
dies exactly as it does without the watcher."""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import TARGETS, Watcher, finish, no_core


def start(name, *args, stdin=subprocess.PIPE, exe=None):
    return subprocess.Popen(
        [exe or os.path.join(TARGETS, name), *args], stdin=stdin, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=no_core,
        env={**os.environ, "RUST_BACKTRACE": "0"})


def run_alone(name, *args, exe=None):
    """A run (it reads "go" and goes on), for the runs with no watcher."""
    proc = start(name, *args, exe=exe)
    proc.stdin.write("go\n")
    proc.stdin.close()
    return finish(proc)


# What each run does with no watcher on the host: taken before the watcher starts.
ALONE = [("cpp_uncaught", a) for a in ("runtime", "system", "range", "struct", "int")] + [
    ("rust_index", ()), ("rust_index_opt", ()), ("rust_index", ("thread",)),
    ("rust_index_abort", ()), ("rust_index_abort", ("thread",)),
    ("rust_index_abort_stripped", ()), ("rust_index_stripped", ()), ("rust_caught", ()),
    ("rust_caught_opt", ())]
_alone = {}


def unwatched(name, *args, exe=None):
    """name's run with no watcher (exe: a stripped copy of it, the same program)."""
    return _alone[(name, args)]


@pytest.fixture(scope="module", autouse=True)
def alone():
    for name, args in ALONE:
        args = (args,) if isinstance(args, str) else tuple(args)
        _alone[(name, args)] = run_alone(name, *args)


def drain(w, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        w._read(0.05)


def load(rec):
    assert rec["tool_status"] == 0 and rec["path"] and not rec["partial"], rec
    with open(rec["path"]) as f:
        return json.load(f)


def faulted(snap):
    (t,) = [t for t in snap["threads"] if t["faulted"]]
    return t


@pytest.fixture(scope="module")
def w(alone, tmp_path_factory):
    spool = tmp_path_factory.mktemp("why") / "spool"
    debug = tmp_path_factory.mktemp("why-debug")
    w = Watcher("--hold", f"--spool={spool}", "--dedup-window=0", "--rate-limit=0", "-v",
                f"--debug-dir={debug}")
    w.debug_tree = debug
    yield w
    assert w.stop() == 0, w.stderr_lines[-20:]
    c = w.counters()
    assert c["rust_probes_failed"] == 0 and c["rust_binaries_skipped"] == 0
    assert c["dropped_ringbuf_full"] == 0 and c["malformed"] == 0


# ---- C++ ------------------------------------------------------------------

CXX = {  # argument: (exception.type, exception.message or None, what libstdc++ prints)
    "runtime": ("std::runtime_error", "connection refused",
                "terminate called after throwing an instance of 'std::runtime_error'"),
    "system": ("std::system_error", "connect: Connection refused",
               "terminate called after throwing an instance of 'std::system_error'"),
    "range": ("std::out_of_range", None,
              "terminate called after throwing an instance of 'std::out_of_range'"),
    "struct": ("billing::Declined", None,
               "terminate called after throwing an instance of 'billing::Declined'"),
    "int": ("int", None, "terminate called after throwing an instance of 'int'"),
}


@pytest.mark.parametrize("how", list(CXX))
def test_an_uncaught_cpp_exception_says_its_type_and_message(w, how):
    want_type, want_msg, first_line = CXX[how]
    before = unwatched("cpp_uncaught", how)
    proc = start("cpp_uncaught", how, stdin=subprocess.DEVNULL)
    ran = finish(proc)
    # Died as without the watcher: SIGABRT, libstdc++'s own words on stderr.
    assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGABRT
    assert ran.status == before.status
    assert ran.stderr.splitlines()[0] == first_line == before.stderr.splitlines()[0]
    assert ran.stderr == before.stderr
    pid = int(re.search(r"pid=(\d+)", ran.stdout).group(1))
    rec = w.records_for(pid, "abort", timeout=30)
    assert rec["held"] is True
    snap = load(w.records_for(pid, "snapshot", timeout=30))
    a = snap["attributes"]
    assert a["exception.type"] == want_type, a
    if how == "range":  # vector::at's message, whatever the exact text of this libstdc++
        want_msg = re.search(r"what\(\):  (.*)", ran.stderr).group(1)
    if want_msg:
        assert a["exception.message"] == want_msg
        assert snap["cause"] == f"uncaught exception {want_type}: {want_msg}"
    else:
        assert "exception.message" not in a
        assert snap["cause"] == f"uncaught exception {want_type}"
    assert "cpp-exception" in snap["classifiers"]
    # Thrown on the worker thread: that is the faulted one, its frames demangled.
    t = faulted(snap)
    assert t["tid"] == rec["tid"] and t["tid"] != pid
    names = [f["function"] for f in t["frames"]]
    assert "std::terminate()" in names or "__cxa_throw" in names, names
    if how != "range":
        assert "fail(char const*)" in names, names
        i = names.index("fail(char const*)")
        assert t["frames"][i]["symbol"] == "_ZL4failPKc"


def test_abort_in_a_catch_block_is_no_uncaught_exception(w, tmp_path):
    """An exception being handled when the program aborts itself: not uncaught."""
    src = tmp_path / "catch_abort.cpp"
    src.write_text('#include <cstdlib>\n#include <stdexcept>\n#include <cstdio>\n'
                   '#include <unistd.h>\n'
                   'int main() { std::printf("pid=%d\\n", (int)getpid()); std::fflush(stdout);\n'
                   ' try { throw std::runtime_error("handled"); }\n'
                   ' catch (const std::exception &) { std::abort(); } }\n')
    exe = tmp_path / "catch_abort"
    subprocess.run(["g++", "-O0", "-g", "-o", str(exe), str(src)], check=True)
    ran = finish(start("", exe=str(exe), stdin=subprocess.DEVNULL))
    assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGABRT
    pid = int(re.search(r"pid=(\d+)", ran.stdout).group(1))
    snap = load(w.records_for(pid, "snapshot", timeout=30))
    assert "exception.type" not in snap["attributes"]
    assert "cpp-exception" not in snap["classifiers"]
    assert snap["cause"].startswith("abort in main"), snap["cause"]


# ---- Rust -----------------------------------------------------------------

INDEX_MSG = "index out of bounds: the len is 3 but the index is 7"
INDEX_AT = "tests/targets/rust/rust_index.rs:7:5"
INDEX_CAUSE = f"panicked at '{INDEX_MSG}', {INDEX_AT}"


def run_probed(w, name, *args, exe=None):
    """Start name, let it panic once the watcher has probed its file; how it ended."""
    proc = start(name, *args, exe=exe)
    try:
        assert proc.stdout.readline().strip() == f"pid={proc.pid}"
        w.wait_stderr(rf"probing std's panic path \(.*\) in \S*/{re.escape(exe and os.path.basename(exe) or name)}, "
                      rf"the Rust executable of pid", timeout=15)
        proc.stdin.write("go\n")
        proc.stdin.close()
        return finish(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()


def same_death(ran, before, status=None):
    assert ran.status == before.status
    if status is not None:
        assert os.WIFEXITED(ran.status) and os.WEXITSTATUS(ran.status) == status
    assert ran.stderr == before.stderr, (ran.stderr, before.stderr)


def rust_frames(snap):
    return [f["function"] for f in faulted(snap)["frames"]]


@pytest.mark.parametrize("name", ["rust_index", "rust_index_opt", "rust_index_with_debug_file"])
def test_an_unwinding_panic_in_main_is_held_at_rust_panic(w, name, tmp_path):
    exe = None
    if name == "rust_index_with_debug_file":
        # Stripped; its symbols in a .build-id tree the watcher was given (--debug-dir).
        exe = str(tmp_path / name)
        shutil.copy(os.path.join(TARGETS, "rust_index"), exe)
        bid = re.search(r"Build ID: (\w+)", subprocess.run(
            ["readelf", "-n", exe], capture_output=True, text=True).stdout).group(1)
        debug = w.debug_tree / ".build-id" / bid[:2] / f"{bid[2:]}.debug"
        debug.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["objcopy", "--only-keep-debug", exe, str(debug)], check=True)
        subprocess.run(["strip", exe], check=True)
    target = "rust_index_opt" if name == "rust_index_opt" else "rust_index"
    before = unwatched(target, exe=exe)
    ran = run_probed(w, target, exe=exe)
    # Exit status 101, no signal, the same panic message on stderr.
    same_death(ran, before, 101)
    assert f"thread 'main' panicked at '{INDEX_MSG}', {INDEX_AT}" in ran.stderr
    rec = w.records_for(ran.pid, "rust-panic", timeout=30)
    assert rec["held"] is True and rec["signal"]["number"] == 0
    snap = load(w.records_for(ran.pid, "snapshot", timeout=30))
    assert snap["signal"] is None and "rust-panic" in snap["classifiers"]
    assert snap["attributes"]["panic.message"] == INDEX_MSG
    assert snap["attributes"]["panic.location"] == INDEX_AT
    assert snap["cause"] == INDEX_CAUSE
    names = rust_frames(snap)
    # Demangled (legacy mangling, hash dropped); the raw name kept.
    assert "rust_index::main" in names, names
    if name == "rust_index_opt":  # pick is inlined into main, and no line tables
        return
    assert "rust_index::pick" in names, names
    pick = faulted(snap)["frames"][names.index("rust_index::pick")]
    assert pick["symbol"].startswith("_ZN10rust_index4pick17h")
    assert pick["file"].endswith("tests/targets/rust/rust_index.rs") and pick["line"] == 7
    # No exit record: the kernel did not flag it (a caught panic's exit is no crash).
    drain(w, 0.5)
    assert not [r for r in w.seen if r["type"] == "exit" and r["pid"] == ran.pid]


@pytest.mark.parametrize("args", [(), ("thread",)])
def test_a_panic_abort_panic_is_held_at_abort_with_its_message(w, args):
    before = unwatched("rust_index_abort", *args)
    ran = run_probed(w, "rust_index_abort", *args)
    same_death(ran, before)
    assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGABRT
    rec = w.records_for(ran.pid, "abort", timeout=30)
    assert rec["held"] is True
    snap = load(w.records_for(ran.pid, "snapshot", timeout=30))
    at = INDEX_AT if not args else INDEX_AT
    msg = INDEX_MSG if not args else INDEX_MSG.replace("index is 7", "index is 8")
    assert snap["attributes"]["panic.message"] == msg
    assert snap["attributes"]["panic.location"] == at
    assert snap["cause"] == f"panicked at '{msg}', {at}"
    assert snap["classifiers"][:1] == ["SIGABRT"] and "rust-panic" in snap["classifiers"]
    if args:  # the worker thread panicked: it is the faulted one
        assert faulted(snap)["tid"] != ran.pid
    assert "rust_index::pick" in rust_frames(snap)
    # One crash, one hold: not again at the SIGABRT's delivery.
    drain(w, 0.5)
    assert len([r for r in w.seen if r["type"] == "snapshot" and r["pid"] == ran.pid]) == 1


def test_a_stripped_panic_abort_binary_is_still_held_at_abort(w):
    """No symbols and no debug file: std's panic path cannot be found; abort() is
    held all the same, as any abort, and the death is the same."""
    before = unwatched("rust_index_abort_stripped")
    proc = start("rust_index_abort_stripped")
    assert proc.stdout.readline().strip() == f"pid={proc.pid}"
    proc.stdin.write("go\n")
    proc.stdin.close()
    ran = finish(proc)
    same_death(ran, before)
    assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGABRT
    snap = load(w.records_for(ran.pid, "snapshot", timeout=30))
    assert snap["classifiers"][0] == "SIGABRT" and "rust-panic" not in snap["classifiers"]


def test_a_stripped_unwinding_binary_dies_as_without_the_watcher(w):
    """Stripped, no debug file: nothing to probe, nothing held; exit status 101."""
    before = unwatched("rust_index_stripped")
    proc = start("rust_index_stripped")
    assert proc.stdout.readline().strip() == f"pid={proc.pid}"
    proc.stdin.write("go\n")
    proc.stdin.close()
    ran = finish(proc)
    same_death(ran, before, 101)
    drain(w, 1.0)
    assert not [r for r in w.seen if r.get("pid") == ran.pid]


@pytest.mark.parametrize("name", ["rust_caught", "rust_caught_opt"])
def test_caught_panics_are_no_crash(w, name):
    """One caught by catch_unwind in main (held, then let go with no report), one
    ending a worker thread (not even held).  Optimized, the catch_unwind is inlined:
    no frame is named for it, its landing pad still catches."""
    before = unwatched(name)
    ran = run_probed(w, name)
    same_death(ran, before, 0)
    assert "caught: true" in ran.stdout and "joined: true" in ran.stdout
    w.wait_stderr(rf"the panic of {ran.pid} \({name}\) is caught by a catch_unwind: "
                  r"not a crash", timeout=30)
    drain(w, 1.0)
    assert not [r for r in w.seen if r.get("pid") == ran.pid]


def test_a_panic_ending_only_a_worker_thread_is_no_crash(w):
    before = unwatched("rust_index", "thread")
    ran = run_probed(w, "rust_index", "thread")
    same_death(ran, before, 0)
    assert "joined: true" in ran.stdout
    drain(w, 1.0)
    assert not [r for r in w.seen if r.get("pid") == ran.pid]
