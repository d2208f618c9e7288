/* SPDX-License-Identifier: MIT */
/*
 * Stop a process briefly and copy what an unwinder needs: every thread's
 * registers and the top of its stack.  Then let it go.  (Android's
 * debuggerd does the same: seize, copy, detach fast, unwind after.)
 */
#ifndef CW_PTRACE_CAPTURE_H
#define CW_PTRACE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "module_open.h"

enum cw_capture_mode {
	CW_CAPTURE_INTERRUPT, /* PTRACE_SEIZE + PTRACE_INTERRUPT: any live process */
	CW_CAPTURE_AT_EXIT,   /* PTRACE_O_TRACEEXIT, never interrupt: a process that is dying */
};

struct cw_thread_capture {
	pid_t tid;
	char name[64];
	char state;	 /* before it was stopped */
	bool captured;	 /* regs and stack valid */
	bool vanished;	 /* exited before it could be stopped */
	int pending_sig; /* a signal it stopped for: handed back at detach */
	struct user_regs_struct regs;
	uint64_t stack_start;
	uint8_t *stack;
	size_t stack_len;
	bool stack_truncated; /* stopped at the byte bound, not the end of the stack */
};

struct cw_capture {
	pid_t pid;
	enum cw_capture_mode mode;
	struct cw_thread_capture *threads;
	size_t n;
	/*
	 * The longest any thread was stopped: first stop to last detach when
	 * stopped together; one thread's stop to its detach when staggered.
	 */
	uint64_t pause_ns;
	uint64_t window_ns; /* first stop to last detach */
	bool staggered;	    /* one thread at a time: no instant when all were stopped */
	char *maps;	    /* /proc/PID/maps as it was while stopped: it may be gone after */
	struct cw_module_source modules; /* its mapped files, opened while stopped */
	bool process_vanished;
};

struct cw_capture_options {
	enum cw_capture_mode mode;
	size_t stack_bytes; /* per thread */
	const pid_t *only;  /* NULL: every thread; else these (and fault_tid) */
	size_t n_only;
	pid_t fault_tid; /* detached last */
	int seized_fd;	 /* -1, or written to (one byte) and closed once all are seized */
	/*
	 * CW_CAPTURE_INTERRUPT: with more threads than this (0: no bound), they
	 * are stopped, copied and let go group by group of this many: the
	 * process never stands still as a whole, but no thread waits for more
	 * than its group's copies (at 1,000 threads a thread stops for about a
	 * millisecond instead of twenty).  Not with `stopped` (it must see all).
	 */
	size_t stop_together;
	/*
	 * Called with every thread stopped and its registers read, before any
	 * is let go: the place for reads that must see the process still (a Go
	 * program's goroutines).  The pause lasts as long as it does.
	 */
	void (*stopped)(void *arg, const struct cw_capture *c);
	void *stopped_arg;
};

/*
 * Capture pid (through its /proc directory fd).  0, or -errno: -EPERM (not
 * traceable), -ESRCH (gone before anything was captured).  Every thread is
 * detached before it returns, on every path.
 */
int cw_capture_process(int proc_dir, pid_t pid, const struct cw_capture_options *o,
		       struct cw_capture *out);
void cw_capture_free(struct cw_capture *c);

/* Read len bytes at addr from the copies (any thread); false when not all are there. */
bool cw_capture_read(const struct cw_capture *c, uint64_t addr, void *buf, size_t len);

#endif
