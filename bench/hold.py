#!/usr/bin/python3
"""Hold latency of `crashwatch watch --hold` per crash kind (issues 4 and 11).

For each crash kind, RUNS rounds (kinds in a rotated order each round); in a round,
for each kind: the target alone (no watcher), then one fresh watcher per setting
and 1 + REPEATS crashes under it, then the target alone again -- so the watched and
unwatched crashes are interleaved, and "first" is the first crash of that program
for a watcher (and its symbol server) that has seen nothing yet.

Settings (every one with --dedup-window=0 --rate-limit=0: every crash is snapshotted):
  default    the default tool through the watcher's warm symbol server, source
             lines; core dumps over the kernel's coredump socket (--core-hold=auto)
  no-source  --snapshot-tool=a sh wrapper that execs crashwatch-snapshot --no-source
             (a --snapshot-tool means no symbol server)
  pipe       --core-hold=pipe (core_pattern runs crashwatch core-handler): the
             kinds held in their core dump only

Columns (ms, medians):
  death      as the parent sees it: time.perf_counter_ns from posix_spawn to waitpid's
             return (wait_for_kill: from kill(SIGSEGV) to waitpid's return), with no
             watcher and with the watcher holding; delta = held - alone: what the hold
             adds to the crash (issue 11: <= 5 ms)
  written    fault->written: the kernel's record of the crash (its first signal /
             abort / kill record, CLOCK_BOOTTIME, printed by the watcher as UTC shifted
             by REALTIME-BOOTTIME; bench/spool_watch shifts it back) to the snapshot's
             rename into the spool (inotify, stamped with CLOCK_BOOTTIME)
  held       the snapshot record's held_ms: the kernel's record of the crash to the
             release (the tool's --captured-fd byte)
  pause      the snapshot's capture.pause_ms: how long the tool had the threads stopped
Usage: make bench-hold   (RUNS=N, default 7; REPEATS=N, default 2; KINDS="abort sigfpe")
"""
import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cwbench as cb  # noqa: E402

RUNS = int(os.environ.get("RUNS", "7"))
REPEATS = int(os.environ.get("REPEATS", "2"))
HOLD_TIMEOUT = 10
ALL_KINDS = ["null_deref", "null_deref_threads", "stack_overflow", "abort", "assert_fail",
             "sigbus", "sigfpe", "sigill", "segv_handler_exit", "wait_for_kill"]
KINDS = os.environ.get("KINDS", "").split() or ALL_KINDS
# Held in their core dump (default-action faults): the only ones --core-hold changes.
CORE_KINDS = {"null_deref", "null_deref_threads", "stack_overflow", "sigbus", "sigfpe",
              "sigill"}
SETTINGS = ["default", "no-source", "pipe"]
POINT = {"abort": "abort uprobe", "kill": "at generation", "signal": "handler SIGSTOP"}


def crash(host, w, kind):
    """One crash of KIND under watcher W: its numbers."""
    w.still_ours()
    death, pid, st = host.run_target(kind)
    cb.check_status(kind, st)
    recs = w.wait_for(pid, ["exit", "snapshot"])
    if recs is None:
        cb.die(f"no exit or snapshot record for {kind} (pid {pid}): "
               + "".join(w.errs[-5:]))
    first = next((r for r in recs if r["type"] in ("signal", "abort", "kill")), None)
    if first is None:
        cb.die(f"no signal/abort/kill record for {kind} (pid {pid})")
    snaps = [r for r in recs if r["type"] == "snapshot"]
    good = [r for r in snaps if r.get("tool_status") == 0 and r.get("path")]
    s = {"death": death / 1e6}
    if len(good) != 1:
        why = "; ".join(str(r.get("why_partial")) for r in snaps)
        s["point"] = f"partial ({why})"
        for r in snaps:
            if r.get("path") and os.path.exists(r["path"]):
                os.unlink(r["path"])
        return s
    snap = good[0]
    if first.get("held"):
        s["point"] = POINT[first["type"]]
    else:
        s["point"] = "core dump" + ("" if len(snaps) == 1 else
                                    f", after a failed hold {POINT[first['type']]}")
    path = snap["path"]
    with open(path) as f:
        doc = json.load(f)
    s["threads"] = len(doc.get("threads", []))
    s["pause"] = doc["capture"]["pause_ms"]
    s["total"] = doc["capture"]["total_ms"]
    s["held"] = snap["held_ms"]
    at = w.sw.at(path)
    fault_rt = cb.rt_ns(first["time"])
    if at is not None:
        s["written"] = (at - (fault_rt - w.sw.offset)) / 1e6
    ex = next(r for r in recs if r["type"] == "exit")
    s["exit"] = (cb.rt_ns(ex["time"]) - fault_rt) / 1e6
    os.unlink(path)
    return s


def main():
    host = cb.Host("bench-hold")
    for k in KINDS:
        if not os.access(os.path.join(cb.TARGETS, k), os.X_OK):
            sys.exit(f"bench-hold: {cb.TARGETS}/{k} missing: run 'make bench-hold'")
    wrapper = os.path.join(host.tmp, "snapshot-no-source")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec {cb.BUILD}/crashwatch-snapshot --no-source \"$@\"\n")
    os.chmod(wrapper, 0o755)
    args = {"default": [], "no-source": [f"--snapshot-tool={wrapper}"],
            "pipe": ["--core-hold=pipe"]}
    t0 = time.monotonic()
    alone = collections.defaultdict(list)      # kind -> [death ms]
    data = collections.defaultdict(list)       # (setting, kind, first|repeat) -> [sample]
    lost = 0
    for r in range(RUNS):
        order = KINDS[r % len(KINDS):] + KINDS[:r % len(KINDS)]
        for kind in order:
            death, _, st = host.run_target(kind)
            cb.check_status(kind, st)
            alone[kind].append(death / 1e6)
            for setting in SETTINGS:
                if setting == "pipe" and kind not in CORE_KINDS:
                    continue
                w = cb.Watcher(host, ["--dedup-window=0", "--rate-limit=0", *args[setting]],
                               hold_timeout=HOLD_TIMEOUT, spool_watch=True)
                for i in range(1 + REPEATS):
                    data[setting, kind, "first" if i == 0 else "repeat"].append(
                        crash(host, w, kind))
                if w.stop():
                    cb.die("the watcher did not stop cleanly: " + "".join(w.errs[-5:]))
                c = w.counters()
                lost += int(c.get("dropped_ringbuf_full", "0")) + int(
                    c.get("hold_queue_full", "0"))
            death, _, st = host.run_target(kind)
            cb.check_status(kind, st)
            alone[kind].append(death / 1e6)
        cb.log(f"round {r + 1}/{RUNS} done ({time.monotonic() - t0:.0f} s)")

    def med(setting, kind, phase, key, point=None):
        return cb.median([s.get(key) for s in data[setting, kind, phase]
                          if point is None or s["point"] == point])

    def point_of(setting, kind):
        pts = collections.Counter(s["point"] for ph in ("first", "repeat")
                                  for s in data[setting, kind, ph])
        if not pts:
            return "-", None
        (p, n), total = pts.most_common(1)[0], sum(pts.values())
        if n == total:
            return p, p
        return f"{p} ({n} of {total}; " + ", ".join(
            f"{q}: {m}" for q, m in pts.items() if q != p) + ")", p

    def delta(setting, kind, phase):
        h, a = med(setting, kind, phase, "death"), cb.median(alone[kind])
        return None if h is None or a is None else h - a

    f = cb.fmt
    n_alone = 2 * RUNS
    print()
    print(f"command: make bench-hold RUNS={RUNS} REPEATS={REPEATS}  (bench/hold.py; "
          f"kernel {os.uname().release}, {os.cpu_count()} CPUs)")
    print(f"per kind and setting: {RUNS} fresh watchers x (1 first + {REPEATS} repeat "
          f"crashes); {n_alone} crashes with no watcher, interleaved; medians, ms")
    print()
    print("Default watcher (symbol server, source lines, core dumps over the coredump "
          "socket):")
    print()
    print("| kind | hold point | threads | death alone | death held | delta | delta, first "
          "crash | held | held, first | tool pause | written, first | written, repeat "
          "| no-source: delta | no-source: written, first | no-source: written, repeat |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in KINDS:
        label, _ = point_of("default", kind)
        name = "`kill -SEGV` wait_for_kill" if kind == "wait_for_kill" else kind
        th = med("default", kind, "repeat", "threads")
        print(f"| {name} | {label} | {f(th, 0)} | {f(cb.median(alone[kind]), 2)} | "
              f"{f(med('default', kind, 'repeat', 'death'), 2)} | "
              f"{f(delta('default', kind, 'repeat'), 2)} | "
              f"{f(delta('default', kind, 'first'), 2)} | "
              f"{f(med('default', kind, 'repeat', 'held'), 2)} | "
              f"{f(med('default', kind, 'first', 'held'), 2)} | "
              f"{f(med('default', kind, 'repeat', 'pause'), 3)} | "
              f"{f(med('default', kind, 'first', 'written'))} | "
              f"{f(med('default', kind, 'repeat', 'written'))} | "
              f"{f(delta('no-source', kind, 'repeat'), 2)} | "
              f"{f(med('no-source', kind, 'first', 'written'))} | "
              f"{f(med('no-source', kind, 'repeat', 'written'))} |")
    pipe_kinds = [k for k in KINDS if k in CORE_KINDS]
    if pipe_kinds:
        print()
        print("`--core-hold=pipe` (core_pattern runs crashwatch core-handler), the kinds "
              "held in their core dump:")
        print()
        print("| kind | hold point | death alone | death held | delta | delta, first crash "
              "| held | held, first | written, first | written, repeat | fault→exit |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for kind in pipe_kinds:
            label, _ = point_of("pipe", kind)
            print(f"| {kind} | {label} | {f(cb.median(alone[kind]), 2)} | "
                  f"{f(med('pipe', kind, 'repeat', 'death'), 2)} | "
                  f"{f(delta('pipe', kind, 'repeat'), 2)} | "
                  f"{f(delta('pipe', kind, 'first'), 2)} | "
                  f"{f(med('pipe', kind, 'repeat', 'held'), 2)} | "
                  f"{f(med('pipe', kind, 'first', 'held'), 2)} | "
                  f"{f(med('pipe', kind, 'first', 'written'))} | "
                  f"{f(med('pipe', kind, 'repeat', 'written'))} | "
                  f"{f(med('pipe', kind, 'repeat', 'exit'), 2)} |")
    print()
    print("death: posix_spawn (wait_for_kill: the kill) to waitpid, alone and held; delta: "
          "held - alone; first: the first crash of that program for a fresh watcher; "
          "written: kernel record of the crash to the snapshot renamed into the spool; "
          "held: held_ms; tool pause: capture.pause_ms; fault→exit: kernel record of the "
          "crash to its exit record")
    print(f"records lost (dropped_ringbuf_full + hold_queue_full): {lost}; "
          f"total wall time {time.monotonic() - t0:.0f} s")
    host.final_report()


if __name__ == "__main__":
    cb.run_main(main, "bench-hold")
