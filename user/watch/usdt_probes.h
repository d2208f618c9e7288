/* SPDX-License-Identifier: MIT */
/*
 * watch --snapshot-on=PROVIDER:NAME[@PROGRAM]: where the probes are
 * attached.  @/PATH: that file (an executable or a library), at start; as
 * uprobes are per inode, every process that runs or maps it, now or later,
 * is covered.  @NAME: the executables of that name.  Alone: every file
 * that has the probe.  Without a path, the executables and libraries of
 * the processes running at start are looked at, then each executable as it
 * is first run in a mount namespace (the exec records libc_probes hears of)
 * and, for a spec without a program, the libraries the system's loader
 * would map for it (`ld.so --list`, as `crashwatch probes PROGRAM` finds
 * them) when it runs in the watcher's mount namespace: a library's probe
 * is found even when no program mapped the library at start.
 */
#ifndef CW_USDT_PROBES_H
#define CW_USDT_PROBES_H

#include <stdio.h>

#include "libc_probes.h"
#include "usdt_attach.h"
#include "watch_options.h"

/* Libraries looked at for their probes, remembered: each is read once. */
#define CW_USDT_LIBS_SEEN 4096

struct cw_usdt_probes {
	struct cw_usdt_set set;
	struct cw_usdt_spec specs[CW_MAX_SNAPSHOT_ON];
	unsigned n_specs;
	bool started;
	bool any_file;	     /* a spec without a program: libraries matter */
	uint32_t own_mnt_ns; /* the watcher's mount namespace, 0 unknown */
	struct cw_file_key *libs_seen;
	size_t n_libs_seen;
	uint64_t lib_lookups; /* new executables whose libraries were looked up */
};

/*
 * Attach what the specs name in the files given by path and in the running
 * processes.  Prints the failure (a path without the probe included).  0
 * or -errno.
 */
int cw_usdt_probes_start(struct cw_usdt_probes *u, const struct cw_watch_options *o,
			 struct bpf_program *prog, int gates_fd, struct cw_libc_probes *files);

/* A new executable: attach the specs it has.  Failures are printed, never fatal. */
void cw_usdt_probes_on_exec(struct cw_usdt_probes *u, struct cw_libc_probes *files,
			    const struct cw_exec_event *ev);

/* " usdt_attached=N usdt_attach_failed=N" */
struct cw_counter_sink;
void cw_usdt_probes_emit_counters(const struct cw_usdt_probes *u, struct cw_counter_sink *s);

void cw_usdt_probes_free(struct cw_usdt_probes *u);

#endif
