/* SPDX-License-Identifier: MIT */
/*
 * Where snapshots are uploaded and how one is sent: --upload=KIND:WHERE
 * (generic:URL, sentry:DSN, backtrace:ENDPOINT), one HTTP POST per
 * snapshot with libcurl, and what the answer means for the file.
 */
#ifndef CW_UPLOAD_TARGET_H
#define CW_UPLOAD_TARGET_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>

#include "upload_format.h"

enum cw_upload_kind {
	CW_UPLOAD_GENERIC,
	CW_UPLOAD_SENTRY,
	CW_UPLOAD_BACKTRACE,
};

struct cw_upload_target {
	enum cw_upload_kind kind;
	char *url; /* where the POST goes */
	char *token;
	struct cw_sentry_dsn dsn;
	unsigned timeout_s; /* the whole request (--upload-timeout) */
};

#define CW_UPLOAD_TIMEOUT_DEFAULT_S 30
#define CW_UPLOAD_TIMEOUT_MAX_S	    3600
#define CW_UPLOAD_CONNECT_TIMEOUT_S 10

/* "sentry:https://key@host/42"; token: the generic bearer or Backtrace token (may be NULL). */
int cw_upload_target_parse(const char *spec, const char *token, struct cw_upload_target *t,
			   char *err, size_t cap);
void cw_upload_target_free(struct cw_upload_target *t);

enum cw_upload_verdict {
	CW_UPLOAD_DONE,	   /* accepted: the file may go */
	CW_UPLOAD_RETRY,   /* network error, 5xx, 429: try again later */
	CW_UPLOAD_FAIL,	   /* refused for good (other 4xx, or unreadable): to failed/ */
	CW_UPLOAD_STOPPED, /* cut short by a stop: the file stays for the next run */
};

struct cw_upload_answer {
	enum cw_upload_verdict verdict;
	long status;	    /* HTTP status, 0 when none came */
	double retry_after; /* seconds the backend asked to wait (429, 503), or 0 */
	char reason[512];   /* for a person: why not DONE */
};

/*
 * Where a request goes through: an easy handle driven by a multi handle, so
 * that a stop ends a transfer at once (the multi poll wakes on
 * curl_multi_wakeup, on a signal, or every 100 ms to look at *stop) instead
 * of at the end of --upload-timeout.  Both reused between calls.
 */
struct cw_upload_conn {
	void *easy;		 /* CURL * */
	void *multi;		 /* CURLM * */
	const atomic_bool *stop; /* true: abandon the transfer in flight */
};

/* curl_global_init first.  0 or -ENOMEM. */
int cw_upload_conn_open(struct cw_upload_conn *c, const atomic_bool *stop);
/* Accepts a zeroed or already closed conn. */
void cw_upload_conn_close(struct cw_upload_conn *c);
/* *c->stop was set: wake the transfer in flight now.  Any thread, not a signal handler. */
void cw_upload_conn_wake(const struct cw_upload_conn *c);

/*
 * POST one snapshot document.  Every try of one snapshot carries the same
 * idempotency key, so a backend that got a request whose answer was lost
 * can tell the retry from a new crash: generic, an Idempotency-Key header
 * with the snapshot's uuid; Sentry, the event_id made from it; Backtrace,
 * the report's uuid (coronerd refuses a uuid it already has).  att (or
 * NULL): a file to send with it (Sentry: an attachment item in the
 * envelope; Backtrace and generic: multipart/form-data, see
 * cw_upload_with_attachment).
 */
void cw_upload_send(const struct cw_upload_conn *c, const struct cw_upload_target *t,
		    const json_t *snap, const struct cw_upload_attachment *att,
		    struct cw_upload_answer *a);

/*
 * Seconds from a Retry-After value (delta or HTTP date), or from X-Sentry-Rate-Limits:
 * 0 when it says nothing usable, at most CW_RETRY_AFTER_MAX_S (a backend that asks for
 * "inf", NaN or a date in 9999 does not stop uploads for good).
 */
#define CW_RETRY_AFTER_MAX_S 86400.0
double cw_retry_after_header(const char *value);
double cw_sentry_rate_limits(const char *value);

#endif
