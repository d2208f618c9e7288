/* SPDX-License-Identifier: MIT */
/* The options of `crashwatch watch`. */
#ifndef CW_WATCH_OPTIONS_H
#define CW_WATCH_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/types.h>
#include "crashwatch/events.h"
#include "debug_dirs.h"
#include "redact.h"

enum cw_core_hold {
	CW_CORE_HOLD_AUTO,   /* the socket where the kernel has it, else the pipe */
	CW_CORE_HOLD_SOCKET, /* core_pattern = @@socket (Linux >= 6.17) */
	CW_CORE_HOLD_PIPE,   /* core_pattern = |crashwatch core-handler */
};

#define CW_MAX_SNAPSHOT_ON 64

struct cw_watch_options {
	uint64_t signals;	/* CW_SIGMASK() of the watched fatal signals */
	uint32_t stack_bytes;	/* stack the snapshot tool copies per thread */
	uint32_t ringbuf_bytes; /* ring buffer size: a power of two, >= one page */
	bool json;
	bool show_stack;
	bool nonzero_exit;  /* also report processes that exit with a non-zero code */
	bool signal_deaths; /* also report deaths by unwatched signals (SIGKILL, SIGTERM...) */
	bool verbose;
	bool hold;	 /* hold every crash for a full snapshot (default) */
	bool drop_cores; /* the core stream goes nowhere after the snapshot */
	enum cw_core_hold core_hold;
	double rate_limit;     /* snapshots a second, the global token bucket's rate */
	double rate_burst;     /* and its size */
	double dedup_window_s; /* one snapshot per crash signature within this */
	const char *upload;    /* KIND:WHERE, or NULL: snapshots stay in the spool */
	const char *upload_token;
	bool upload_sync;	   /* upload each snapshot before handling the next crash */
	unsigned upload_timeout_s; /* the most one request may take */
	uint64_t spool_max_files;  /* 0: any number */
	uint64_t spool_max_bytes;  /* 0: any size */
	unsigned hold_timeout_s;   /* the deadline of one hold */
	unsigned max_holds;	   /* snapshots taken at once */
	unsigned hold_queue;	   /* crashes waiting for one, at most */
	/* The request socket (request_server.h): 0 max_requests, none. */
	unsigned max_requests;	   /* request snapshots taken at once, on workers of their own */
	unsigned request_queue;	   /* requests that may wait for one */
	double request_rate;	   /* per requesting user: snapshots a second */
	double request_burst;	   /* and at once */
	const char *spool;	   /* where snapshots go */
	const char *metrics;	   /* ADDR:PORT serving /metrics, or NULL */
	const char *http;	   /* ADDR serving /debug/timeline, or NULL */
	const char *snapshot_tool; /* NULL: crashwatch-snapshot beside this executable */
	const char *host_core_handler; /* NULL: core_pattern runs this executable */
	unsigned max_libcs;	       /* the most libcs abort() is probed in */
	unsigned max_go_binaries;      /* the most Go executables whose fatal paths are probed */
	unsigned max_rust_binaries;    /* the most Rust executables whose panic path is probed */
	/* --cgroup: watch only these cgroup v2 cgroups and their descendants. */
	const char *cgroups[CW_MAX_SCOPE_CGROUPS];
	unsigned n_cgroups;
	/* Passed to the snapshot tool as they are: its --redact and --no-redact. */
	const char *redact[CW_REDACT_MAX_PATTERNS];
	unsigned n_redact;
	bool no_redact;
	/* --debug-dir: passed to the snapshot tool and the symbol server it starts. */
	const char *debug_dirs[CW_MAX_DEBUG_DIRS];
	unsigned n_debug_dirs;
	/* --snapshot-on: PROVIDER:NAME[@PROGRAM], USDT probes that take a snapshot. */
	const char *snapshot_on[CW_MAX_SNAPSHOT_ON];
	unsigned n_snapshot_on;
	/* --flight-recorder: seconds of every thread's timeline kept (0: off), in this many bytes.
	 */
	double flight_seconds;
	uint64_t flight_bytes;
};

#define CW_DEFAULT_SPOOL	   "/var/lib/crashwatch/spool"
#define CW_DEFAULT_MAX_HOLDS	   4
#define CW_DEFAULT_HOLD_QUEUE	   64
#define CW_DEFAULT_MAX_REQUESTS	   1
#define CW_DEFAULT_REQUEST_QUEUE   8
#define CW_DEFAULT_SPOOL_MAX_FILES 1000
#define CW_DEFAULT_SPOOL_MAX_BYTES (256ULL << 20)

/* abort() uprobes: one per libc file, each holding a perf event fd open. */
#define CW_DEFAULT_MAX_LIBCS 256
#define CW_MAX_LIBCS_LIMIT   1024
#define CW_DEFAULT_MAX_GO    256
#define CW_MAX_GO_LIMIT	     CW_MAX_GO_FILES
#define CW_DEFAULT_MAX_RUST  256
#define CW_MAX_RUST_LIMIT    4096

#define CW_DEFAULT_SIGNALS "SEGV,BUS,FPE,ILL,ABRT,TRAP,SYS"

/* Returns 0 to run, 1 when --help was printed (to out), -EINVAL after printing the error (to err).
 */
int cw_watch_options_parse(int argc, char **argv, struct cw_watch_options *o, FILE *out, FILE *err);

/* A long option's kind: 0 a flag, 1 takes a value, -1 no such option. */
int cw_watch_option_kind(const char *name);

/* "SIGSEGV,SIGBUS" */
void cw_signal_mask_text(uint64_t mask, char *out, size_t cap);

#endif
