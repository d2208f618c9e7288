/* SPDX-License-Identifier: MIT */
/*
 * A process held by SIGSTOP at its handler's entry: run the snapshot tool on
 * it under a deadline, then let it go on (SIGCONT).  Holds in flight are
 * written down, so that a watcher that died holding one releases it when it
 * starts again.
 */
#ifndef CW_HOLD_H
#define CW_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>
#include "crashwatch/events.h"

struct cw_hold_config {
	const char *tool;     /* the snapshot tool */
	const char *dir;      /* where snapshots go (created 0700) */
	unsigned timeout_s;   /* the whole hold */
	const char *registry; /* the file of holds in flight */
};

/* What the kernel said of a crash's signal, as the snapshot tool is told it. */
struct cw_crash_signal {
	pid_t pid;
	int sig;
	int si_code;
	__u32 flags; /* enum cw_signal_flags: AT_ABORT, FROM_PROCESS */
	__u64 fault_addr;
	pid_t sender_pid;
};

void cw_crash_signal_of(const struct cw_signal_event *ev, struct cw_crash_signal *out);

struct cw_hold_result {
	int tool_status; /* exit status of the tool, -1 when it had to be killed */
	bool timed_out;
	double held_ms;	 /* event seen to SIGCONT */
	char path[4096]; /* the snapshot, or "" */
};

/* The snapshot tool beside the running executable. */
int cw_default_snapshot_tool(char *out, size_t cap);

/* mkdir -p with mode 0700 for the last component. 0 or -errno. */
int cw_make_dir(const char *path);

/* Snapshot the held process of ev and release it, whatever happens. */
int cw_hold_snapshot(const struct cw_hold_config *c, const struct cw_signal_event *ev,
		     struct cw_hold_result *r);

/* Let a held process go on without a snapshot (a crash not admitted). */
void cw_hold_release(const struct cw_hold_config *c, const struct cw_signal_event *ev);

/* Let a core dump go on without a snapshot; conn is closed. */
void cw_hold_core_release(int conn);

/*
 * A core dump the kernel holds while `crashwatch core-handler` runs: read
 * the handler's request from conn, start the tool in --at-exit mode, answer
 * the handler once every thread is seized (or after 2 s), collect the
 * snapshot.  conn is closed.
 */
int cw_hold_core_request(int conn, pid_t *pid, pid_t *tid, int *sig);
/* known: what the watcher's record said of that crash's signal, or NULL. */
int cw_hold_core(const struct cw_hold_config *c, int conn, pid_t pid, pid_t tid, int sig,
		 const struct cw_crash_signal *known, struct cw_hold_result *r);

#endif
