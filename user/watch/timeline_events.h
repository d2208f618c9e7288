/* SPDX-License-Identifier: MIT */
/*
 * `crashwatch timeline --events`: the trace events (USDT probes) of the
 * processes recorded, attached through the USDT tracer, each one fired
 * kept as an instant on its thread's track, with its arguments.
 */
#ifndef CW_TIMELINE_EVENTS_H
#define CW_TIMELINE_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "scope.h"
#include "timeline_json.h"
#include "usdt_tracer.h"

struct cw_tl_events {
	struct cw_usdt_tracer tracer;
	struct cw_tl_instant *v;
	size_t n, cap;
	uint64_t lost; /* the ring buffer was full (known at cw_tl_events_stop) */
	int err;       /* keeping one failed: -ENOMEM */
};

/*
 * Attach l's probes: in each process of pids alone, or, with scope, in the
 * files of every process in scope now, firing in any process of the scope
 * (later ones included) that maps them.  Prints what failed.  0; -EINVAL
 * when no process has one of the events, or has none at all (a usage
 * error); -errno.
 */
int cw_tl_events_start(struct cw_tl_events *e, const struct cw_usdt_trace_list *l,
		       const pid_t *pids, size_t n_pids, const struct cw_scope *scope);

/* Polls readable when events wait; then cw_tl_events_consume.  -1 when not started. */
int cw_tl_events_fd(const struct cw_tl_events *e);
int cw_tl_events_consume(struct cw_tl_events *e);

/* Take what is left, then detach every probe together.  Safe twice, and on a zeroed one. */
void cw_tl_events_stop(struct cw_tl_events *e);

/* Stop, and free the instants. */
void cw_tl_events_free(struct cw_tl_events *e);

#endif
