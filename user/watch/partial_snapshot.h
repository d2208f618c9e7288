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
#include "container_read.h"
#include "snapshot_doc.h"
#include "snapshot_values.h"
#include "symbolize.h"

/* A partial document's description and everything it points into. */
struct cw_partial_doc {
	struct cw_snapshot_doc doc;
	struct cw_container_info container;
	struct cw_doc_thread thread;
	struct cw_doc_frame frames[CW_MAX_FRAMES];
	struct cw_doc_module modules[CW_MAX_FRAMES];
	char build_ids[CW_MAX_FRAMES][2 * CW_BUILD_ID_SIZE + 1];
	char exe[CW_EXE_PATH_LEN + CW_EXE_PATH_DEPTH + 1];
	char comm[CW_COMM_LEN + 1];
	const char *classifiers[3]; /* signal, si_code, cause */
	const char *notes[3];
};

/*
 * Describe ev's crash in p->doc; why: the reason no full snapshot was
 * taken (capture.notes[0]).  Symbol strings stay sym's: p must not outlive
 * it.  Free with cw_partial_doc_free().
 */
void cw_partial_doc_fill(struct cw_partial_doc *p, const struct cw_signal_event *ev,
			 struct cw_symbolizer *sym, const char *why, const char *uuid);
void cw_partial_doc_free(struct cw_partial_doc *p);

/* The document for ev (filled and written).  NULL on ENOMEM. */
json_t *cw_partial_snapshot_json(const struct cw_signal_event *ev, struct cw_symbolizer *sym,
				 const char *why, const char *uuid);

/*
 * Build it and write it atomically into dir; its path in path.  0 or
 * -errno, err set.  timeline: a file in dir (the flight recorder's) moved
 * beside it as <uuid>.timeline.json and named in it, or NULL; left where it
 * is if it could not be.
 */
int cw_partial_snapshot_write(const struct cw_signal_event *ev, struct cw_symbolizer *sym,
			      const char *why, const char *timeline, const char *dir, char *path,
			      size_t cap, char *err, size_t err_cap);

#endif
