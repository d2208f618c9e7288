/* SPDX-License-Identifier: MIT */
/*
 * One hold, start to end, on the calling thread: a process stopped by
 * SIGSTOP (at its handler, at abort(), at generation) or a core dump the
 * kernel holds for `crashwatch core-handler`.  The snapshot tool is started
 * on it, and the process is let go as soon as the tool says the capture is
 * done (--captured-fd); the tool's unwinding runs after that, on its own
 * time.  Holds run concurrently on the hold pool's threads (hold_pool.h).
 */
#ifndef CW_HOLD_H
#define CW_HOLD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>
#include "coredump_socket.h"
#include "crashwatch/events.h"
#include "crashwatch/request.h"
#include "hold_registry.h"
#include "redact.h"
#include "usdt_notes.h"

struct cw_hold_config {
	const char *tool;		   /* the snapshot tool */
	const char *symbolizer;		   /* its --symbolizer socket, or NULL */
	const char *dir;		   /* where snapshots go (created 0700) */
	unsigned timeout_s;		   /* the whole hold, the tool's unwinding included */
	unsigned stack_bytes;		   /* the tool's --stack-bytes: copied per thread */
	struct cw_hold_registry *registry; /* the SIGSTOP holds in flight */
	int cancel_fd; /* -1, or readable once the watcher stops: every wait ends at once */
	/* The tool's --redact patterns and --no-redact (watch options of the same names). */
	const char *const *redact;
	unsigned n_redact;
	bool no_redact;
	/* The tool's --debug-dir directories (the watch option of the same name). */
	const char *const *debug_dirs;
	unsigned n_debug_dirs;
	/*
	 * NULL, or called with the process held, before the tool starts: write
	 * a file to keep beside the snapshot (the flight recorder's timeline)
	 * into dir, its path into path; 0 when written.  The tool is given it
	 * (--timeline) and moves it beside its snapshot; one left over is removed.
	 */
	int (*beside)(void *arg, pid_t pid, const char *dir, char *path, size_t cap);
	void *beside_arg;
};

/* A USDT probe's snapshot (watch --snapshot-on): its name and arguments, as text. */
struct cw_hold_usdt {
	char probe[2 * CW_USDT_NAME_MAX]; /* PROVIDER:NAME */
	unsigned nargs;
	char args[CW_USDT_MAX_ARGS][CW_USDT_STRING_LEN + 24];
};

/* What the kernel said of a crash's signal, as the snapshot tool is told it. */
struct cw_crash_signal {
	pid_t pid;
	int sig;
	int si_code;
	__u32 flags; /* enum cw_signal_flags: AT_ABORT, FROM_PROCESS */
	__u64 fault_addr;
	pid_t sender_pid;
	__u64 go_message_len;		 /* a Go fatal error's message length (at fault_addr) */
	const struct cw_hold_usdt *usdt; /* CW_SIG_AT_USDT: the probe, else NULL */
	/* With CW_SIG_RUST_PANIC: a Rust panic's &Location, payload object and vtable. */
	__u64 rust_location, rust_payload, rust_vtable;
};

void cw_crash_signal_of(const struct cw_signal_event *ev, struct cw_crash_signal *out);

struct cw_hold_result {
	int tool_status; /* exit status of the tool, -1 when it had to be killed */
	bool timed_out;
	bool cancelled;	 /* the watcher stopped meanwhile */
	double held_ms;	 /* the crash's record (or the handler's call) to the release */
	char path[4096]; /* the snapshot, or "" */
	/* Read from the snapshot by the worker (snapshot_stack.h), for the record. */
	char cause[512];
	char *stack; /* malloc'd, freed with the job */
	/*
	 * No snapshot: the timeline written beside for the tool (the flight
	 * recorder's, while the process was held), the caller's to move beside
	 * the partial snapshot or remove; "" otherwise.
	 */
	char beside[4096];
};

/* The snapshot tool beside the running executable. */
int cw_default_snapshot_tool(char *out, size_t cap);

/* mkdir -p with mode 0700 for the last component. 0 or -errno. */
int cw_make_dir(const char *path);

/*
 * Snapshot the held process of ev and release it, whatever happens: at the
 * tool's capture, or at the deadline.  -ESRCH: it never stopped.  stopped
 * (may be NULL) turns true once it is seen stopped, for other threads to read.
 * usdt: a USDT probe's hold (the process goes on after), or NULL.
 */
int cw_hold_snapshot(const struct cw_hold_config *c, const struct cw_signal_event *ev,
		     const struct cw_hold_usdt *usdt, atomic_bool *stopped,
		     struct cw_hold_result *r);

/*
 * A snapshot asked for on the request socket (request_server.h): the
 * process is not held by the watcher, the tool interrupts it itself.
 */
struct cw_hold_req {
	struct cw_request req; /* its strings point into raw */
	unsigned char raw[CW_REQ_MAX];
	pid_t pid;		 /* the process to snapshot */
	uint64_t start_boottime; /* ns since boot: still the same process when the job runs */
	pid_t requester_pid;
	uid_t requester_uid;
	gid_t requester_gid;
	char requester_comm[64];
	double deadline_ms; /* CLOCK_MONOTONIC: past it, not started (r->timed_out) */
	unsigned timeout_s; /* the tool's --timeout */
};

/*
 * Run the tool on the request's process and collect its snapshot.
 * -ESRCH: the process is gone (or its pid names another one); -ETIMEDOUT:
 * the deadline passed before it could start.
 */
int cw_hold_request(const struct cw_hold_config *c, const struct cw_hold_req *q,
		    struct cw_hold_result *r);

/* Let a held process go on without a snapshot (a crash not admitted). */
void cw_hold_release(const struct cw_hold_config *c, const struct cw_signal_event *ev);

/*
 * Whoever holds a core dump back until answered: `crashwatch core-handler`
 * (core_pattern pipes to it), or the kernel itself (the coredump socket).
 */
struct cw_core_call {
	int conn;		      /* the handler's connection, or -1 */
	struct cw_coredump_conn sock; /* the kernel's; sock.fd -1 when none */
	const char *previous; /* the core_pattern before crashwatch's: the core goes there */
	bool drop;	      /* --drop-cores: it goes nowhere */
	pid_t consumer;	      /* the previous pipe handler reading the core, or -1 */
};

/*
 * Let the dump go on: the handler is told, or the kernel is answered and
 * the core handed to the previous consumer.  The connection is closed.
 */
void cw_core_call_answer(struct cw_core_call *c);

/* Reap the previous handler the core went to, waiting for it until until_ms at most. */
void cw_core_call_finish(struct cw_core_call *c, double until_ms);

/* A core dump let go without a snapshot: answered, finished. */
void cw_core_call_release(struct cw_core_call *c);

/*
 * The handler's request on a fresh connection: "PID TID SIG".  The
 * handler sends it at once; a peer that does not is given up on.
 */
int cw_hold_core_request(int conn, pid_t *pid, pid_t *tid, int *sig);

/*
 * A core dump held back by call: start the tool in --at-exit mode, answer
 * once every thread is seized (or after 2 s) so the dump goes on, wait for
 * the capture at the threads' exit stops, collect the snapshot.  known:
 * what the watcher's record said of that crash's signal, or NULL.
 * held_since_ns: boot time the hold began (the crash's record, or the
 * call).  The call is answered and finished.
 */
int cw_hold_core(const struct cw_hold_config *c, struct cw_core_call *call, pid_t pid, pid_t tid,
		 int sig, const struct cw_crash_signal *known, uint64_t held_since_ns,
		 struct cw_hold_result *r);

#endif
