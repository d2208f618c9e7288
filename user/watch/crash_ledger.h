/* SPDX-License-Identifier: MIT */
/*
 * The watcher's memory of recent crashes, by process: the kernel's record
 * of its fatal signal (the first capture, without the stack copy) and
 * whether a snapshot of it was written.  A core handler's call finds the
 * crash's si_code and address here; a process that ends without a snapshot
 * gets a partial one from the record.
 */
#ifndef CW_CRASH_LEDGER_H
#define CW_CRASH_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>
#include "crashwatch/events.h"

#define CW_LEDGER_SIZE 128

struct cw_ledger_entry {
	struct cw_signal_event ev; /* the latest record; ev.task.pid 0: free */
	bool snapshotted;	   /* accounted for: a snapshot, or suppressed */
	unsigned holds_in_flight;  /* on the hold pool: their outcome decides */
	bool ended;		   /* its exit came while a hold was in flight */
	uint64_t seq;		   /* age, for eviction */
};

struct cw_crash_ledger {
	struct cw_ledger_entry e[CW_LEDGER_SIZE];
	uint64_t seq;
	uint64_t evicted; /* entries pushed out before their process ended without a snapshot */
};

/* Record ev (a newer record of the same process replaces the older, keeping what became of it). */
struct cw_ledger_entry *cw_ledger_note(struct cw_crash_ledger *l, const struct cw_signal_event *ev);

/* The entry of this process, or NULL.  start_boottime 0 matches any. */
struct cw_ledger_entry *cw_ledger_find(struct cw_crash_ledger *l, pid_t pid,
				       uint64_t start_boottime);

void cw_ledger_forget(struct cw_ledger_entry *e);

#endif
