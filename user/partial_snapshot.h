/* SPDX-License-Identifier: MIT */
/*
 * When no hold point caught a crash (ptrace refused, the tool failed or
 * timed out, a process that does not dump core), the kernel's first
 * capture of the faulting thread still becomes a snapshot document, one
 * thread only and marked partial (docs/snapshot.md).
 */
#ifndef CW_PARTIAL_SNAPSHOT_H
#define CW_PARTIAL_SNAPSHOT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>
#include "crashwatch/events.h"
#include "snapshot_values.h"
#include "symbolize.h"

/* The document for ev; why: the reason no full snapshot was taken.  NULL on ENOMEM. */
json_t *cw_partial_snapshot_json(const struct cw_signal_event *ev, struct cw_symbolizer *sym,
				 const char *why, const char *uuid);

/* Build it and write it atomically into dir; its path in path.  0 or -errno, err set. */
int cw_partial_snapshot_write(const struct cw_signal_event *ev, struct cw_symbolizer *sym,
			      const char *why, const char *dir, char *path, size_t cap, char *err,
			      size_t err_cap);

#endif
