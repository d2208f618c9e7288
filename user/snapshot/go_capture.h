/* SPDX-License-Identifier: MIT */
/*
 * Every goroutine of a Go program: read while the process is stopped (the
 * runtime's allgs, each g, the stack words an unwinder needs, and at a
 * hold at runtime.fatalpanic the panic value), unwound and symbolized from
 * .gopclntab after it runs again.
 */
#ifndef CW_GO_CAPTURE_H
#define CW_GO_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "go_binary.h"
#include "ptrace_capture.h"

#define CW_GO_MAX_GOROUTINES 100000		 /* listed; the rest counted */
#define CW_GO_STACK_BYTES    (64u << 10)	 /* per goroutine */
#define CW_GO_STACK_BUDGET   ((size_t)128 << 20) /* all of them */
#define CW_GO_MAX_FRAMES     256

struct cw_go_frame {
	uint64_t pc;
	bool exact;		     /* not a return address */
	const char *function, *file; /* inside the binary's mapped table */
	uint64_t function_offset;
	int line;
};

struct cw_goroutine {
	uint64_t addr, goid, gopc, startpc, m;
	uint32_t status;
	uint8_t waitreason;
	pid_t tid;	 /* the thread it runs on (its registers used), 0: none */
	uint64_t pc, sp; /* where the unwinding starts */
	bool pc_exact;
	uint8_t *stack; /* [stack_start, stack_start + stack_len) */
	uint64_t stack_start;
	size_t stack_len;
	bool stack_truncated;
	bool faulted, system;
	struct cw_go_frame *frames;
	size_t n_frames;
	bool frames_truncated;
	const char *created_function, *created_file;
	int created_line;
};

struct cw_go_capture {
	struct cw_goroutine *g;
	size_t n;
	uint64_t total;	   /* len(allgs), dead ones included */
	bool capped;	   /* more than CW_GO_MAX_GOROUTINES */
	const char *error; /* why no goroutine could be read */
	uint64_t bytes_read;
	/* At a hold at runtime.fatalpanic's entry: RAX is the *_panic. */
	bool panicking;
	uint64_t panic_addr;
	uint64_t original_type; /* in: the value's type as passed to panic(), 0 unknown */
	uint64_t caller_goid;	/* in: the goroutine that asked for the snapshot, 0 none */
	uint64_t fatal_msg_addr, fatal_msg_len; /* in: a fatal error's message, 0 unknown */
	char fatal_message[1024];		/* "" when not read */
	char panic_type[256];			/* "" when its type could not be read */
	char panic_message[4096];
	bool has_message; /* false: only the type is known (Error() cannot be called) */
};

/* While the process is stopped (the capture's threads hold their registers). */
void cw_go_capture_stopped(const struct cw_go_binary *b, const struct cw_capture *c,
			   pid_t fault_tid, struct cw_go_capture *out);

/* After: unwind each goroutine from its copy and symbolize it. */
void cw_go_unwind(const struct cw_go_binary *b, const struct cw_capture *c,
		  struct cw_go_capture *gc);

void cw_go_capture_free(struct cw_go_capture *gc);

/* "waiting", "running", … as the runtime names them; NULL when unknown. */
const char *cw_go_status_name(uint32_t status);
/* As the runtime prints them (Go 1.19's table); NULL when unknown or none. */
const char *cw_go_wait_reason(const struct cw_go_binary *b, uint8_t reason);

#endif
