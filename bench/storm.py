#!/usr/bin/python3
"""Issues 5 and 11: the daemon's RSS and CPU during a storm of crashes of many programs.

Compiles PROGRAMS (default 50) executables into a temporary directory from the five
storm kinds' sources (null_deref, sigfpe, sigill, segv_handler_exit, abort; 10 copies
each), each linked with its own -Wl,--build-id=0x... so that every one is a different
program to the watcher's dedup and to its symbol server (one module per build-id).
Then, for each watcher setting (default: the watcher's defaults, then
--dedup-window=0 --rate-limit=0), runs a holding `crashwatch watch` uploading to a
local receiver, crashes CRASHES processes (default 1000, the programs in turn,
PARALLEL at once) and reports:
  crashes/s          the storm's crashes over its wall time (start of the first to
                     the reaping of the last)
  outcomes           every crash has a `snapshot` or `suppressed` record
  watcher VmHWM      its peak RSS (/proc/PID/status), read before it stops
  watcher CPU        utime + stime during the storm and until every crash had its record
  server VmHWM       the symbol server's (the watcher's child running
                     crashwatch-snapshot --symbol-server=...) peak RSS, and its counters
                     (printed on stderr when it stops)
Usage: make bench-storm   (CRASHES=N, PARALLEL=N, PROGRAMS=N, SETTINGS="defaults|nodedup")
"""
import hashlib
import os
import queue
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
import cwbench as cb  # noqa: E402
from receiver import Receiver  # noqa: E402

CRASHES = int(os.environ.get("CRASHES", "1000"))
PARALLEL = int(os.environ.get("PARALLEL", "4"))
PROGRAMS = int(os.environ.get("PROGRAMS", "50"))
KINDS = ["null_deref", "sigfpe", "sigill", "segv_handler_exit", "abort"]
ALL_SETTINGS = {"defaults": [], "nodedup": ["--dedup-window=0", "--rate-limit=0"]}
SETTINGS = os.environ.get("SETTINGS", "defaults nodedup").split()
EXTRA = os.environ.get("WATCH_ARGS", "").split()
# The targets' flags in the Makefile (TARGET_CFLAGS).
CFLAGS = ["-std=c11", "-D_GNU_SOURCE", "-O0", "-g", "-fno-omit-frame-pointer", "-Wall",
          "-Wextra", "-Werror", "-pthread"]


def build_programs(host):
    """PROGRAMS executables, the kinds in turn, each with a build-id of its own."""
    d = os.path.join(host.tmp, "programs")
    os.mkdir(d)
    src = os.path.join(HERE, "..", "tests", "targets")
    progs, procs = [], []
    for i in range(PROGRAMS):
        kind = KINDS[i % len(KINDS)]
        out = os.path.join(d, f"{kind}_{i:02d}")
        bid = hashlib.sha1(f"crashwatch-storm-{i}".encode()).hexdigest()
        procs.append(subprocess.Popen([os.environ.get("CC", "cc"), *CFLAGS, f"-I{src}",
                                       f"-Wl,--build-id=0x{bid}", "-o", out,
                                       os.path.join(src, f"{kind}.c")]))
        progs.append(out)
        if len(procs) >= os.cpu_count() * 2:
            if procs.pop(0).wait():
                cb.die("a storm program did not compile")
    if any(p.wait() for p in procs):
        cb.die("a storm program did not compile")
    return progs


def storm(host, progs, setting):
    args = ALL_SETTINGS[setting] + EXTRA
    lines = queue.Queue()
    with Receiver(mode="generic") as rx:
        w = cb.Watcher(host, [f"--upload=generic:{rx.generic_url}", *args], hold_timeout=30)
        w_cpu0 = cb.cpu_s(w.p.pid)
        rss0 = cb.status_kb(w.p.pid, "VmRSS")
        server = w.symbol_server()
        srv_hwm = 0

        def sample_server():
            nonlocal server, srv_hwm
            s = w.symbol_server() or server
            if s:
                server = s
                srv_hwm = max(srv_hwm, cb.status_kb(s, "VmHWM") or 0)
        t0 = time.monotonic()
        pids, running = [], []
        for i in range(CRASHES):
            while len(running) >= PARALLEL:
                running = [p for p in running if p.poll() is None]
                time.sleep(0.001)
            p = subprocess.Popen([progs[i % len(progs)]], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            host.targets.append(p.pid)
            pids.append(p.pid)
            running.append(p)
            if i % 50 == 0:
                sample_server()
        for p in running:
            p.wait()
        storm_s = time.monotonic() - t0
        outcome = {}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with w.cv:
                for pid in pids:
                    if pid not in outcome:
                        for r in w.records.get(pid, []):
                            if r["type"] in ("snapshot", "suppressed"):
                                outcome[pid] = r["type"]
                                break
            if len(outcome) == len(pids):
                break
            sample_server()
            time.sleep(0.1)
        settle_s = time.monotonic() - t0
        sample_server()
        hwm, cpu = cb.status_kb(w.p.pid, "VmHWM"), cb.cpu_s(w.p.pid) - w_cpu0
        srv_cpu = cb.cpu_s(server) if server and cb.proc_state(server) else None
        if w.stop():
            cb.die("the watcher did not stop cleanly: " + "".join(w.errs[-5:]))
        uploaded = len(rx.requests)
    del lines
    counters, srv = w.counters(), w.server_counters()
    snaps = sum(1 for v in outcome.values() if v == "snapshot")
    supp = sum(1 for v in outcome.values() if v == "suppressed")
    return {"setting": setting, "args": " ".join(args) or "(defaults)", "storm_s": storm_s,
            "settle_s": settle_s, "rss0": rss0, "hwm": hwm, "cpu": cpu, "snaps": snaps,
            "supp": supp, "uploaded": uploaded, "counters": counters, "srv": srv,
            "srv_hwm": srv_hwm, "srv_cpu": srv_cpu}


def main():
    host = cb.Host("bench-storm")
    t0 = time.monotonic()
    progs = build_programs(host)
    cb.log(f"{len(progs)} programs compiled in {time.monotonic() - t0:.1f} s")
    results = []
    for setting in SETTINGS:
        results.append(storm(host, progs, setting))
        r = results[-1]
        cb.log(f"{setting}: {CRASHES / r['storm_s']:.0f} crashes/s, all accounted for after "
               f"{r['settle_s']:.1f} s")
    print()
    print(f"command: make bench-storm CRASHES={CRASHES} PARALLEL={PARALLEL} PROGRAMS={PROGRAMS}"
          f"  (bench/storm.py; kernel {os.uname().release}, {os.cpu_count()} CPUs)")
    print(f"{CRASHES} crashes of {PROGRAMS} programs (5 kinds x {PROGRAMS // 5} build-ids), "
          f"{PARALLEL} at once; holding watcher uploading to a local receiver")
    print()
    print("| watch arguments | crashes/s | all recorded after | outcomes | watcher RSS at "
          "start | watcher peak RSS (VmHWM) | watcher CPU | symbol server peak RSS (VmHWM) "
          "| symbol server CPU | symbol server counters |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---|")
    keys = ["signals_emitted", "dropped_ringbuf_full", "suppressed_duplicate",
            "suppressed_rate_limited", "aggregates_written", "aggregated_crashes_lost",
            "partial_snapshots", "hold_queue_full", "spool_dropped", "uploaded"]
    for r in results:
        c = r["counters"]
        out = (f"{r['snaps']} snapshots ({c.get('partial_snapshots', '?')} partial), "
               f"{r['supp']} suppressed ({c.get('suppressed_duplicate', '?')} duplicates, "
               f"{c.get('suppressed_rate_limited', '?')} rate-limited), "
               f"{c.get('aggregates_written', '?')} aggregates")
        if r["snaps"] + r["supp"] != CRASHES:
            out += f", {CRASHES - r['snaps'] - r['supp']} WITHOUT AN OUTCOME"
        srv = r["srv"]
        srvc = (f"requests={srv.get('requests', '?')} hits={srv.get('hits', '?')} "
                f"misses={srv.get('misses', '?')} modules={srv.get('modules', '?')} "
                f"evictions={srv.get('evictions', '?')}" if srv else "(none printed)")
        print(f"| {r['args']} | {CRASHES / r['storm_s']:.0f} | {r['settle_s']:.1f} s | {out} | "
              f"{r['rss0'] / 1024:.1f} MiB | {r['hwm'] / 1024:.1f} MiB | {r['cpu']:.2f} s | "
              f"{r['srv_hwm'] / 1024:.1f} MiB | {cb.fmt(r['srv_cpu'], 2)} s | {srvc} |")
    print()
    for r in results:
        print(f"{r['args']}: counters: "
              + " ".join(f"{k}={r['counters'].get(k, '?')}" for k in keys)
              + f"; uploaded to the receiver: {r['uploaded']}")
    print(f"total wall time {time.monotonic() - t0:.0f} s")
    host.final_report()


if __name__ == "__main__":
    cb.run_main(main, "bench-storm")
