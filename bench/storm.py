#!/usr/bin/python3
"""Issue 5's benchmark: the daemon's RSS and CPU during a storm of crashes.

Runs the optimised `crashwatch watch` (holding, default rate limit and
dedup, uploading to a local receiver), crashes CRASHES processes (default
1000; a mix of five kinds, as fast as they can be started, a few at once),
then reports the watcher's peak RSS (VmHWM), its CPU time, the crashes per
second, and the accounting: every crash is a snapshot or a suppressed
record, and the counters say nothing was dropped.
Usage: make bench-storm   (CRASHES=N, PARALLEL=N, WATCH_ARGS="--dedup-window=0 ...")
"""
import json
import os
import queue
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from receiver import Receiver  # noqa: E402

BUILD = os.environ.get("CW_BUILD", "build")
CRASHES = int(os.environ.get("CRASHES", "1000"))
PARALLEL = int(os.environ.get("PARALLEL", "4"))
WATCH_ARGS = os.environ.get("WATCH_ARGS", "").split()
KINDS = ["null_deref", "sigfpe", "sigill", "segv_handler_exit", "abort"]


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    if os.geteuid() != 0:
        sys.exit("bench: run as root (the watcher loads BPF programs and owns core_pattern)")
    spool = subprocess.run(["mktemp", "-d"], capture_output=True, text=True).stdout.strip()
    lines = queue.Queue()
    with Receiver(mode="generic") as rx:
        w = subprocess.Popen([f"{BUILD}/crashwatch", "watch", "--json", "--no-stack",
                              f"--spool={spool}", f"--upload=generic:{rx.generic_url}", *WATCH_ARGS],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            threading.Thread(target=lambda: [lines.put(x) for x in w.stdout], daemon=True).start()
            errs = []
            threading.Thread(target=lambda: [errs.append(x) for x in w.stderr],
                             daemon=True).start()
            while not any("crashwatch: watching" in e for e in errs):
                if w.poll() is not None:
                    sys.exit("bench: the watcher did not start: " + "".join(errs))
                time.sleep(0.05)
            rss0, cpu0 = status_kb(w.pid, "VmRSS"), cpu_s(w.pid)
            t0 = time.monotonic()
            pids, running = [], []
            for i in range(CRASHES):
                while len(running) >= PARALLEL:
                    running = [p for p in running if p.poll() is None]
                    time.sleep(0.001)
                p = subprocess.Popen([f"{BUILD}/tests/targets/{KINDS[i % len(KINDS)]}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                pids.append(p.pid)
                running.append(p)
            for p in running:
                p.wait()
            storm_s = time.monotonic() - t0
            outcome, records = {}, 0
            deadline = time.monotonic() + 120
            want = set(pids)
            while want - outcome.keys() and time.monotonic() < deadline:
                try:
                    rec = json.loads(lines.get(timeout=1))
                except queue.Empty:
                    continue
                records += 1
                if rec["type"] in ("snapshot", "suppressed") and rec["pid"] in want:
                    outcome.setdefault(rec["pid"], rec["type"])
            settle_s = time.monotonic() - t0
            hwm, cpu = status_kb(w.pid, "VmHWM"), cpu_s(w.pid) - cpu0
        finally:
            w.terminate()
            w.wait(timeout=60)
        time.sleep(0.2)
        counters = {}
        for e in errs:
            if "counters:" in e:
                counters = dict(kv.split("=") for kv in e.split("counters:")[1].split())
    subprocess.run(["rm", "-rf", spool])
    snaps = sum(1 for v in outcome.values() if v == "snapshot")
    supp = sum(1 for v in outcome.values() if v == "suppressed")
    print(f"watch arguments: {' '.join(WATCH_ARGS) or '(defaults)'}")
    print(f"crashes: {CRASHES} ({', '.join(KINDS)}), {PARALLEL} at once, "
          f"in {storm_s:.1f} s ({CRASHES / storm_s:.0f}/s); all accounted for after "
          f"{settle_s:.1f} s")
    print(f"watcher: RSS {rss0 / 1024:.1f} MiB at start, peak (VmHWM) {hwm / 1024:.1f} MiB; "
          f"CPU {cpu:.2f} s ({100 * cpu / settle_s:.1f}% of one CPU)")
    print(f"outcomes: {snaps} snapshots, {supp} suppressed, "
          f"{CRASHES - snaps - supp} without an outcome; uploaded {len(rx.requests)}")
    keys = ["signals_emitted", "dropped_ringbuf_full", "suppressed_duplicate",
            "suppressed_rate_limited", "aggregates_written", "aggregated_crashes_lost",
            "partial_snapshots", "spool_dropped", "uploaded"]
    print("counters: " + " ".join(f"{k}={counters.get(k, '?')}" for k in keys))
    if snaps + supp != CRASHES or counters.get("dropped_ringbuf_full") != "0":
        sys.exit("bench: some crash has no outcome or a record was dropped")


if __name__ == "__main__":
    main()
