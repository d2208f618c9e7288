/* SPDX-License-Identifier: MIT */
/* The options of crashwatch-snapshot (the convention of Backtrace's ptrace tool). */
#ifndef CW_SNAPSHOT_OPTIONS_H
#define CW_SNAPSHOT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "debug_dirs.h"
#include "redact.h"

/* Exit codes, one per kind of failure (also in --help). */
enum cw_snapshot_exit {
	CW_SNAP_OK = 0,
	CW_SNAP_FAILED = 1,	    /* unwinding or writing failed */
	CW_SNAP_USAGE = 2,	    /* malformed options */
	CW_SNAP_NO_PROCESS = 3,	    /* no such pid */
	CW_SNAP_KERNEL_THREAD = 4,  /* a kernel thread has no user stack */
	CW_SNAP_ZOMBIE = 5,	    /* dead, not yet reaped: nothing to trace */
	CW_SNAP_NOT_PERMITTED = 6,  /* ptrace refused (permissions, Yama, seccomp) */
	CW_SNAP_ALREADY_TRACED = 7, /* a debugger holds it */
	CW_SNAP_TIMEOUT = 8,	    /* --timeout expired */
	CW_SNAP_VANISHED = 9,	    /* it ended before anything was captured */
	CW_SNAP_BAD_CORE = 10,	    /* --core is not a readable core file */
	CW_SNAP_UNWRITTEN = 11,	    /* the document could not be written (full, read-only) */
	CW_SNAP_NOT_A_CRASH = 12,   /* --rust-unwinding: a catch_unwind catches the panic */
};

#define CW_SNAP_MAX_LIST 256

/* --stop-together's default: up to this many threads stand still at once. */
#define CW_SNAP_STOP_TOGETHER 32

struct cw_kv {
	const char *key;
	const char *value;
};

struct cw_snapshot_options {
	pid_t pid; /* 0 with --core */
	pid_t fault_tid;
	pid_t threads[CW_SNAP_MAX_LIST];
	size_t n_threads;
	const char *classifiers[CW_SNAP_MAX_LIST];
	size_t n_classifiers;
	struct cw_kv kv[CW_SNAP_MAX_LIST];
	size_t n_kv;
	const char *output; /* a directory, or "-" for stdout */
	unsigned timeout_s;
	bool at_exit;
	int seized_fd; /* -1, or where to write one byte once every thread is seized */
	/* -1, or where to write one byte once the capture is done and every thread let go */
	int captured_fd;
	bool env;
	bool no_redact; /* --no-redact: cmdline and environment as they are */
	const char *redact[CW_REDACT_MAX_PATTERNS]; /* --redact: more secret names */
	size_t n_redact;
	bool source_lines;
	bool go_system;		/* --go-system-goroutines: the runtime's own goroutines too */
	uint64_t go_panic_type; /* the panic value's runtime._type, 0 unknown */
	uint64_t go_fatal_addr, go_fatal_len; /* a Go fatal error's message, 0 unknown */
	/* --rust-panic: std's &Location and the payload (object, vtable); 0 unknown. */
	uint64_t rust_location, rust_payload, rust_vtable;
	bool rust_unwinding; /* held at rust_panic: is the panic caught? */
	const char *core;    /* a core file, "-" for stdin, or NULL */
	const char *exe;     /* with --core: the executable, when the core's notes lack it */
	size_t stack_bytes;
	size_t stop_together; /* --stop-together: more threads are captured one at a time */
	/* What the caller knows of the crash (the daemon has it from the kernel). */
	int sig;
	int si_code;
	bool has_si_code;
	uint64_t fault_addr;
	bool has_fault_addr;
	pid_t sender_pid;
	/* A symbol server to ask (client), or to be (server: no PID then). */
	const char *symbolizer;
	const char *symbol_server;
	uint64_t symbol_cache_bytes;
	pid_t parent_pid; /* --die-with-parent: 0 when not given */
	/* Asked for through the watcher's request socket (--trigger, --requested-by). */
	const char *trigger; /* NULL: derived (snapshot_doc.h) */
	bool has_requester;
	pid_t requester_pid;
	uid_t requester_uid;
	gid_t requester_gid;
	const char *requester_comm;		   /* NULL: not given */
	const char *error, *error_type;		   /* --error, --error-type: attributes */
	uint64_t caller_goroutine;		   /* --caller-goroutine: marked faulted, 0 none */
	const char *debug_dirs[CW_MAX_DEBUG_DIRS]; /* --debug-dir, searched first */
	size_t n_debug_dirs;
	const char *timeline; /* --timeline: a file to move beside the snapshot, or NULL */
};

/* 0 to run; 1 when --help/--version was printed to out; -EINVAL after one line on err. */
int cw_snapshot_options_parse(int argc, char **argv, struct cw_snapshot_options *o, FILE *out,
			      FILE *err);

#endif
