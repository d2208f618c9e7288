/* SPDX-License-Identifier: MIT */
/*
 * Tracing USDT probes to userspace, shared by `crashwatch probes --trace`
 * and `crashwatch timeline --events`: the detect BPF object with only
 * on_usdt (and the iterator that tells files apart) loaded, a list's probes
 * attached to the files that declare them, each event handed to a callback
 * with the attachment it came from.  One request's probes detach together
 * at cw_usdt_tracer_close, or when the process dies however it dies (the
 * kernel closes the perf events): the semaphores go back down either way.
 */
#ifndef CW_USDT_TRACER_H
#define CW_USDT_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "libc_probes.h"
#include "probe_files.h"
#include "usdt_attach.h"

#define CW_USDT_TRACE_MAX_SPECS 64

/* PROVIDER:NAME specs, from one or more comma-separated lists. */
struct cw_usdt_trace_list {
	struct cw_usdt_spec v[CW_USDT_TRACE_MAX_SPECS];
	unsigned n;
};

/*
 * Add list's specs to l (no '@PROGRAM'; a repeat is kept once).  A bad one
 * is said, naming option ("--trace"): -EINVAL.
 */
int cw_usdt_trace_list_add(struct cw_usdt_trace_list *l, const char *list, const char *option);

typedef void (*cw_usdt_trace_fn)(void *ctx, const struct cw_usdt_event *ev,
				 const struct cw_usdt_attachment *a);

struct cw_usdt_tracer_options {
	uint32_t view_pidns;	    /* a sidecar's pid namespace, 0 on the host */
	const uint64_t *cgroup_ids; /* only processes in these cgroups and below, when any */
	unsigned n_cgroups;
	cw_usdt_trace_fn fn;
	void *ctx;
};

struct cw_usdt_tracer {
	struct detect_bpf *skel;
	struct cw_libc_probes identify; /* only its iterator: files' real inodes */
	struct cw_usdt_set set;
	struct ring_buffer *rb;
	cw_usdt_trace_fn fn;
	void *ctx;
	uint64_t malformed;
};

/* Load the programs and open the ring buffer.  Prints what failed; 0 or -errno. */
int cw_usdt_tracer_open(struct cw_usdt_tracer *t, const struct cw_usdt_tracer_options *o);

/*
 * Attach each probe of l that a file of f declares, firing in pid only (-1:
 * in every process mapping the file).  exe_only: only in processes running
 * f->v[0] (a PROGRAM's libraries fire in every process; once per tracer).
 * found[s] counts the files with l->v[s]; declared (may be NULL) gets how
 * many probes the files declare in all.  Prints what failed; 0 or -errno.
 */
int cw_usdt_tracer_attach(struct cw_usdt_tracer *t, const struct cw_probe_files *f,
			  const struct cw_usdt_trace_list *l, pid_t pid, bool exe_only,
			  unsigned found[CW_USDT_TRACE_MAX_SPECS], size_t *declared);

/* An fd that polls readable when events wait; then cw_usdt_tracer_consume. */
int cw_usdt_tracer_fd(const struct cw_usdt_tracer *t);
int cw_usdt_tracer_consume(struct cw_usdt_tracer *t);
int cw_usdt_tracer_poll(struct cw_usdt_tracer *t, int timeout_ms);

/* Events lost so far: the ring buffer was full. */
uint64_t cw_usdt_tracer_lost(const struct cw_usdt_tracer *t);

/* Detach everything and free; safe on a zeroed or half-opened tracer. */
void cw_usdt_tracer_close(struct cw_usdt_tracer *t);

#endif
