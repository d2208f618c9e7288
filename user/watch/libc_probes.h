/* SPDX-License-Identifier: MIT */
/*
 * The uprobes on abort() in every libc the watched processes use: the host's
 * at start, then each file mapped executable later, in any mount namespace,
 * that exports abort.  One uprobe per file, since uprobes are per inode.
 */
#ifndef CW_LIBC_PROBES_H
#define CW_LIBC_PROBES_H

#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <linux/types.h>
#include "counter_sink.h"
#include "crashwatch/events.h"

struct cw_libc_probe {
	struct cw_file_key file; /* the real inode (overlayfs: below the overlay) */
	struct bpf_link *link;
};

struct cw_libc_probes {
	struct bpf_program *prog; /* the uprobe program (on_abort) */
	struct bpf_link *iter;	  /* identify_mappings, over this process's mappings */
	int execs_fd;		  /* the kernel's table of executables seen (execs_seen), or -1 */
	unsigned max;		  /* the most files probed */
	struct cw_libc_probe *v;
	size_t n;
	uint64_t skipped; /* libcs left unprobed: max reached */
	uint64_t failed;  /* libcs whose uprobe could not be attached */
	uint64_t unread;  /* processes gone before they could be looked at */
};

/* Up to max probes of prog, files identified by identify (the iterator program); execs_fd
 * as above.  Prints the failure.  0 or -errno. */
int cw_libc_probes_init(struct cw_libc_probes *p, struct bpf_program *prog,
			struct bpf_program *identify, int execs_fd, unsigned max);

/*
 * The inode a uprobe on the file open on fd attaches to (overlayfs: the
 * file below), through the iterator.  0 or -errno.
 */
int cw_libc_probes_real_file(struct cw_libc_probes *p, int fd, struct cw_file_key *key);

/* Probe abort() in the libc this watcher runs on, the host's; its path to path.  Prints
 * the failure.  0 or -errno. */
int cw_libc_probes_add_host(struct cw_libc_probes *p, char *path, size_t cap);

/*
 * An executable first run in a mount namespace: probe abort() in the libc it
 * uses if that is not probed yet, and say so on stderr.  Failures are counted
 * and printed, never fatal.
 */
void cw_libc_probes_on_exec(struct cw_libc_probes *p, const struct cw_exec_event *ev);

/* libcs_probed, libcs_skipped, libc_probes_failed, execs_unread, through the sink. */
void cw_libc_probes_emit_counters(const struct cw_libc_probes *p, struct cw_counter_sink *s);

/* Detach every probe; safe on a zeroed or half-initialised set. */
void cw_libc_probes_free(struct cw_libc_probes *p);

#endif
