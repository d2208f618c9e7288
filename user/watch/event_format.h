/* SPDX-License-Identifier: MIT */
/* The watcher's output: one readable line (plus the stack) or one JSON line per event. */
#ifndef CW_EVENT_FORMAT_H
#define CW_EVENT_FORMAT_H

#include <stdbool.h>
#include <stdio.h>

#include <linux/types.h>
#include "crashwatch/events.h"
#include "symbolize.h"

struct cw_format_options {
	bool json;
	bool show_stack; /* the first capture's frames under the event line */
};

/* sym may be NULL: frames are then shown as addresses and build-ids only. */
void cw_format_signal(FILE *out, const struct cw_signal_event *ev, struct cw_symbolizer *sym,
		      const struct cw_format_options *o);
/* The first capture's frames, as under a signal line (for a crash whose stack comes later). */
void cw_format_first_capture_stack(FILE *out, const struct cw_signal_event *ev,
				   struct cw_symbolizer *sym);

/* What became of a crash: the snapshot written for it. */
struct cw_snapshot_outcome {
	const char *path; /* "" when none was written */
	double held_ms;	  /* how long the process was held (0: not held) */
	int tool_status;  /* the snapshot tool's exit status, -1 killed or not run */
	bool timed_out;
	bool partial; /* from the kernel's first capture, not the tool */
	const char *why_partial;
	const char *cause; /* the snapshot's "cause" line, or NULL */
};

void cw_format_snapshot(FILE *out, const struct cw_signal_event *ev,
			const struct cw_snapshot_outcome *s, const struct cw_format_options *o);
void cw_format_exit(FILE *out, const struct cw_exit_event *ev, const struct cw_format_options *o);

#endif
