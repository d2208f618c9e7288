#!/usr/bin/python3
"""A snapshot tool for the tests, run by `crashwatch watch --snapshot-tool`: it runs
the real crashwatch-snapshot, and misbehaves the way a plan file says for targets
whose comm it names.

    tool_wrapper.py PLAN.json [the tool's arguments...] PID

PLAN: {"real": "/path/crashwatch-snapshot",
       "rules": {"<comm>": "hang" | "slow:SEC" | "crash" | "late:SEC"}}
- hang: never capture anything; sleep until killed (the watcher's deadline);
- slow:SEC: the real tool captures and reports it (--captured-fd), then is stopped
  for SEC seconds before it may unwind;
- crash: the real tool captures and reports it, then dies of SIGSEGV while unwinding.
- late:SEC: a tool slow to start: SEC seconds pass before the real tool is exec'd in
  its place (same pid, same parent, same arguments).

Like the real tool, it ends with the watcher when given --die-with-parent=PID (the
real tool it starts is told its own pid instead), except under late:SEC, which stands
for the time before the real tool could set that up.
"""
import ctypes
import json
import os
import signal
import subprocess
import sys
import time


def main():
    plan = json.load(open(sys.argv[1]))
    args = sys.argv[2:]
    with open(f"/proc/{args[-1]}/comm") as f:
        rule = plan["rules"].get(f.read().strip(), "real")
    if rule.startswith("late:"):
        time.sleep(float(rule.split(":", 1)[1]))
        os.execv(plan["real"], [plan["real"], *args])
    for i, a in enumerate(args):
        if a.startswith("--die-with-parent="):
            ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
            if os.getppid() != int(a.split("=", 1)[1]):
                os._exit(128 + signal.SIGKILL)
            args[i] = f"--die-with-parent={os.getpid()}"
    if rule == "hang":
        time.sleep(3600)
        return 1
    # The watcher's --captured-fd: take it over, to act between capture and unwinding.
    theirs = None
    for i, a in enumerate(args):
        if a.startswith("--captured-fd="):
            theirs = int(a.split("=", 1)[1])
            r, w = os.pipe()
            args[i] = f"--captured-fd={w}"
    keep = [fd for fd in (3, 4) if fd != theirs]
    fds = [fd for fd in keep if fd_open(fd)] + ([w] if theirs is not None else [])
    tool = subprocess.Popen([plan["real"], *args], pass_fds=fds)
    if theirs is not None:
        os.close(w)
        got = os.read(r, 1)
        if got:
            os.write(theirs, got)
        os.close(theirs)
        if rule.startswith("slow:"):
            tool.send_signal(signal.SIGSTOP)
            time.sleep(float(rule.split(":", 1)[1]))
            tool.send_signal(signal.SIGCONT)
        elif rule == "crash":
            tool.send_signal(signal.SIGSEGV)
    rc = tool.wait()
    if rc < 0:
        # Die as the tool died, for the watcher to see; no core dump (as the tool).
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE
        signal.signal(-rc, signal.SIG_DFL)
        os.kill(os.getpid(), -rc)
    return rc


def fd_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
