#!/usr/bin/python3
"""Two crashes, the first one's snapshot tool slow or hung (issue 11).

Holds run on threads (--max-holds, default 4) and end at the capture: a crash must
not wait behind another one's slow tool.  The watcher runs with --snapshot-tool=a sh
wrapper that, for the first target only (its /proc/PID/comm), either
  slow: sleeps SLOW_S (5) seconds, then execs the real crashwatch-snapshot
        (--hold-timeout=10: the first one's hold should end after ~5 s, snapshotted), or
  hung: execs `sleep 3600` in the tool's place (--hold-timeout=5: the watcher kills
        it at its deadline and writes the first capture as a partial snapshot);
every other crash goes straight to the real tool (fds 3/4, --captured-fd, pass through
the exec).  A --snapshot-tool means no symbol server: the second crash's snapshot is
symbolized cold, source lines and all.

Each run: the first target is started; 0.5 s later the second (timed from
posix_spawn to waitpid); then both are reaped.  Reported per pair and mode, medians
over RUNS (default 3):
  second: death alone / held, delta  posix_spawn -> waitpid with no watcher (2 x RUNS,
        before and after) and behind the first's hold; delta = what it was stopped
  second: held_ms                    the watcher's own figure for it
  second: fault->exit                the kernel's crash record to its exit record: an
        independent upper bound for held_ms (it must not be below held_ms)
  first: held_ms, outcome            against --hold-timeout
Usage: make bench-concurrent   (RUNS=N, SLOW_S=SEC)
"""
import collections
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cwbench as cb  # noqa: E402

RUNS = int(os.environ.get("RUNS", "3"))
SLOW_S = float(os.environ.get("SLOW_S", "5"))
GAP_S = 0.5
VERBOSE = False
# (first: its tool is slowed; second: 0.5 s later).  Both hold kinds each way round.
PAIRS = [("abort", "null_deref"), ("null_deref", "abort"), ("segv_handler_exit", "sigfpe")]
if os.environ.get("PAIRS"):
    PAIRS = [tuple(p.split(":")) for p in os.environ["PAIRS"].split()]
MODES = {"slow": 10, "hung": 5}  # mode -> --hold-timeout


def wrapper(host, mode, comm):
    path = os.path.join(host.tmp, f"tool-{mode}-{comm}")
    slow = f"sleep {SLOW_S}" if mode == "slow" else "exec sleep 3600"
    with open(path, "w") as f:
        f.write("#!/bin/sh\n"
                "# the watcher's tool, slowed for one target (its comm); fds 3/4 pass through\n"
                'for a; do pid=$a; done\n'
                'read -r comm </proc/"$pid"/comm\n'
                f'[ "$comm" = "{comm[:15]}" ] && {slow}\n'
                f'exec {cb.BUILD}/crashwatch-snapshot "$@"\n')
    os.chmod(path, 0o755)
    return path


def outcome(rec):
    if rec is None:
        return "no record"
    if rec.get("partial"):
        return "partial" + (", timed out" if rec.get("timed_out") else "") + (
            f" ({rec.get('why_partial')})" if VERBOSE else "")
    return "snapshot"


def main():
    host = cb.Host("bench-concurrent")
    t0 = time.monotonic()
    alone = collections.defaultdict(list)
    seconds = {a for _, a in PAIRS}
    for k in sorted(seconds):
        for _ in range(RUNS):
            d, _, st = host.run_target(k)
            cb.check_status(k, st)
            alone[k].append(d / 1e6)
    rows = []
    for mode, timeout in MODES.items():
        for first, second in PAIRS:
            tool = wrapper(host, mode, first)
            w = cb.Watcher(host, ["--dedup-window=0", "--rate-limit=0",
                                  f"--snapshot-tool={tool}"], hold_timeout=timeout)
            res = collections.defaultdict(list)
            for r in range(RUNS):
                w.still_ours()
                box = {}
                pa = host.spawn(os.path.join(cb.TARGETS, first))
                ta = time.monotonic()
                ns0 = time.perf_counter_ns()

                def reap():
                    box["st"] = host.wait(pa, 60)
                    box["d"] = (time.perf_counter_ns() - ns0) / 1e6
                th = threading.Thread(target=reap)
                th.start()
                time.sleep(max(0.0, ta + GAP_S - time.monotonic()))
                d, pb, st = host.run_target(second)
                cb.check_status(second, st)
                th.join()
                cb.check_status(first, box["st"])
                ra = w.wait_for(pa, ["exit", "snapshot"], timeout=timeout + 10)
                rb = w.wait_for(pb, ["exit", "snapshot"], timeout=30)
                if ra is None or rb is None:
                    cb.die(f"{mode} {first}/{second}: records missing: "
                           + "".join(w.errs[-5:]))
                sa = next(x for x in ra if x["type"] == "snapshot")
                sb = next(x for x in rb if x["type"] == "snapshot")
                fb = next(x for x in rb if x["type"] in ("signal", "abort", "kill"))
                eb = next(x for x in rb if x["type"] == "exit")
                res["death"].append(d / 1e6)
                res["held"].append(sb["held_ms"])
                res["exit"].append((cb.rt_ns(eb["time"]) - cb.rt_ns(fb["time"])) / 1e6)
                res["b_out"].append(outcome(sb))
                res["a_held"].append(sa["held_ms"])
                res["a_out"].append(outcome(sa))
                res["a_death"].append(box["d"])
                for x in (sa, sb):
                    if x.get("path") and os.path.exists(x["path"]):
                        os.unlink(x["path"])
                cb.log(f"{mode} {first} -> {second}: run {r + 1}/{RUNS}: second held "
                       f"{sb['held_ms']:.1f} ms ({sb.get('why_partial') or 'snapshot'}), "
                       f"first held {sa['held_ms']:.0f} ms, died after {box['d']:.0f} ms "
                       f"({sa.get('why_partial') or 'snapshot'})")
            if w.stop():
                cb.die("the watcher did not stop cleanly: " + "".join(w.errs[-5:]))
            rows.append((mode, timeout, first, second, res))
    for k in sorted(seconds):
        for _ in range(RUNS):
            d, _, st = host.run_target(k)
            cb.check_status(k, st)
            alone[k].append(d / 1e6)

    f = cb.fmt
    print()
    print(f"command: make bench-concurrent RUNS={RUNS} SLOW_S={SLOW_S:g}  (bench/concurrent.py;"
          f" kernel {os.uname().release}, {os.cpu_count()} CPUs)")
    print(f"{RUNS} runs per row, medians, ms; the second crash {GAP_S} s after the first; "
          f"'alone': {2 * RUNS} runs with no watcher")
    print()
    print("| first crash's tool | first → second | second: death alone | second: death held "
          "| second: stopped (delta) | second: held_ms | second: fault→exit | second: outcome "
          "| first: held_ms | first: death held | --hold-timeout | first: outcome |")
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|")
    for mode, timeout, first, second, res in rows:
        a = cb.median(alone[second])
        h = cb.median(res["death"])
        what = f"sleeps {SLOW_S:g} s, then runs" if mode == "slow" else "hangs"
        outs = collections.Counter(res["a_out"])
        bouts = collections.Counter(res["b_out"])
        print(f"| {what} | {first} → {second} | {f(a, 2)} | {f(h, 2)} | {f(h - a, 2)} | "
              f"{f(cb.median(res['held']), 2)} | {f(cb.median(res['exit']), 2)} | "
              + ", ".join(f"{n} {o}" for o, n in bouts.items())
              + f" | {f(cb.median(res['a_held']), 0)} | {f(cb.median(res['a_death']), 0)} | "
              f"{timeout * 1000} | "
              + ", ".join(f"{n} {o}" for o, n in outs.items()) + " |")
    print()
    print("death: posix_spawn to waitpid; stopped: death held - death alone (medians); "
          "held_ms: the watcher's snapshot record; fault→exit: the kernel's crash record "
          "to its exit record; first: death held: the first target's posix_spawn to "
          "waitpid")
    print(f"total wall time {time.monotonic() - t0:.0f} s")
    host.final_report()


if __name__ == "__main__":
    cb.run_main(main, "bench-concurrent")
