/* SPDX-License-Identifier: MIT */
/*
 * What the watcher watches: every process its pid namespace sees (the
 * host's, or a sidecar's container), narrowed to --cgroup cgroups and their
 * descendants when given.
 */
#ifndef CW_SCOPE_H
#define CW_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "watch_options.h"

/* The inode number of the host's (the initial) pid namespace: PROC_PID_INIT_INO. */
#define CW_HOST_PIDNS_INO 0xEFFFFFFCU

struct cw_scope {
	uint32_t pidns;	    /* this watcher's pid namespace (inode number) */
	bool sidecar;	    /* it is not the host's: only its processes are seen */
	char cgroup2[4096]; /* where cgroup v2 is mounted; "" if nowhere */
	unsigned n_cgroups;
	uint64_t cgroup_ids[CW_MAX_SCOPE_CGROUPS];
	char cgroup_paths[CW_MAX_SCOPE_CGROUPS][512]; /* as /proc/PID/cgroup shows them */
	int inotify_fd; /* their parents, for cgroups removed and made again; -1 */
};

/* Resolve the options into s.  Prints what is wrong and how to fix it; 0 or -errno. */
int cw_scope_resolve(const struct cw_watch_options *o, struct cw_scope *s, FILE *err);

/*
 * Watch the --cgroup cgroups' parent directories: a cgroup removed and made
 * again (systemd does it at each restart of a service) has a new id.  The
 * fd polls readable then: call cw_scope_refresh.  0 or -errno (printed).
 */
int cw_scope_watch(struct cw_scope *s, FILE *err);

/*
 * Drain the watch and read each cgroup's id again; for each that changed,
 * changed(ctx, old id, new id).  The count changed.
 */
int cw_scope_refresh(struct cw_scope *s, void (*changed)(void *, unsigned, uint64_t, uint64_t),
		     void *ctx);

/* Is pid (as our /proc numbers it) in a --cgroup cgroup or below, by its path now? */
bool cw_scope_has_pid(const struct cw_scope *s, pid_t pid);

void cw_scope_close(struct cw_scope *s);

/* "every process on the host", "the processes of pid namespace N (sidecar)"... */
void cw_scope_describe(const struct cw_scope *s, char *out, size_t cap);

#endif
