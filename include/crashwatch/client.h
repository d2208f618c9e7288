/* SPDX-License-Identifier: MIT */
/*
 * libcrashwatch: ask the running crashwatch watcher for a snapshot of this
 * process (or of another one this process may trace) — the seeds'
 * bt.Trace() for any program.  The watcher stops every thread for well
 * under a millisecond, copies registers and stacks, lets the process go on,
 * then unwinds, symbolizes and writes the snapshot to its spool, from where
 * it is uploaded like a crash's, marked non-fatal (trigger "request").
 *
 *     #include <crashwatch/client.h>      cc ... $(pkg-config --cflags --libs crashwatch)
 *
 *     struct crashwatch_kv kv[] = {{"build", "42"}};
 *     struct crashwatch_options o = {.kv = kv, .n_kv = 1,
 *                                    .error_message = "queue stalled", .error_type = "Stall"};
 *     struct crashwatch_result r;
 *     if (crashwatch_trace(&o, &r) == CRASHWATCH_WRITTEN) puts(r.text);   // its path
 *
 * From a signal handler, with a socket opened beforehand and nothing
 * allocated (crashwatch_trace_prepared() calls only async-signal-safe
 * functions: socket, connect, send, poll, recv, close, clock_gettime):
 *
 *     static struct crashwatch_conn conn;             // at start-up:
 *     crashwatch_prepare(&conn, NULL);
 *     ... in the handler:
 *     crashwatch_trace_prepared(&conn, &o, &r);
 *
 * Every call is bounded by the request's timeout (plus a few seconds for
 * the watcher to answer).  The wire protocol is include/crashwatch/request.h.
 */
#ifndef CRASHWATCH_CLIENT_H
#define CRASHWATCH_CLIENT_H

#include <stddef.h>

#include "crashwatch/request.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What became of a request: enum cw_status of request.h, under these names. */
enum crashwatch_status {
	CRASHWATCH_WRITTEN = CW_STATUS_DONE,		  /* text: the snapshot's path */
	CRASHWATCH_QUEUED = CW_STATUS_QUEUED,		  /* CRASHWATCH_NO_WAIT: taken */
	CRASHWATCH_REFUSED = CW_STATUS_REFUSED,		  /* not permitted: text says why */
	CRASHWATCH_RATE_LIMITED = CW_STATUS_RATE_LIMITED, /* detail: ms to wait */
	CRASHWATCH_BUSY = CW_STATUS_BUSY,
	CRASHWATCH_BAD_REQUEST = CW_STATUS_BAD_REQUEST, /* text says what is wrong */
	CRASHWATCH_NO_PROCESS = CW_STATUS_NO_PROCESS,
	CRASHWATCH_FAILED = CW_STATUS_FAILED, /* detail: the snapshot tool's exit status */
	CRASHWATCH_TIMED_OUT = CW_STATUS_TIMED_OUT,
	CRASHWATCH_UNAVAILABLE = CW_STATUS_UNAVAILABLE, /* the watcher takes no requests */
	CRASHWATCH_NO_WATCHER = CW_STATUS_NO_WATCHER,	/* nothing listens on the socket */
	CRASHWATCH_PROTOCOL = CW_STATUS_PROTOCOL,	/* the connection failed mid-way */
};

/* crashwatch_options.flags */
#define CRASHWATCH_NO_WAIT     0x1 /* answer once queued, not once written (no path) */
#define CRASHWATCH_CALLER_ONLY 0x2 /* only the calling thread (and the threads given) */
#define CRASHWATCH_NOT_FAULTED 0x4 /* do not mark the calling thread faulted */

struct crashwatch_kv {
	const char *key; /* non-empty, no ':' */
	const char *value;
};

/* All fields may be 0/NULL.  Nothing is copied: the pointers must live through the call. */
struct crashwatch_options {
	const struct crashwatch_kv *kv; /* attributes (at most 64) */
	size_t n_kv;
	const char *const *classifiers; /* at most 32 */
	size_t n_classifiers;
	const char *error_message; /* attribute "error"; the snapshot's cause line */
	const char *error_type;	   /* attribute "error.type" */
	unsigned flags;		   /* CRASHWATCH_* */
	unsigned timeout_ms;	   /* the whole request; 0: the watcher's default (10 s) */
	/*
	 * 0: this process, the calling thread marked faulted (unless
	 * CRASHWATCH_NOT_FAULTED).  Another pid: that process, which the
	 * caller must be permitted to trace; fault_tid then marks a thread.
	 */
	int pid;
	int fault_tid;
	const int *threads; /* only these threads (with the faulted one); at most 256 */
	size_t n_threads;
	const char *socket_path; /* NULL: CW_REQUEST_SOCKET */
};

struct crashwatch_result {
	int status; /* enum crashwatch_status */
	int detail; /* RATE_LIMITED: ms to wait; FAILED: the tool's exit status */
	char text[4096];
};

/* Ask and, unless CRASHWATCH_NO_WAIT, wait for the snapshot.  Returns r->status. */
int crashwatch_trace(const struct crashwatch_options *o, struct crashwatch_result *r);

/* For a signal handler: a socket made beforehand, the buffers in here. */
struct crashwatch_conn {
	int fd; /* an unconnected AF_UNIX socket, or -1 */
	char path[108];
	struct cw_request req, check;
	unsigned char buf[CW_REQ_MAX];
	unsigned char reply[CW_REPLY_MAX];
};

/* Make the socket (path NULL: CW_REQUEST_SOCKET).  0, or -errno. */
int crashwatch_prepare(struct crashwatch_conn *c, const char *path);

/*
 * Async-signal-safe: no allocation, no lock, no stdio.  Uses c's socket,
 * then makes a new one for the next call (c->fd -1 when that failed: call
 * crashwatch_prepare() again).  o->socket_path is ignored.  Returns r->status.
 */
int crashwatch_trace_prepared(struct crashwatch_conn *c, const struct crashwatch_options *o,
			      struct crashwatch_result *r);

/* Close c's socket. */
void crashwatch_close(struct crashwatch_conn *c);

/* A status in a few words ("written", "refused", …). */
const char *crashwatch_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif
