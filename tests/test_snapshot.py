"""crashwatch-snapshot against real processes: threads parked in known call
chains, crashes held in their handlers, bad input, being killed mid-way, cores."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import SNAPSHOT, TARGETS

WORKER_CHAIN = ["chain_three", "chain_two", "chain_one", "park_worker"]
MAIN_CHAIN = ["park_main", "main"]


def start(name, *args):
    """Start a target and wait until it says ready; returns (proc, what it said)."""
    proc = subprocess.Popen([os.path.join(TARGETS, name), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    said = {}
    for line in proc.stdout:
        key, _, value = line.strip().partition("=")
        said.setdefault(key, []).append(value)
        if key == "ready":
            return proc, said
    raise AssertionError(f"{name} never got ready: {said}")


def stop(proc):
    proc.kill()
    proc.wait()


def snapshot(*args, ok=True):
    r = subprocess.run([SNAPSHOT, "--output=-", *map(str, args)], capture_output=True,
                       text=True, timeout=120)
    if ok:
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)
    return r


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def assert_running_untraced(pid):
    """The target is neither stopped nor traced: the tool let it go."""
    deadline = time.monotonic() + 5
    while True:
        st = proc_status(pid)
        if st["TracerPid"] == "0" and st["State"][0] in "RSD":
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"target left {st['State']}, TracerPid {st['TracerPid']}")
        time.sleep(0.02)


def functions(thread):
    return [f["function"] for f in thread["frames"]]


def in_order(names, chain):
    """chain appears in names consecutively, innermost first."""
    return any(names[i:i + len(chain)] == chain for i in range(len(names)))


@pytest.mark.parametrize("nthreads", [1, 8, 64])
def test_every_thread_unwound_in_its_call_chain(nthreads):
    proc, said = start("parked_threads", str(nthreads))
    try:
        snap = snapshot(proc.pid)
        assert_running_untraced(proc.pid)
    finally:
        stop(proc)
    assert snap["version"] == 1
    assert snap["process"]["pid"] == proc.pid
    assert snap["process"]["exe"].endswith("/parked_threads")
    assert snap["capture"]["method"] == "ptrace"
    assert 0 < snap["capture"]["pause_ms"] <= snap["capture"]["total_ms"]
    threads = {t["tid"]: t for t in snap["threads"]}
    assert len(threads) == nthreads
    assert sorted(int(t) for t in said.get("worker_tid", [])) == sorted(
        t for t in threads if t != proc.pid)
    main = threads[proc.pid]
    assert in_order(functions(main), MAIN_CHAIN), functions(main)
    for tid, t in threads.items():
        assert t["error"] is None
        assert t["registers"]["rip"] == t["frames"][0]["pc"]
        assert not t["faulted"]
        if tid != proc.pid:
            assert in_order(functions(t), WORKER_CHAIN), functions(t)
    top = main["frames"][0]
    assert top["module"] and len(top["build_id"]) == 40
    assert any(f["file"] and f["file"].endswith("parked_threads.c") for f in main["frames"])
    paths = [m["path"] for m in snap["modules"]]
    assert any(p.endswith("/parked_threads") for p in paths)
    assert any("libc.so" in p for p in paths)


CAUSES = {
    "null": ("SIGSEGV", "SEGV_MAPERR", "null-pointer-dereference", "crash_null"),
    "stack_overflow": ("SIGSEGV", "SEGV_MAPERR", "stack-overflow", "crash_recurse"),
    "abort": ("SIGABRT", "SI_TKILL", "abort", "crash_abort"),
    "assert": ("SIGABRT", "SI_TKILL", "assertion-failure", "crash_assert"),
    "stack_protector": ("SIGABRT", "SI_TKILL", "stack-protector-failure", "crash_stack_protector"),
    "fpe": ("SIGFPE", "FPE_INTDIV", "division-by-zero", "crash_fpe"),
    "ill": ("SIGILL", "ILL_ILLOPN", "illegal-instruction", "crash_ill"),
    "write_ro": ("SIGSEGV", "SEGV_ACCERR", "write-to-read-only-memory", "crash_write_ro"),
    "exec_nx": ("SIGSEGV", "SEGV_ACCERR", "execute-non-executable-memory", None),
}


@pytest.mark.parametrize("kind", sorted(CAUSES))
def test_crash_held_in_its_handler_is_classified(kind):
    sig, code, cause, function = CAUSES[kind]
    proc, said = start("crash_and_park", kind)
    try:
        snap = snapshot(f"--fault-thread={proc.pid}", f"--signal={said['signal'][0]}",
                        f"--si-code={said['si_code'][0]}",
                        f"--fault-addr={said['fault_addr'][0]}", "--classifier=given",
                        "--kv=build:42", proc.pid)
        assert_running_untraced(proc.pid)
    finally:
        stop(proc)
    assert snap["classifiers"] == ["given", sig, code, cause]
    # glibc's own message, at SIGABRT, when it left one (__abort_msg).
    glibc = {
        "assert": {"abort.message": "crash_and_park: tests/targets/crash_and_park.c:53: "
                                    "crash_assert: Assertion `v == 0' failed.",
                   "assert.expression": "v == 0", "assert.file": "tests/targets/crash_and_park.c",
                   "assert.line": "53", "assert.function": "crash_assert"},
        "stack_protector": {"abort.message": "*** stack smashing detected ***: terminated"},
    }.get(kind, {})
    assert snap["attributes"] == {"build": "42", **glibc}
    if kind == "assert":
        assert snap["cause"] == ("assertion failed: v == 0 "
                                 "(tests/targets/crash_and_park.c:53, crash_assert)")
    assert snap["signal"]["name"] == sig and snap["signal"]["code_name"] == code
    faulted = [t for t in snap["threads"] if t["faulted"]]
    assert [t["tid"] for t in faulted] == [proc.pid]
    frames = faulted[0]["frames"]
    names = [f["function"] for f in frames]
    # The handler runs on top; past the signal frame, the interrupted context.
    assert "on_signal" in names
    interrupted = [f for f in frames[names.index("on_signal") + 1:] if f["signal_frame"]]
    assert interrupted, names
    if function:
        assert function in names[names.index("on_signal"):], names


def test_already_traced_gives_a_clear_error():
    proc, _ = start("parked_threads", "2")
    tracer = subprocess.Popen(["strace", "-p", str(proc.pid), "-o", "/dev/null"],
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while proc_status(proc.pid)["TracerPid"] == "0":
            assert time.monotonic() < deadline, "strace never attached"
            time.sleep(0.02)
        r = snapshot(proc.pid, ok=False)
        assert r.returncode == 7
        assert f"already traced by {tracer.pid}" in r.stderr
        assert r.stdout == ""
    finally:
        tracer.terminate()
        tracer.wait()
        assert_running_untraced(proc.pid)
        stop(proc)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killing_the_tool_mid_snapshot_leaves_the_target_running(sig):
    # --at-exit on a process that is not exiting keeps every thread seized
    # until the tool is killed: the kernel must then release them.
    proc, _ = start("parked_threads", "16")
    try:
        tool = subprocess.Popen([SNAPSHOT, "--at-exit", "--output=-", str(proc.pid)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while proc_status(proc.pid)["TracerPid"] == "0":
            assert time.monotonic() < deadline, "the tool never attached"
            time.sleep(0.01)
        tool.send_signal(sig)
        out, err = tool.communicate(timeout=30)
        assert tool.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 128 + sig)
        assert out == ""
        for tid in os.listdir(f"/proc/{proc.pid}/task"):
            assert_running_untraced(int(tid))
        # And it still works: another snapshot sees every thread.
        assert len(snapshot(proc.pid)["threads"]) == 16
    finally:
        stop(proc)


def test_timeout_releases_the_target():
    proc, _ = start("parked_threads", "4")
    try:
        t0 = time.monotonic()
        r = snapshot("--at-exit", "--timeout=1", proc.pid, ok=False)
        assert r.returncode == 8
        assert "timed out" in r.stderr
        assert time.monotonic() - t0 < 10
        assert_running_untraced(proc.pid)
    finally:
        stop(proc)


def test_at_exit_snapshot_of_a_dying_process_keeps_its_death():
    proc, _ = start("parked_threads", "4")
    tool = subprocess.Popen([SNAPSHOT, "--at-exit", "--output=-", str(proc.pid)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while proc_status(proc.pid)["TracerPid"] == "0":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.2)  # every thread seized
    os.kill(proc.pid, signal.SIGTERM)
    out, err = tool.communicate(timeout=60)
    assert tool.returncode == 0, err
    assert proc.wait(timeout=30) == -signal.SIGTERM  # died exactly as it would have
    snap = json.loads(out)
    assert snap["capture"]["method"] == "ptrace-at-exit"
    assert len(snap["threads"]) == 4
    for t in snap["threads"]:
        assert t["frames"], t


def test_thread_filter_and_environment_opt_in():
    proc, said = start("parked_threads", "4")
    try:
        worker = int(said["worker_tid"][0])
        snap = snapshot(f"--thread={worker}", proc.pid)
        assert [t["tid"] for t in snap["threads"]] == [worker]
        assert "environment" not in snap["process"]
        snap = snapshot("--env", proc.pid)
        assert snap["process"]["environment"]["PATH"] == os.environ["PATH"]
    finally:
        stop(proc)


def test_snapshot_file_is_written_and_its_path_printed(tmp_path):
    proc, _ = start("parked_threads", "2")
    try:
        r = subprocess.run([SNAPSHOT, f"--output={tmp_path}", str(proc.pid)],
                           capture_output=True, text=True, timeout=60)
    finally:
        stop(proc)
    assert r.returncode == 0, r.stderr
    path = r.stdout.strip()
    assert os.path.dirname(path) == str(tmp_path)
    assert os.listdir(tmp_path) == [os.path.basename(path)]  # no temporary left
    with open(path) as f:
        snap = json.load(f)
    assert path.endswith(snap["uuid"] + ".json")
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_bad_input_one_line_and_a_distinct_exit_code():
    def run(*args, **kw):
        return subprocess.run([SNAPSHOT, *map(str, args)], capture_output=True, text=True,
                              timeout=60, **kw)

    r = run(4194303)  # above pid_max on every host
    assert r.returncode == 3 and "no process with pid 4194303" in r.stderr
    r = run(2)  # kthreadd
    assert r.returncode == 4 and "kernel thread" in r.stderr
    zombie = subprocess.Popen(["/bin/true"])
    while proc_status(zombie.pid)["State"][0] != "Z":
        time.sleep(0.01)
    r = run(zombie.pid)
    assert r.returncode == 5 and "zombie" in r.stderr
    zombie.wait()
    for args, message in [(["--thread=abc", 1], "bad --thread 'abc'"),
                          (["--kv=novalue", 1], "bad --kv 'novalue'"),
                          (["--timeout=0", 1], "bad --timeout '0'"),
                          (["12abc"], "bad PID '12abc'"),
                          ([], "give one PID"),
                          (["--bogus", 1], "unknown option '--bogus'")]:
        r = run(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert message in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    proc, _ = start("parked_threads", "2")
    try:
        r = run(proc.pid, preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
        assert r.returncode == 6 and "not permitted to trace" in r.stderr
        assert_running_untraced(proc.pid)
    finally:
        stop(proc)


def test_core_file_snapshot_matches_the_live_one(tmp_path):
    proc, _ = start("parked_threads", "4")
    try:
        live = snapshot(proc.pid)
        core = tmp_path / "core"
        g = subprocess.run(["gdb", "-batch", "-nx", "-p", str(proc.pid), "-ex",
                            f"gcore {core}"], capture_output=True, text=True, timeout=120)
        assert core.exists(), g.stderr
        assert_running_untraced(proc.pid)
    finally:
        stop(proc)
    from_file = snapshot(f"--core={core}")
    with open(core, "rb") as f:
        from_stdin = json.loads(subprocess.run([SNAPSHOT, "--output=-", "--core=-"], stdin=f,
                                               capture_output=True, text=True,
                                               timeout=120).stdout)
    for snap in (from_file, from_stdin):
        assert snap["capture"]["method"] == "core"
        # A core carries no cgroup nor namespaces: all unknown, and no cgroup_id.
        assert snap["container"] == dict.fromkeys(
            ("cgroup", "runtime", "id", "pod_uid", "systemd_unit", "pid_ns", "mnt_ns"))
        assert snap["process"]["pid"] == proc.pid
        assert snap["process"]["comm"] == "parked_threads"
        for t in snap["threads"]:
            assert t["registers"]["rip"] == t["frames"][0]["pc"]  # from NT_PRSTATUS
        chains = {t["tid"]: functions(t) for t in snap["threads"]}
        live_chains = {t["tid"]: functions(t) for t in live["threads"]}
        assert chains.keys() == live_chains.keys()
        for tid, names in live_chains.items():
            # Same functions, but for frames in gdb's own stop (the syscall may differ).
            assert names[1:] == chains[tid][1:], (tid, names, chains[tid])


def test_every_module_names_its_build_id():
    """ld.so and libraries no frame falls in have build-ids too (backends match
    debug files by them)."""
    proc, _ = start("parked_threads")
    try:
        snap = snapshot(proc.pid)
    finally:
        stop(proc)
    paths = {m["path"]: m["build_id"] for m in snap["modules"]}
    assert any("ld-linux" in p for p in paths), paths
    for path, build_id in paths.items():
        assert build_id and len(build_id) == 40, (path, build_id)


def test_cpp_frames_are_demangled_and_keep_the_raw_symbol():
    """A C++ target parked in ns::Parked::park(int) under ns::hold<int>(int): frames
    name the demangled function, `symbol` the mangled one, null for C names."""
    proc, _ = start("cpp_parked")
    try:
        snap = snapshot(proc.pid)
    finally:
        stop(proc)
    frames = snap["threads"][0]["frames"]
    by_function = {f["function"]: f for f in frames if f["function"]}
    park = by_function["ns::Parked::park(int)"]
    assert park["symbol"] == "_ZN2ns6Parked4parkEi"
    hold = by_function["void ns::hold<int>(int)"]
    assert hold["symbol"] == "_ZN2ns4holdIiEEvT_"
    assert by_function["main"]["symbol"] is None
    assert all(f["symbol"] is None or f["symbol"].startswith("_Z") for f in frames)
    assert all(f["symbol"] is None for f in frames if not f["function"])
    assert [f["function"] for f in frames].index("ns::Parked::park(int)") < \
        [f["function"] for f in frames].index("void ns::hold<int>(int)")
