/* SPDX-License-Identifier: MIT */
/*
 * Crashes alike: the executable, the signal and the top frames of the
 * kernel's first capture (build-id + file offset, so that ASLR and pid do
 * not matter).  Crashes suppressed — beyond the rate limit, or alike to one
 * snapshotted within the window — are counted here, by signature, and
 * written out as one aggregate each (never silently lost).
 */
#ifndef CW_CRASH_SIGNATURE_H
#define CW_CRASH_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>
#include "crashwatch/events.h"

#define CW_SIGNATURE_FRAMES 3
#define CW_SIGNATURE_TABLE  256

/* 64-bit FNV-1a of what makes crashes alike. */
uint64_t cw_crash_signature(const struct cw_signal_event *ev);

enum cw_suppressed_why {
	CW_SUPPRESSED_DUPLICATE,    /* alike to a snapshot within the window */
	CW_SUPPRESSED_RATE_LIMITED, /* the global rate limit had no token */
	CW_SUPPRESSED_NR,
};

struct cw_signature_entry {
	uint64_t sig;			   /* 0: free */
	double last_snapshot;		   /* monotonic s of its last snapshot, or 0 */
	char snapshot_uuid[40];		   /* that snapshot's */
	uint64_t counts[CW_SUPPRESSED_NR]; /* suppressed since the last flush */
	double first_suppressed, last_suppressed;
	uint64_t last_ts_ns; /* the last suppressed crash's kernel time (CLOCK_BOOTTIME) */
	struct cw_signal_event example; /* the first suppressed crash (no stack copy) */
	bool has_example;
};

struct cw_signature_table {
	struct cw_signature_entry e[CW_SIGNATURE_TABLE];
	uint64_t evicted; /* suppressed crashes whose entry was reused before a flush */
};

/* The entry of sig, made (evicting the least recent) when absent. */
struct cw_signature_entry *cw_signature_entry(struct cw_signature_table *t, uint64_t sig);

/* Count a suppressed crash on its entry. */
void cw_signature_suppress(struct cw_signature_entry *e, const struct cw_signal_event *ev,
			   enum cw_suppressed_why why, double now);

#endif
