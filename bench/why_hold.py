#!/usr/bin/python3
"""Issue 14's benchmark: what holding an uncaught C++ exception or a Rust panic costs.

For each kind, RUNS times with no watcher and RUNS times under one watcher (its
files probed at their first run): the death as its parent sees it, the watcher's
held_ms and the tool's pause.  Kinds:
  cpp_uncaught     a std::system_error thrown on a worker thread: abort() hold, the
                   exception read from libstdc++ in the pause (spawn to waitpid)
  rust_index       panic=unwind in main: held at rust_panic, exit status 101
  rust_index_abort panic=abort: held at abort(), the panic's note read in the pause
  rust_caught      a panic caught by catch_unwind (held at rust_panic until the tool
                   sees the catching frame, then let go: no snapshot) and one ending a
                   worker thread (not held); the run exits 0
Rust targets: from the line on their stdin (the panic's trigger) to waitpid.
Usage: make bench-why   (RUNS=N, default 7)
"""
import json
import os
import resource
import subprocess
import time

import cwbench as cb

RUNS = int(os.environ.get("RUNS", "7"))
KINDS = [("cpp_uncaught", ["system"], 134), ("rust_index", [], 101),
         ("rust_index_abort", [], 134), ("rust_caught", [], 0)]


def crash(host, name, args, watcher=None):
    """One run: (death in ms, pid, exit status as the shell would say it)."""
    path = os.path.join(cb.BUILD, "tests", "targets", name)
    rust = name.startswith("rust_")
    t0 = time.perf_counter_ns()
    p = subprocess.Popen([path, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True,
                         env={**os.environ, "RUST_BACKTRACE": "0"},
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
    host.targets.append(p.pid)
    if rust:
        p.stdout.readline()
        # Its file is probed once, at its first run: wait for that line the first time.
        deadline = time.monotonic() + 10
        while watcher and not any(f"/{name}, the Rust executable" in e for e in watcher.errs):
            if time.monotonic() > deadline:
                cb.die(f"the watcher never probed {name}")
            time.sleep(0.02)
        t0 = time.perf_counter_ns()
        p.stdin.write("go\n")
    p.stdin.close()
    p.wait()
    status = p.returncode if p.returncode >= 0 else 128 - p.returncode
    return (time.perf_counter_ns() - t0) / 1e6, p.pid, status


def main():
    host = cb.Host("bench-why")
    rows = []
    for name, args, want in KINDS:
        alone = []
        for _ in range(RUNS):
            death, _, status = crash(host, name, args)
            if status != want:
                cb.die(f"{name} ended with {status}, not {want}, without the watcher")
            alone.append(death)
        w = cb.Watcher(host, args=["--dedup-window=0", "--rate-limit=0", "-v"])
        held, deaths, pauses = [], [], []
        try:
            for _ in range(RUNS):
                death, pid, status = crash(host, name, args, w)
                if status != want:
                    cb.die(f"{name} ended with {status}, not {want}, under the watcher")
                deaths.append(death)
                if name == "rust_caught":
                    continue
                recs = w.wait_for(pid, ["snapshot"], timeout=60)
                snap = [r for r in recs or [] if r["type"] == "snapshot"]
                if not snap or not snap[0].get("path"):
                    cb.die(f"no snapshot for {name}: {recs}")
                held.append(snap[0]["held_ms"])
                with open(snap[0]["path"]) as f:
                    doc = json.load(f)
                if not doc.get("cause", "").startswith(("uncaught exception", "panicked at")):
                    cb.die(f"{name}: cause {doc.get('cause')!r}")
                pauses.append(doc["capture"]["pause_ms"])
        finally:
            w.stop()
        rows.append((name, cb.median(alone), cb.median(deaths),
                     cb.median(held) if held else None, cb.median(pauses) if pauses else None))
    print(f"\ncommand: make bench-why RUNS={RUNS}  (bench/why_hold.py; Debian rustc 1.63, g++ 12)")
    print("| kind | death alone | death held | delay | held_ms | tool pause |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, alone, death, held, pause in rows:
        print(f"| {name} | {alone:.1f} | {death:.1f} | {death - alone:.1f} | "
              f"{cb.fmt(held) if held is not None else '-'} | "
              f"{cb.fmt(pause, 2) if pause is not None else '-'} |")
    print("ms, medians of", RUNS)
    host.final_report()


if __name__ == "__main__":
    cb.run_main(main, "bench-why")
