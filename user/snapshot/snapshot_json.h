/* SPDX-License-Identifier: MIT */
/* The full snapshot document of crashwatch-snapshot (docs/snapshot.md). */
#ifndef CW_SNAPSHOT_JSON_H
#define CW_SNAPSHOT_JSON_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "abort_message.h"
#include "container_read.h"
#include "cxx_exception.h"
#include "go_capture.h"
#include "proc_info.h"
#include "ptrace_capture.h"
#include "rust_panic.h"
#include "snapshot_doc.h"
#include "snapshot_options.h"
#include "unwind.h"

struct cw_snapshot {
	const struct cw_snapshot_options *opts;
	const struct cw_proc_info *proc; /* live: from /proc; core: filled from its notes */
	const struct cw_container_info *container; /* NULL for a core: all unknown */
	const struct cw_capture *capture;	   /* NULL for a core */
	const struct cw_unwinder *unwound;
	const char *const *classifiers; /* all of them: given and derived */
	size_t n_classifiers;
	const char *method;	 /* "ptrace", "ptrace-at-exit", "core" */
	const char *environment; /* NUL-separated, or NULL */
	size_t environment_len;
	double pause_ms, total_ms;
	double window_ms; /* first stop to last release */
	bool staggered;	  /* threads stopped one at a time */
	const char *uuid;
	const char *const *notes; /* what went wrong on the way, for a person */
	size_t n_notes;
	/* A Go program (NULL otherwise): its goroutines and panic, read at the capture. */
	const struct cw_go_binary *go_binary;
	const struct cw_go_capture *go;
	/* glibc's abort message, read at the hold at abort() (NULL: none). */
	const struct cw_abort_message *abort_msg;
	/* The uncaught C++ exception std::terminate() aborted for (NULL: none). */
	const struct cw_cxx_exception *cxx;
	/* A Rust panic's message and location, as read at the hold (NULL: none). */
	const struct cw_rust_panic *rust;
	/* The timeline kept beside it (a file name in its directory), or NULL. */
	const char *timeline;
};

/* Fills the document's description from s and writes it (snapshot_doc.h).  NULL on ENOMEM. */
json_t *cw_snapshot_json(const struct cw_snapshot *s);

#endif
