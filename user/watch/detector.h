/* SPDX-License-Identifier: MIT */
/* The detection BPF programs: environment checks, configure, load, attach, counters. */
#ifndef CW_DETECTOR_H
#define CW_DETECTOR_H

#include <bpf/libbpf.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/types.h>
#include "crashwatch/events.h"
#include "go_probes.h"
#include "libc_probes.h"
#include "rust_probes.h"
#include "scope.h"
#include "usdt_probes.h"
#include "watch_options.h"

struct cw_detector {
	struct detect_bpf *skel;
	struct ring_buffer *rb;
	ring_buffer_sample_fn fn; /* where records go, but those the detector acts on */
	void *fn_ctx;
	bool oom_tracking; /* oom:mark_victim attached */
	bool hold_sent;	   /* signals from other processes held at generation (Linux >= 6.13) */
	char libc[4096];   /* the host's libc, where abort() is probed (with --hold) */
	struct cw_libc_probes libcs; /* the abort() uprobes: owned here */
	struct cw_go_probes go;	     /* the Go runtimes' fatal paths: owned here */
	struct cw_usdt_probes usdt;  /* --snapshot-on: owned here */
	struct cw_rust_probes rust;  /* Rust std's panic paths: owned here */
};

/* Root, BPF and BTF present: prints what is missing and how to fix it. 0 or -errno. */
int cw_check_environment(void);

/*
 * Open, configure, load and attach; records go to fn, but for new
 * executables (CW_EVENT_EXEC): the detector probes abort() in their libc
 * and a Go one's fatal paths itself, the links being its own.  Prints the failure.  0 or -errno.
 */
int cw_detector_start(struct cw_detector *d, const struct cw_watch_options *o,
		      const struct cw_scope *scope, ring_buffer_sample_fn fn, void *ctx);

/* Wait up to timeout_ms for records and hand them to fn: count handled or -errno. */
int cw_detector_poll(struct cw_detector *d, int timeout_ms);

/* An fd that polls readable when records wait; then cw_detector_consume. */
int cw_detector_fd(struct cw_detector *d);
int cw_detector_consume(struct cw_detector *d);

/* A --cgroup cgroup was made again: watch its new id instead of the old.  0 or -errno. */
int cw_detector_scope_replace(struct cw_detector *d, uint64_t old_id, uint64_t new_id);

/* Sum of the per-CPU counters. */
int cw_detector_counters(struct cw_detector *d, uint64_t out[CW_NR_COUNTERS]);

/* Detach and free everything; safe on a half-started or zeroed detector. */
void cw_detector_stop(struct cw_detector *d);

#endif
