/* SPDX-License-Identifier: MIT */
/*
 * Uploads the spool, oldest first, and deletes a file only once the backend
 * accepted it.  Network errors and 5xx back off exponentially with jitter;
 * 429 (and Sentry's X-Sentry-Rate-Limits) wait as long as asked; other 4xx
 * move the file to failed/ with the reason.  Uploads pass through the same
 * kind of token bucket as snapshots.  In the watcher it runs on its own
 * thread; `crashwatch upload` runs one pass in the foreground.  A stop
 * (cw_uploader_abort) ends the transfer in flight at once, whatever the
 * network does: its file stays in the spool for the next run.
 */
#ifndef CW_UPLOADER_H
#define CW_UPLOADER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "counter_sink.h"
#include "rate_limit.h"
#include "upload_target.h"

#define CW_BACKOFF_FIRST_S 1.0
#define CW_BACKOFF_MAX_S   300.0

struct cw_uploader {
	const struct cw_upload_target *target;
	const char *spool;
	struct cw_token_bucket bucket;
	bool verbose; /* a line per upload on stderr */
	/* Backing off: no request before this (monotonic s). */
	double not_before;
	unsigned failures; /* in a row */
	/* Read by the watcher while its thread counts. */
	_Atomic uint64_t uploaded, refused, retries;
	/* Set from any thread (or a signal handler): no more requests, the one in flight ends. */
	atomic_bool aborting;
	struct cw_upload_conn conn; /* cw_uploader_open */
	/* The thread. */
	pthread_t thread;
	bool running, stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t kicks, passes_done; /* a pass that started after kick k ends: passes_done >= k */
};

/* The delay after n failures in a row: 1, 2, 4 … 300 s, each with jitter in [50%, 100%]. */
double cw_backoff_s(unsigned failures, double unit_random);

/* The connection (curl_global_init first).  0 or -ENOMEM; close accepts an unopened one. */
int cw_uploader_open(struct cw_uploader *u);
void cw_uploader_close(struct cw_uploader *u);

/*
 * One pass over the spool: upload until it is empty, a token is missing, the
 * backend asks to wait, or a stop.  0 when the spool is empty, 1 when files
 * are left (backing off, rate-limited or stopped), -errno.  Opened first.
 */
int cw_uploader_pass(struct cw_uploader *u);

/* Opens the connection and starts the thread. */
int cw_uploader_start(struct cw_uploader *u);
/* A new snapshot is there: upload it now (unless backing off). */
void cw_uploader_kick(struct cw_uploader *u);
/*
 * Wait until a pass that saw everything kicked so far has ended, at most
 * timeout_s.  True when it did, or when stopping (no pass is coming: a
 * stopped upload says so itself).
 */
bool cw_uploader_wait(struct cw_uploader *u, double timeout_s);
/*
 * Shutting down: the transfer in flight is abandoned now, no other starts,
 * waits return.  Not from a signal handler (set u->aborting there).
 */
void cw_uploader_abort(struct cw_uploader *u);
/* uploads{result=ok,failed,retrying}: uploaded, upload_refused, upload_retries on the line. */
void cw_upload_emit_counters(const struct cw_uploader *u, struct cw_counter_sink *s);

/* Joins the thread, closes the connection. */
void cw_uploader_stop(struct cw_uploader *u);

#endif
