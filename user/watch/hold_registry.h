/* SPDX-License-Identifier: MIT */
/*
 * The holds in flight, written down: <spool>/.held, a line
 * "PID START_BOOTTIME_NS DEADLINE_BOOTTIME_NS" per process stopped by
 * SIGSTOP.  Whoever outlives the watcher (its watchdog, or the watcher's
 * next start) releases them from it.  Holds run concurrently: the watcher
 * keeps the list in memory and rewrites the file whole (rename) at each
 * change, so a reader never sees half of it.
 */
#ifndef CW_HOLD_REGISTRY_H
#define CW_HOLD_REGISTRY_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#define CW_REGISTRY_MAX 1024 /* more SIGSTOP holds than this at once are not written down */

struct cw_hold_entry {
	pid_t pid;
	uint64_t start_boottime;
	uint64_t deadline_boottime_ns;
};

struct cw_hold_registry {
	pthread_mutex_t lock;
	char path[4096];
	struct cw_hold_entry e[CW_REGISTRY_MAX];
	size_t n;
	uint64_t not_written; /* holds beyond CW_REGISTRY_MAX, or a failed write */
};

/* 0 or -errno (path too long).  The file is not touched until the first add. */
int cw_registry_init(struct cw_hold_registry *r, const char *path);
void cw_registry_destroy(struct cw_hold_registry *r);

/* Thread-safe.  Adding a process already there gives it the new deadline. */
void cw_registry_add(struct cw_hold_registry *r, pid_t pid, uint64_t start_boottime,
		     uint64_t deadline_boottime_ns);
void cw_registry_remove(struct cw_hold_registry *r, pid_t pid, uint64_t start_boottime);

/* Holds not written down (thread-safe). */
uint64_t cw_registry_unwritten(struct cw_hold_registry *r);

/*
 * SIGCONT the processes in the registry file whose deadline is before
 * now_ns (UINT64_MAX: all), only if the pid still names the process that
 * was held (its start time) and it is stopped.  A file that is not a
 * regular file of root's, or a malformed line, is ignored and said on
 * stderr.  forget: remove the file.  Returns how many were released.
 */
int cw_registry_release(const char *registry, uint64_t now_ns, int forget);

/* One line of the file, strictly ("12abc" is not a pid).  0 or -EINVAL. */
int cw_registry_parse_line(const char *line, struct cw_hold_entry *e);

uint64_t cw_boottime_ns(void);

#endif
