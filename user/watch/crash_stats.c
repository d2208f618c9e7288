// SPDX-License-Identifier: MIT
#include "crash_stats.h"

#include <stdio.h>

#include "signals.h"

/* Milliseconds: a SIGSTOP hold takes a few, a core dump's tens, a slow unwind seconds. */
static const double hold_le_ms[CW_HOLD_BUCKETS] = {1,	2.5, 5,	   10,	 25,   50,    100,
						   250, 500, 1000, 2500, 5000, 10000, 30000};

static const char *const point_names[CW_HELD_N] = {
	[CW_HELD_NONE] = "none",       [CW_HELD_HANDLER] = "handler", [CW_HELD_ABORT] = "abort",
	[CW_HELD_GENERATE] = "sender", [CW_HELD_GO] = "go",	      [CW_HELD_RUST] = "rust",
	[CW_HELD_CORE] = "core",
};

static const char *const snapshot_names[CW_SNAP_N] = {
	[CW_SNAP_FULL] = "full",
	[CW_SNAP_PARTIAL] = "partial",
	[CW_SNAP_SUPPRESSED] = "suppressed",
	[CW_SNAP_NONE] = "none",
};

const char *cw_hold_point_name(enum cw_hold_point at)
{
	return point_names[at];
}

const char *cw_crash_snapshot_name(enum cw_crash_snapshot snap)
{
	return snapshot_names[snap];
}

enum cw_hold_point cw_hold_point_of(const struct cw_signal_event *ev)
{
	if (ev->flags & CW_SIG_AT_ABORT)
		return CW_HELD_ABORT;
	if (ev->flags & CW_SIG_AT_GENERATE)
		return CW_HELD_GENERATE;
	if (ev->flags & CW_SIG_AT_GO)
		return CW_HELD_GO;
	if (ev->flags & CW_SIG_AT_RUST_PANIC)
		return CW_HELD_RUST;
	return CW_HELD_HANDLER;
}

void cw_crash_stats_note(struct cw_crash_stats *s, int sig, enum cw_hold_point at,
			 enum cw_crash_snapshot snap, double held_ms)
{
	size_t b = 0;

	s->crashes[sig >= 0 && sig <= 64 ? sig : 0][at]++;
	s->snapshots[snap]++;
	if (held_ms <= 0)
		return;
	while (b < CW_HOLD_BUCKETS && held_ms > hold_le_ms[b])
		b++;
	s->held[b]++;
	s->held_ms_sum += held_ms;
}

void cw_crash_stats_emit(const struct cw_crash_stats *s, struct cw_counter_sink *sink)
{
	char line[32];
	double le_s[CW_HOLD_BUCKETS];
	uint64_t total = 0;
	char labels[96];

	for (int sig = 0; sig <= 64; sig++)
		for (int at = 0; at < CW_HELD_N; at++) {
			const char *name = cw_signal_name(sig);

			total += s->crashes[sig][at];
			if (!s->crashes[sig][at])
				continue;
			snprintf(labels, sizeof(labels), "signal=\"%s\",held_at=\"%s\"",
				 name ? name : "none", point_names[at]);
			cw_sink_emit(sink,
				     &(const struct cw_metric){
					     .family = "crashes",
					     .help = "Crashes by signal (none: a Go panic) and by "
						     "where they were held.",
					     .type = CW_METRIC_COUNTER,
					     .labels = labels,
				     },
				     s->crashes[sig][at]);
		}
	/* The line has the sum; /metrics the family (which may have no sample yet). */
	if (sink->format == CW_SINK_LINE)
		cw_sink_counter(sink, "crashes", "", total);
	for (int i = 0; i < CW_SNAP_N; i++) {
		snprintf(labels, sizeof(labels), "kind=\"%s\"", snapshot_names[i]);
		snprintf(line, sizeof(line), "snapshots_%s", snapshot_names[i]);
		cw_sink_emit(sink,
			     &(const struct cw_metric){
				     .family = "snapshots",
				     .help = "Crash outcomes: full (the snapshot tool's), partial "
					     "(the kernel's first capture), suppressed (rate limit "
					     "or duplicate), none (not written).",
				     .type = CW_METRIC_COUNTER,
				     .labels = labels,
				     .line = line,
			     },
			     s->snapshots[i]);
	}
	for (int i = 0; i < CW_HOLD_BUCKETS; i++)
		le_s[i] = hold_le_ms[i] / 1000.0;
	cw_sink_histogram(sink, "hold_duration_seconds",
			  "How long crashing processes were held, from the crash to their release.",
			  le_s, s->held, CW_HOLD_BUCKETS, s->held_ms_sum / 1000.0);
}
