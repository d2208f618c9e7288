/* SPDX-License-Identifier: MIT */
/*
 * Holds run on threads of their own, so that reading the kernel's records
 * and answering core handlers never waits on a snapshot: a bounded number
 * of captures at once, a bounded queue behind them, and one thread that
 * only releases processes not to be snapshotted.  The watcher's thread
 * submits jobs and takes the finished ones back (done_fd turns readable);
 * all the crash bookkeeping stays on its side.
 */
#ifndef CW_HOLD_POOL_H
#define CW_HOLD_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hold.h"

#define CW_HOLD_WORKERS_MAX    64
#define CW_HOLD_QUEUE_MAX      4096
#define CW_REQUEST_WORKERS_MAX 16
#define CW_REQUEST_QUEUE_MAX   256

enum cw_hold_kind {
	CW_HOLD_STOPPED, /* stopped by SIGSTOP: the record in ev */
	CW_HOLD_CORE,	 /* a core dump held back by call */
	CW_HOLD_REQUEST, /* a snapshot asked for on the request socket: the process runs */
};

struct cw_hold_job {
	enum cw_hold_kind kind;
	struct cw_signal_event ev; /* the crash's record; for a core, ev.task.pid 0 when none */
	/* CW_HOLD_CORE: who holds the dump back, and what it said. */
	struct cw_core_call call;
	pid_t pid, tid;
	int sig;
	uint64_t held_since_ns; /* boot time */
	/* CW_HOLD_REQUEST: what was asked (malloc'ed, freed with the job), where to answer. */
	struct cw_hold_req *req;
	int req_conn;  /* -1: nobody waits for the answer */
	bool has_usdt; /* CW_HOLD_STOPPED at a USDT probe: usdt says which */
	struct cw_hold_usdt usdt;
	/* Filled by the pool. */
	atomic_bool stopped; /* CW_HOLD_STOPPED: seen stopped */
	int err;
	struct cw_hold_result r;
	struct cw_hold_job *next;
};

/*
 * Requests have workers and a queue of their own: a request's snapshot
 * never takes a crash's worker nor waits in its queue, so however many
 * requests come, a crash hold starts as it would without them.
 */
struct cw_hold_pool {
	struct cw_hold_config cfg; /* cfg.cancel_fd is the pool's */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct cw_hold_job *queue, *queue_tail, *releases, *done;
	struct cw_hold_job *rqueue, *rqueue_tail; /* CW_HOLD_REQUEST jobs */
	struct cw_hold_job *running[CW_HOLD_WORKERS_MAX + CW_REQUEST_WORKERS_MAX];
	unsigned queued, max_queued, n_releases, busy;
	unsigned rqueued, max_rqueued, rbusy;
	bool stopping;
	int done_fd; /* eventfd: readable while finished jobs wait */
	/* The crash workers, the request workers, then the releaser. */
	pthread_t threads[CW_HOLD_WORKERS_MAX + CW_REQUEST_WORKERS_MAX + 1];
	struct worker_arg {
		struct cw_hold_pool *p;
		unsigned slot; /* its running[] */
		bool requests; /* a request worker */
	} args[CW_HOLD_WORKERS_MAX + CW_REQUEST_WORKERS_MAX];
	unsigned n_workers, n_rworkers, n_started;
	uint64_t queue_full; /* crash jobs refused: the queue was full */
};

/*
 * 0 or -errno.  cfg is copied; its cancel_fd is replaced by the pool's.
 * rworkers (0: no requests taken) run request jobs, at most rqueued waiting.
 */
int cw_hold_pool_start(struct cw_hold_pool *p, const struct cw_hold_config *cfg, unsigned workers,
		       unsigned max_queued, unsigned rworkers, unsigned max_rqueued);

/*
 * Takes job (malloc'ed) and returns true; false when its queue is full
 * (job stays the caller's).  A request job goes to the request workers.
 */
bool cw_hold_pool_submit(struct cw_hold_pool *p, struct cw_hold_job *job);

/* Release a process held by SIGSTOP without a snapshot, on the releaser thread. */
void cw_hold_pool_release(struct cw_hold_pool *p, const struct cw_signal_event *ev);

/* Let a core dump go on without a snapshot, on the releaser thread (the core may be written). */
void cw_hold_pool_release_core(struct cw_hold_pool *p, const struct cw_core_call *call);

/*
 * Whether a SIGSTOP hold of pid is queued or running and has not seen it
 * stop: a process that dumps core meanwhile never will (a signal sent by
 * another process can be delivered before the SIGSTOP sent at its
 * generation), and its core dump is the hold then.
 */
bool cw_hold_pool_waiting_stop(struct cw_hold_pool *p, pid_t pid);

/* Frees a job: its request, its connection (closed) and itself. */
void cw_hold_job_free(struct cw_hold_job *j);

/* A finished job (the caller frees it), or NULL. */
struct cw_hold_job *cw_hold_pool_take(struct cw_hold_pool *p);

/*
 * Every hold ends at once (tools killed, processes released, handlers
 * answered), the threads are joined; finished jobs stay to be taken.
 */
void cw_hold_pool_stop(struct cw_hold_pool *p);

/* Frees what is left; after stop. */
void cw_hold_pool_free(struct cw_hold_pool *p);

#endif
