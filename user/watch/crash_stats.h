/* SPDX-License-Identifier: MIT */
/*
 * What became of the crashes, counted for /metrics and the SIGUSR1 line: by
 * signal and by where the crash was held, the snapshot each got, and how
 * long the holds lasted.  Updated on the watcher's thread only (where the
 * outcomes are known) and read there.
 */
#ifndef CW_CRASH_STATS_H
#define CW_CRASH_STATS_H

#include <stdint.h>

#include <linux/types.h>
#include "counter_sink.h"
#include "crashwatch/events.h"

/* Where a crash was held. */
enum cw_hold_point {
	CW_HELD_NONE,	  /* not held: its first capture, or a report without holds */
	CW_HELD_HANDLER,  /* SIGSTOP at its signal handler */
	CW_HELD_ABORT,	  /* at abort() */
	CW_HELD_GENERATE, /* a signal sent by another process */
	CW_HELD_GO,	  /* a Go panic or fatal error */
	CW_HELD_RUST,	  /* a Rust panic=unwind panic at std's rust_panic */
	CW_HELD_CORE,	  /* in its core dump */
	CW_HELD_N,
};

enum cw_crash_snapshot {
	CW_SNAP_FULL,	    /* the snapshot tool's */
	CW_SNAP_PARTIAL,    /* the kernel's first capture */
	CW_SNAP_SUPPRESSED, /* rate limit or duplicate */
	CW_SNAP_NONE,	    /* none was written (spool full, not holding) */
	CW_SNAP_N,
};

#define CW_HOLD_BUCKETS 14

struct cw_crash_stats {
	uint64_t crashes[65][CW_HELD_N]; /* [signal 0..64: 0 for none (Go, Rust unwind panics)] */
	uint64_t snapshots[CW_SNAP_N];
	uint64_t held[CW_HOLD_BUCKETS + 1]; /* [i]: at most le[i] ms; the last: above all */
	double held_ms_sum;
};

/* The hold point of a stopped process's record (not of a core dump). */
enum cw_hold_point cw_hold_point_of(const struct cw_signal_event *ev);

/* "none", "handler", "abort", "sender", "go", "core"; "full", "partial", "suppressed", "none". */
const char *cw_hold_point_name(enum cw_hold_point at);
const char *cw_crash_snapshot_name(enum cw_crash_snapshot snap);

/* One crash's outcome; held_ms 0: not held. */
void cw_crash_stats_note(struct cw_crash_stats *s, int sig, enum cw_hold_point at,
			 enum cw_crash_snapshot snap, double held_ms);

void cw_crash_stats_emit(const struct cw_crash_stats *s, struct cw_counter_sink *sink);

#endif
