/* SPDX-License-Identifier: MIT */
/* The options of `crashwatch watch`. */
#ifndef CW_WATCH_OPTIONS_H
#define CW_WATCH_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cw_watch_options {
	uint64_t signals;	/* CW_SIGMASK() of the watched fatal signals */
	uint32_t stack_bytes;	/* bound of the stack copy */
	uint32_t ringbuf_bytes; /* ring buffer size: a power of two, >= one page */
	bool json;
	bool show_stack;
	bool nonzero_exit;  /* also report processes that exit with a non-zero code */
	bool signal_deaths; /* also report deaths by unwatched signals (SIGKILL, SIGTERM...) */
	bool verbose;
	bool hold;		   /* hold handled fatal signals for a full snapshot */
	unsigned hold_timeout_s;   /* the deadline of one hold */
	const char *spool;	   /* where snapshots go */
	const char *snapshot_tool; /* NULL: crashwatch-snapshot beside this executable */
	unsigned max_libcs;	   /* the most libcs abort() is probed in */
};

#define CW_DEFAULT_SPOOL "/var/lib/crashwatch/spool"

/* abort() uprobes: one per libc file, each holding a perf event fd open. */
#define CW_DEFAULT_MAX_LIBCS 256
#define CW_MAX_LIBCS_LIMIT   1024

#define CW_DEFAULT_SIGNALS "SEGV,BUS,FPE,ILL,ABRT,TRAP,SYS"

/* Returns 0 to run, 1 when --help was printed (to out), -EINVAL after printing the error (to err).
 */
int cw_watch_options_parse(int argc, char **argv, struct cw_watch_options *o, FILE *out, FILE *err);

/* "SIGSEGV,SIGBUS" */
void cw_signal_mask_text(uint64_t mask, char *out, size_t cap);

#endif
