#!/usr/bin/env python3
"""`make bench-request`: the pause a program sees when it asks the watcher for a
snapshot of itself (libcrashwatch), measured from inside by bench/request_pause (a
thread timing a tight loop keeps the longest gap), at 16 and 1,000 threads, source
lines on (the tool's default); beside the seed's way, the program running eu-stack
or gdb on itself; and waited requests a second, back to back.

Starts its own watcher (build/crashwatch, holding, --rate-limit=0 --request-rate=0:
no limit gets in the way) with a spool in a temporary directory.  RUNS=N (default 7)
asks per setting; THREADS="16 1000"; SEED=0 leaves out eu-stack and gdb.  Run it as
root, alone: `flock /run/crashwatch-tests.lock make bench-request`.
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("CW_BUILD", os.path.join(os.path.dirname(__file__), "..", "build"))
WATCHER = os.path.join(BUILD, "crashwatch")
PAUSE = os.path.join(BUILD, "bench", "request_pause")
RUNS = int(os.environ.get("RUNS", "7"))
THREADS = [int(t) for t in os.environ.get("THREADS", "16 1000").split()]
SEED = os.environ.get("SEED", "1") != "0"


def start_watcher(spool):
    w = subprocess.Popen([WATCHER, "watch", "--config=", "--json", f"--spool={spool}",
                          "--rate-limit=0", "--request-rate=0", "--spool-max-files=0",
                          "--spool-max-bytes=0"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in w.stderr:
        if "snapshot requests on" in line:
            return w
    sys.exit(f"the watcher did not start: {w.wait()}")


def run(how, threads, runs):
    r = subprocess.run([PAUSE, how, str(threads), str(runs)], capture_output=True, text=True,
                       timeout=1200)
    if r.returncode != 0:
        sys.exit(f"request_pause {how} {threads}: {r.stderr}")
    idle = float(re.search(r"idle_gap_us=([\d.]+)", r.stdout).group(1))
    rows = [dict((k, float(v)) for k, v in re.findall(r"(\w+)=([\d.-]+)", l))
            for l in r.stdout.splitlines() if l.startswith("run=")]
    return idle, rows, r.stdout


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    if os.geteuid() != 0:
        sys.exit("run as root: the watcher loads BPF programs")
    spool = tempfile.mkdtemp(prefix="cw-bench-request-")
    w = start_watcher(spool)
    table = []
    try:
        for n in THREADS:
            idle, rows, _ = run("crashwatch", n, RUNS)
            table.append(("crashwatch", n, idle, rows))
            if SEED:
                for how in ("eu-stack", "gdb"):
                    # gdb on 1,000 threads takes tens of seconds a run: fewer runs.
                    k = RUNS if n <= 64 else max(1, min(RUNS, 3))
                    idle, rows, _ = run(how, n, k)
                    table.append((how, n, idle, rows))
        _, _, out = run("rate", 16, 5)
        rate = re.search(r"per_second=([\d.]+)", out).group(1)
    finally:
        w.terminate()
        w.wait(timeout=60)
    print(f"request pause seen from inside, {RUNS} runs (medians; max in brackets), ms:")
    print("| way | threads | longest gap inside | snapshot's pause_ms | total (ask to path) |"
          " idle gap |")
    print("|---|---|---|---|---|---|")
    for how, n, idle, rows in table:
        gaps = [r["gap_us"] / 1e3 for r in rows]
        pauses = [r["pause_ms"] for r in rows if r["pause_ms"] >= 0]
        totals = [r["total_ms"] for r in rows]
        print(f"| {how} | {n} | {med(gaps):.2f} [{max(gaps):.2f}] | "
              f"{(f'{med(pauses):.2f}' if pauses else '-')} | {med(totals):.1f} | "
              f"{idle / 1e3:.3f} |")
    print(f"\nwaited requests back to back (16 threads, caller only, 5 s): {rate} a second")


if __name__ == "__main__":
    main()
