/* SPDX-License-Identifier: MIT */
/*
 * Which crashes get a snapshot: one global token bucket, and one snapshot
 * per crash signature within a window.  The others are counted on their
 * signature and written to the spool as aggregates (the first suppressed
 * crash's first capture, with the counts), so none is lost.
 */
#ifndef CW_ADMISSION_H
#define CW_ADMISSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "crash_signature.h"
#include "event_format.h"
#include "rate_limit.h"
#include "symbolize.h"

struct cw_admission {
	struct cw_token_bucket snapshots;
	double dedup_window_s; /* 0: every crash is snapshotted, rate permitting */
	struct cw_signature_table table;
	double last_flush;
	uint64_t suppressed[CW_SUPPRESSED_NR];
	uint64_t unknown_rate_limited; /* core dumps of signals not watched, over the limit */
	uint64_t aggregates_written;
	uint64_t write_failed; /* aggregates the spool did not take */
};

void cw_admission_init(struct cw_admission *a, double rate, double burst, double dedup_window_s);

/*
 * May ev's crash be snapshotted?  If not it is counted (why in *why).  ev
 * NULL: a crash the kernel side did not report (a core dump of a signal not
 * watched): only the rate limit applies.
 */
bool cw_admit(struct cw_admission *a, const struct cw_signal_event *ev,
	      enum cw_suppressed_why *why);

/*
 * May a snapshot asked for on the request socket be taken?  It takes a
 * token of the global bucket, never one of the last half of its burst
 * (rounded down): those are the crashes'.  Requests are no crashes: no signature, no
 * dedup, nothing counted as suppressed.  *wait_s: when to ask again.
 */
bool cw_admit_request(struct cw_admission *a, double *wait_s);

/* The record of a crash cw_admit() refused (none for ev NULL). */
void cw_admission_report(struct cw_admission *a, const struct cw_signal_event *ev,
			 enum cw_suppressed_why why, FILE *out,
			 const struct cw_format_options *fmt);

/* A snapshot of ev's crash was written at path: later alike crashes are counted on it. */
void cw_admission_snapshotted(struct cw_admission *a, const struct cw_signal_event *ev,
			      const char *path);

/* Write an aggregate for every signature with suppressed crashes; their count. */
int cw_admission_flush(struct cw_admission *a, struct cw_symbolizer *sym, const char *spool);

#endif
