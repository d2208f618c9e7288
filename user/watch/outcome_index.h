/* SPDX-License-Identifier: MIT */
/* A crash's outcome, as the watcher knows it, into the spool's index (`crashwatch list`). */
#ifndef CW_OUTCOME_INDEX_H
#define CW_OUTCOME_INDEX_H

#include <linux/types.h>
#include "crash_stats.h"
#include "crashwatch/events.h"

/*
 * path: its snapshot ("" or NULL: none); cause: the snapshot's cause line
 * or NULL.  A failure is said once, then only counted: the crash itself is
 * reported all the same.
 */
void cw_outcome_index(const char *spool, const struct cw_signal_event *ev, enum cw_hold_point at,
		      enum cw_crash_snapshot snap, const char *path, const char *cause);

#endif
