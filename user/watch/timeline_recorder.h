/* SPDX-License-Identifier: MIT */
/*
 * The timeline BPF programs (bpf/timeline.bpf.c): a perf event per CPU
 * sampling the threads in scope at hz, sched_switch for their intervals off
 * the CPU; records (crashwatch/timeline.h) come out of a ring buffer.
 */
#ifndef CW_TIMELINE_RECORDER_H
#define CW_TIMELINE_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>
#include "crashwatch/timeline.h"

#define CW_TL_DEFAULT_HZ	  99
#define CW_TL_MAX_HZ		  10000
#define CW_TL_DEFAULT_STACK_BYTES 512

/* A record checked against its size; return non-zero to stop consuming. */
typedef int (*cw_tl_record_fn)(void *ctx, const struct cw_tl_record *r);

struct cw_tl_recorder_options {
	unsigned hz;
	unsigned stack_bytes;	/* top of the stack copied per record, <= CW_TL_STACK_MAX */
	uint32_t ringbuf_bytes; /* a power of two, >= one page */
	/* The scope: these processes (host pids), or with all every one the watcher sees. */
	const pid_t *pids;
	size_t n_pids;
	bool all;
	uint32_t view_pidns;	    /* a sidecar's pid namespace, 0 on the host (all only) */
	const uint64_t *cgroup_ids; /* all only: only these cgroups and below */
	unsigned n_cgroups;
	/*
	 * Samples only: no program on sched_switch.  Every switch of the host
	 * then costs nothing, and a thread off the CPU is a gap, not a slice.
	 */
	bool on_cpu_only;
};

struct cw_tl_recorder {
	struct timeline_bpf *skel;
	struct ring_buffer *rb;
	int n_cpus;
	int *perf_fds;
	struct bpf_link **perf_links;
	cw_tl_record_fn fn;
	void *ctx;
	uint64_t malformed; /* records whose size did not match: dropped */
	bool on_cpu_only;
};

/*
 * Open, configure, load and attach.  Prints what failed ("crashwatch: failed
 * to ..."); 0 or -errno.
 */
int cw_tl_recorder_start(struct cw_tl_recorder *r, const struct cw_tl_recorder_options *o,
			 cw_tl_record_fn fn, void *ctx);

/* An fd that polls readable once a batch of records waits (not at each); then
 * cw_tl_recorder_consume. */
int cw_tl_recorder_fd(const struct cw_tl_recorder *r);
int cw_tl_recorder_consume(struct cw_tl_recorder *r);
int cw_tl_recorder_poll(struct cw_tl_recorder *r, int timeout_ms);

/*
 * Seed: remember where the threads already off the CPU wait (at the start).
 * Flush: send every open off-CPU interval up to now, then consume.  pid 0:
 * every process in scope.  0 or -errno.
 */
int cw_tl_recorder_seed(struct cw_tl_recorder *r, pid_t pid);
int cw_tl_recorder_flush(struct cw_tl_recorder *r, pid_t pid);

/* Sum of the per-CPU counters (enum cw_tl_counter). */
int cw_tl_recorder_counters(const struct cw_tl_recorder *r, uint64_t out[CW_TL_NR_COUNTERS]);

/* Detach and free; safe on a zeroed or half-started recorder. */
void cw_tl_recorder_stop(struct cw_tl_recorder *r);

/* Check a record from the ring buffer: the record or NULL. */
const struct cw_tl_record *cw_tl_record_check(const void *data, size_t size);

#endif
