#!/usr/bin/python3
"""Issue 13's benchmark: a Go panic held with 10, 1,000 and 10,000 goroutines.

For each count, RUNS times: go_many (tests/targets/go/go_many) starts its goroutines, the
watcher probes its runtime, then it panics; measured: the death as its parent sees it
(its stdin closed to waitpid), the watcher's held_ms, the tool's pause, the snapshot's
size and goroutines listed, and the same death with no watcher.  Medians.
Usage: make bench-go   (RUNS=N, default 5; COUNTS="10 1000 10000")
"""
import json
import os
import subprocess
import time

import cwbench as cb

RUNS = int(os.environ.get("RUNS", "5"))
COUNTS = [int(c) for c in os.environ.get("COUNTS", "10 1000 10000").split()]
TARGET = os.path.join(cb.BUILD, "tests", "targets", "go_many")


def crash(host, n, watcher=None):
    """One go_many run: (death in ms from closing its stdin, pid)."""
    p = subprocess.Popen([TARGET], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, env={**os.environ,
                                                                     "GO_MANY": str(n)})
    host.targets.append(p.pid)
    for line in p.stdout:
        if line.startswith("ready="):
            break
    if watcher:
        # Its file is probed once, at its first run: wait for that line the first time.
        deadline = time.monotonic() + 10
        while not any("go_many, the Go executable" in e for e in watcher.errs):
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
    t0 = time.perf_counter_ns()
    p.stdin.close()
    p.wait()
    return (time.perf_counter_ns() - t0) / 1e6, p.pid


def main():
    host = cb.Host("bench-go")
    if not os.access(TARGET, os.X_OK):
        cb.die(f"{TARGET} missing: run 'make bench-go'")
    rows = []
    t0 = time.monotonic()
    for n in COUNTS:
        alone = [crash(host, n)[0] for _ in range(RUNS)]
        w = cb.Watcher(host, args=["--dedup-window=0", "--rate-limit=0"])
        held, deaths, pauses, sizes, listed = [], [], [], [], []
        try:
            for _ in range(RUNS):
                death, pid = crash(host, n, w)
                recs = w.wait_for(pid, ["snapshot"], timeout=60)
                snap = [r for r in recs or [] if r["type"] == "snapshot"]
                if not snap or not snap[0].get("path"):
                    cb.die(f"no snapshot for go_many with {n} goroutines: {recs}")
                deaths.append(death)
                held.append(snap[0]["held_ms"])
                with open(snap[0]["path"]) as f:
                    doc = json.load(f)
                pauses.append(doc["capture"]["pause_ms"])
                sizes.append(os.path.getsize(snap[0]["path"]) / 1024)
                listed.append(len(doc.get("goroutines", [])))
        finally:
            w.stop()
        rows.append((n, cb.median(alone), cb.median(deaths), cb.median(held),
                     cb.median(pauses), cb.median(sizes), cb.median(listed)))
        cb.log(f"{n} goroutines done ({time.monotonic() - t0:.0f} s)")
    print(f"\ncommand: make bench-go RUNS={RUNS}  (bench/go_hold.py; go_many, Go "
          f"{subprocess.run(['go', 'version'], capture_output=True, text=True).stdout.split()[2]})")
    print("| goroutines | death alone | death held | delay | held_ms | tool pause | "
          "snapshot | goroutines listed |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, alone, death, held, pause, size, listed in rows:
        print(f"| {n} | {alone:.1f} | {death:.1f} | {death - alone:.1f} | {held:.1f} | "
              f"{pause:.2f} | {size:.0f} KiB | {listed:.0f} |")
    print("ms, medians of", RUNS, "; death: stdin closed (the panic's trigger) to waitpid")
    host.final_report()


if __name__ == "__main__":
    cb.run_main(main, "bench-go")
