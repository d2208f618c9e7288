/* SPDX-License-Identifier: MIT */
/*
 * A process forked by the watcher that outlives it: when the watcher dies
 * (its end of the lifeline pipe closes, even on SIGKILL) the watchdog
 * SIGCONTs every SIGSTOP hold in the registry and leaves; while the watcher
 * lives, it releases any hold past its deadline by more than a grace
 * period (a watcher stuck in a hold).  ptrace holds need none of this: the
 * kernel releases a dead tracer's tracees.
 */
#ifndef CW_HOLD_WATCHDOG_H
#define CW_HOLD_WATCHDOG_H

#include <sys/types.h>

#define CW_WATCHDOG_GRACE_MS 2000

struct cw_hold_watchdog {
	int lifeline; /* the watcher's end; -1 when not running */
	pid_t pid;
};

/* Fork it.  0 or -errno.  Call before other descriptors the watchdog must not hold exist. */
int cw_hold_watchdog_start(struct cw_hold_watchdog *wd, const char *registry);

/* Close the lifeline and reap it (it releases what is left, then exits). */
void cw_hold_watchdog_stop(struct cw_hold_watchdog *wd);

#endif
