/* SPDX-License-Identifier: MIT */
/*
 * The watcher's stdout and stderr, written by threads of their own.  A
 * reader that stops reading (a pipe nobody drains) then costs records,
 * whole lines counted as dropped, and never a held crash: the loop that
 * answers core dumps and releases holds must not wait in write().
 */
#ifndef CW_OUTPUT_QUEUE_H
#define CW_OUTPUT_QUEUE_H

#include <stddef.h>

#include "counter_sink.h"

/* Each stream's queue holds at most this many bytes of lines not yet written. */
#define CW_OUTPUT_QUEUE_BYTES (1u << 20)

/*
 * stdout and stderr become queues in front of fds 1 and 2 (children still
 * get the fds themselves; a forked child gets the streams back).  At
 * exit(), the queues are drained for up to 2 s.  0, or -errno with the
 * streams left as they were.
 */
int cw_output_queues_start(size_t cap);

/* Flush both and wait up to drain_s for their lines to be written; they stay queues. */
void cw_output_queues_drain(double drain_s);

void cw_output_queues_emit_counters(struct cw_counter_sink *s);

#endif
