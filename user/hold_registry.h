/* SPDX-License-Identifier: MIT */
/*
 * The holds in flight, written down: <spool>/.held, a line
 * "PID START_BOOTTIME_NS DEADLINE_BOOTTIME_NS" per process stopped by
 * SIGSTOP.  Whoever outlives the watcher (its watchdog, or the watcher's
 * next start) releases them from it.
 */
#ifndef CW_HOLD_REGISTRY_H
#define CW_HOLD_REGISTRY_H

#include <stdint.h>
#include <sys/types.h>

void cw_registry_add(const char *registry, pid_t pid, uint64_t start_boottime,
		     uint64_t deadline_boottime_ns);

/* Holds are one at a time: the registry is emptied once a hold is over. */
void cw_registry_clear(const char *registry);

/*
 * SIGCONT the processes in the registry whose deadline is before now_ns
 * (UINT64_MAX: all), if the pid still names the process that was held.
 * forget: remove the registry.  Returns how many were released.
 */
int cw_registry_release(const char *registry, uint64_t now_ns, int forget);

uint64_t cw_boottime_ns(void);

#endif
