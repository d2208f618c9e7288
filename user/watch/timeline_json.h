/* SPDX-License-Identifier: MIT */
/*
 * Timeline records into Chrome's Trace Event Format, as fgtrace writes it:
 * a JSON array, one event a line; an "hz" metadata event; per process a
 * process_name, per thread a thread_name; every stack frame a B/E slice,
 * the stacks diffed from one observation of a thread to the next (on the
 * CPU: a sample; off it: the interval), the thread's state as a virtual
 * frame at the root or the leaf.  Timestamps in µs from the window's start;
 * pids and tids as the records carry them (32-bit: Perfetto drops 64-bit
 * ids); a Go process's records with a goroutine on its own track, tid 2^30 +
 * goid, named "goroutine N".  An observation lasts until the thread's next one, as a sampler at
 * hz would have seen it: an on-CPU sample two sampling periods at most (the
 * next one is late), an off-CPU interval one period past its end.
 */
#ifndef CW_TIMELINE_JSON_H
#define CW_TIMELINE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/types.h>
#include "crashwatch/timeline.h"

enum cw_tl_state_frames {
	CW_TL_FRAMES_ROOT, /* fgtrace's default */
	CW_TL_FRAMES_LEAF,
	CW_TL_FRAMES_NO,
};

/*
 * A point in time on a thread's track (a trace event of --events): a
 * Chrome instant event, thread-scoped ("ph":"i","s":"t"), with args.
 */
struct cw_tl_instant {
	uint64_t ts_ns; /* CLOCK_BOOTTIME, as the records' */
	uint32_t pid, tid;
	char comm[CW_COMM_LEN]; /* the thread's name, for a thread with no record */
	char *name;		/* JSON text: a string */
	char *args;		/* JSON text: an object */
};

struct cw_tl_json_options {
	unsigned hz;
	enum cw_tl_state_frames state_frames;
	uint64_t start_ns, end_ns; /* the window, CLOCK_BOOTTIME */
	/* Instants to add (any order); those outside the window are left out. */
	const struct cw_tl_instant *instants;
	size_t n_instants;
};

struct cw_tl_json_stats {
	size_t processes, threads, events;
	size_t goroutines; /* goroutine tracks, not in threads */
	size_t instants;   /* of events, the instants written */
};

/* The state's name as a virtual frame: "running", "sleeping"... */
const char *cw_tl_state_name(enum cw_tl_state s);

/* "root", "leaf", "no": 0, or -EINVAL. */
int cw_tl_parse_state_frames(const char *s, enum cw_tl_state_frames *out);

/*
 * Write the records (any order, any processes) as one trace.  The processes
 * are symbolized and unwound through their mappings now, while they live.
 * 0 or -errno (write errors: -EIO).
 */
int cw_tl_write_json(FILE *out, const struct cw_tl_record *const *recs, size_t n,
		     const struct cw_tl_json_options *o, struct cw_tl_json_stats *stats);

#endif
