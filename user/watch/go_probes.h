/* SPDX-License-Identifier: MIT */
/*
 * The entry uprobes on the fatal paths of every Go executable the watched
 * processes run: runtime.fatalpanic and runtime.fatalthrow, in each Go file
 * found at exec (a Go program is static and carries its own runtime: one
 * probe set per file, as uprobes are per inode), bounded by
 * --max-go-binaries.  Each one probed is written into the kernel's go_exes
 * table, so its faults are held at its panic rather than at the runtime's
 * signal handler.
 */
#ifndef CW_GO_PROBES_H
#define CW_GO_PROBES_H

#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/types.h>
#include "crashwatch/events.h"
#include "libc_probes.h"

enum cw_go_fn {
	CW_GO_FATALPANIC, /* an unrecovered panic */
	CW_GO_FATALTHROW, /* a fatal error: throw and fatal both end there */
	CW_GO_PREPRINT,	  /* runtime.preprintpanics: the panic value's type, before its text */
	CW_GO_THROW,	  /* runtime.throw and runtime.fatal: a fatal error's message */
	CW_GO_FATAL,
	CW_GO_NR_FNS,
};

struct cw_go_probe {
	struct cw_file_key file; /* the real inode (overlayfs: below the overlay) */
	struct bpf_link *links[CW_GO_NR_FNS];
};

struct cw_go_probes {
	/* on_go_panic, on_go_fatal, on_go_preprint, on_go_throw (twice) */
	struct bpf_program *progs[CW_GO_NR_FNS];
	int go_exes_fd; /* the kernel's go_exes table */
	unsigned max;
	struct cw_go_probe *v;
	size_t n;
	uint64_t skipped; /* Go files left unprobed: max reached */
	uint64_t failed;  /* Go files whose uprobes could not be attached */
};

/* Up to max Go files.  Prints the failure.  0 or -errno. */
int cw_go_probes_init(struct cw_go_probes *g, struct bpf_program *panic, struct bpf_program *fatal,
		      struct bpf_program *preprint, struct bpf_program *throw, int go_exes_fd,
		      unsigned max);

/*
 * An executable first run in a mount namespace: when it is Go, probe its
 * fatal paths if its file is not probed yet (files told apart by libcs'
 * iterator) and say so on stderr.  Failures are counted and printed, never
 * fatal.
 */
void cw_go_probes_on_exec(struct cw_go_probes *g, struct cw_libc_probes *libcs,
			  const struct cw_exec_event *ev);

/* go_binaries_probed, go_binaries_skipped, go_probes_failed, through the sink. */
void cw_go_probes_emit_counters(const struct cw_go_probes *g, struct cw_counter_sink *s);

/* Detach every probe; safe on a zeroed or half-initialised set. */
void cw_go_probes_free(struct cw_go_probes *g);

#endif
