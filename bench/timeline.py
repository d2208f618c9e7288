#!/usr/bin/env python3
"""What recording timelines costs (make bench-timeline).

1. `crashwatch timeline --pid` on bench/busy (spin: every thread on the CPU;
   nap: every thread switching ~4000 times a second) at 16 and 64 threads,
   19/99/999 Hz, each recorded run against a run alone, alternated, medians:
   - the recorded program's work done (its slowdown) and its CPU %;
   - the BPF programs' run time (kernel.bpf_stats_enabled), in % of one CPU;
   - the recorder's own CPU while recording (ring buffer reads), then the time
     to write the trace (unwinding, symbolizing) and its size per thread-second.
2. `crashwatch watch --flight-recorder=30`: the watcher's memory (VmRSS) with
   and without it while busy nap 64 runs, and the kept records' bytes.

Nothing asserted: figures.  BUSY_SECONDS (default 6) and REPEAT (default 2);
MODES, THREADS, HZ (comma-separated, e.g. MODES=nap THREADS=64 HZ=99) and
FLIGHT=0 narrow it while iterating; OFF_CPU=no records samples only."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cwbench import (BUILD, Host, Watcher, cpu_s, fmt, log, median, run_main,  # noqa: E402
                     status_kb)

BUSY = os.path.join(BUILD, "bench", "busy")
CW = os.path.join(BUILD, "crashwatch")
SECONDS = float(os.environ.get("BUSY_SECONDS", "6"))
REPEAT = int(os.environ.get("REPEAT", "2"))
QUICK = os.environ.get("QUICK") == "1"  # one configuration, no watcher: a check of the script
MODES = os.environ.get("MODES", "spin" if QUICK else "spin,nap").split(",")
THREADS = [int(x) for x in os.environ.get("THREADS", "16" if QUICK else "16,64").split(",")]
HZS = [int(x) for x in os.environ.get("HZ", "99" if QUICK else "19,99,999").split(",")]
FLIGHT = os.environ.get("FLIGHT", "0" if QUICK else "1") == "1"
OFF_CPU = os.environ.get("OFF_CPU", "yes")  # no: crashwatch timeline --off-cpu=no
STATS = "/proc/sys/kernel/bpf_stats_enabled"
PROGS = ("on_cpu_sample", "on_switch", "on_switch_in", "iter_tasks")


def bpf_run_ns():
    """Total run time of the timeline programs loaded now (bpftool, bpf_stats on)."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True)
    total = 0
    for p in json.loads(out.stdout or "[]"):
        if p.get("name") in PROGS:
            total += p.get("run_time_ns", 0)
    return total


def run_s(pid):
    """Time on a CPU of all of pid's threads, in s, to the ns (schedstat): utime and
    stime go by whole ticks, too coarse for a process that runs a few ms a second."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / 1e9


def run_busy(mode, threads, hz=None, tmp=None):
    """One run; with hz, recorded by crashwatch timeline.  A dict of figures."""
    t0 = time.monotonic()
    busy = subprocess.Popen([BUSY, mode, str(threads), str(SECONDS)], stdout=subprocess.PIPE,
                            text=True)
    rec = None
    res = {}
    if hz:
        out = os.path.join(tmp, f"tl-{mode}-{threads}-{hz}.json")
        rec = subprocess.Popen([CW, "timeline", f"--pid={busy.pid}", f"--hz={hz}",
                                f"--seconds={SECONDS + 5}", f"--output={out}",
                                f"--off-cpu={OFF_CPU}"],
                               stderr=subprocess.PIPE, text=True)
        # The programs' run time while busy runs: sampled from the recorder's "recording"
        # line to 0.5 s before busy's end.  Its start (loading and verifying the BPF
        # programs, ~60 ms of CPU) is not recording: among 64 spinning threads it takes
        # seconds of wall time, and counted it was most of the "recorder" figure.
        said = rec.stderr.readline()
        res["start_s"] = time.monotonic() - t0
        end = t0 + SECONDS - 0.5
        if "recording" not in said or time.monotonic() > end - 0.5:
            log(f"timeline started too late to measure ({res['start_s']:.1f} s): {said!r}")
        else:
            b0, c0, w0 = bpf_run_ns(), run_s(rec.pid), time.monotonic()
            time.sleep(end - w0)
            b1, c1, w1 = bpf_run_ns(), run_s(rec.pid), time.monotonic()
            res["bpf_pct"] = (b1 - b0) / 1e9 / (w1 - w0) * 100
            res["rec_pct"] = (c1 - c0) / (w1 - w0) * 100
    _, status, ru = os.wait4(busy.pid, 0)
    wall = time.monotonic() - t0
    work = int(busy.stdout.read().split("=")[1])
    busy.stdout.close()
    res["work_per_s"] = work / SECONDS
    res["cpu_pct"] = (ru.ru_utime + ru.ru_stime) / SECONDS * 100
    if rec:
        w_end = time.monotonic()
        err = rec.communicate()[1]
        res["write_s"] = time.monotonic() - w_end
        if rec.returncode != 0:
            log(f"timeline failed: {err}")
            return res
        res["bytes_per_thread_s"] = os.path.getsize(out) / (threads * SECONDS)
        res["lost"] = err.split("lost ")[-1].rstrip(")\n") if "lost" in err else "?"
        os.unlink(out)
    del wall
    return res


def sampling(tmp):
    rows = []
    for mode in MODES:
        for threads in THREADS:
            for hz in HZS:
                base, recd = [], []
                for _ in range(REPEAT):
                    base.append(run_busy(mode, threads))
                    recd.append(run_busy(mode, threads, hz, tmp))
                b_work = median([r["work_per_s"] for r in base])
                r_work = median([r["work_per_s"] for r in recd])
                row = {
                    "mode": mode, "threads": threads, "hz": hz,
                    "slowdown_pct": (b_work - r_work) / b_work * 100 if b_work else None,
                    "cpu_pct_alone": median([r["cpu_pct"] for r in base]),
                    "cpu_pct_recorded": median([r["cpu_pct"] for r in recd]),
                    "bpf_pct_cpu": median([r.get("bpf_pct") for r in recd]),
                    "recorder_pct_cpu": median([r.get("rec_pct") for r in recd]),
                    "write_s": median([r.get("write_s") for r in recd]),
                    "start_s": median([r.get("start_s") for r in recd]),
                    "bytes_per_thread_s": median([r.get("bytes_per_thread_s") for r in recd]),
                    "lost": ",".join(str(r.get("lost")) for r in recd),
                }
                rows.append(row)
                log(json.dumps(row))
    print("\ncrashwatch timeline --pid on bench/busy, %.0f s runs, medians of %d" %
          (SECONDS, REPEAT))
    print(f"{'mode':5} {'thr':>3} {'hz':>4} {'slowdown%':>9} {'cpu% alone':>10} "
          f"{'cpu% rec':>8} {'bpf %cpu':>8} {'user %cpu':>9} {'start s':>7} {'write s':>7} "
          f"{'B/thread-s':>10} lost")
    for r in rows:
        print(f"{r['mode']:5} {r['threads']:>3} {r['hz']:>4} {fmt(r['slowdown_pct'], 2):>9} "
              f"{fmt(r['cpu_pct_alone']):>10} {fmt(r['cpu_pct_recorded']):>8} "
              f"{fmt(r['bpf_pct_cpu'], 2):>8} {fmt(r['recorder_pct_cpu'], 2):>9} "
              f"{fmt(r['start_s'], 2):>7} {fmt(r['write_s'], 2):>7} "
              f"{fmt(r['bytes_per_thread_s'], 0):>10} {r['lost']}")


def flight(host):
    res = {}
    for label, args in (("without", ()), ("with", ("--flight-recorder=30",))):
        w = Watcher(host, args=args)
        try:
            time.sleep(1)
            rss0 = status_kb(w.p.pid, "VmRSS")
            busy = subprocess.Popen([BUSY, "nap", "64", "10"], stdout=subprocess.DEVNULL)
            peak = rss0
            t_end = time.monotonic() + 10
            while time.monotonic() < t_end:
                time.sleep(0.5)
                peak = max(peak, status_kb(w.p.pid, "VmRSS") or 0)
            busy.wait()
            cpu = cpu_s(w.p.pid)
        finally:
            w.stop()
        c = w.counters()
        res[label] = {"rss_start_kb": rss0, "rss_peak_kb": peak, "watcher_cpu_s": cpu,
                      "flight_bytes_peak": int(c.get("flight_bytes_peak", 0)),
                      "flight_records": int(c.get("flight_records", 0)),
                      "flight_lost": int(c.get("flight_lost", 0))}
        log(f"flight recorder {label}: {res[label]}")
    print("\nwatch --flight-recorder=30 while busy nap 64 runs 10 s (whole host in scope)")
    for label, r in res.items():
        print(f"  {label:8} VmRSS {r['rss_start_kb']} -> peak {r['rss_peak_kb']} KiB, "
              f"watcher CPU {r['watcher_cpu_s']:.2f} s, kept records {r['flight_records']} "
              f"in {r['flight_bytes_peak'] / 1048576:.1f} MiB at most, lost {r['flight_lost']}")


def main():
    host = Host("bench-timeline")
    saved = open(STATS).read().strip()
    try:
        with open(STATS, "w") as f:
            f.write("1")
        with tempfile.TemporaryDirectory() as tmp:
            sampling(tmp)
        if FLIGHT:
            flight(host)
    finally:
        with open(STATS, "w") as f:
            f.write(saved)
        host.cleanup()


if __name__ == "__main__":
    run_main(main, "bench-timeline")
