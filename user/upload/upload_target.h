/* SPDX-License-Identifier: MIT */
/*
 * Where snapshots are uploaded and how one is sent: --upload=KIND:WHERE
 * (generic:URL, sentry:DSN, backtrace:ENDPOINT), one HTTP POST per
 * snapshot with libcurl, and what the answer means for the file.
 */
#ifndef CW_UPLOAD_TARGET_H
#define CW_UPLOAD_TARGET_H

#include <jansson.h>
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
	unsigned timeout_s; /* the whole request */
};

/* "sentry:https://key@host/42"; token: the generic bearer or Backtrace token (may be NULL). */
int cw_upload_target_parse(const char *spec, const char *token, struct cw_upload_target *t,
			   char *err, size_t cap);
void cw_upload_target_free(struct cw_upload_target *t);

enum cw_upload_verdict {
	CW_UPLOAD_DONE,	 /* accepted: the file may go */
	CW_UPLOAD_RETRY, /* network error, 5xx, 429: try again later */
	CW_UPLOAD_FAIL,	 /* refused for good (other 4xx, or unreadable): to failed/ */
};

struct cw_upload_answer {
	enum cw_upload_verdict verdict;
	long status;	    /* HTTP status, 0 when none came */
	double retry_after; /* seconds the backend asked to wait (429, 503), or 0 */
	char reason[512];   /* for a person: why not DONE */
};

/* POST one snapshot document.  curl: an easy handle, reused between calls. */
void cw_upload_send(void *curl, const struct cw_upload_target *t, const json_t *snap,
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
