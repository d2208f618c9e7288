// SPDX-License-Identifier: MIT
#include "upload_target.h"

#include "version.h"
#include "upload_snapshot.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int cw_upload_target_parse(const char *spec, const char *token, struct cw_upload_target *t,
			   char *err, size_t cap)
{
	const char *colon = strchr(spec, ':');
	size_t kind_len = colon ? (size_t)(colon - spec) : 0;
	const char *where = colon ? colon + 1 : "";

	memset(t, 0, sizeof(*t));
	t->timeout_s = CW_UPLOAD_TIMEOUT_DEFAULT_S;
	if (!colon || !*where) {
		snprintf(err, cap,
			 "bad --upload '%s': give generic:URL, sentry:DSN or backtrace:ENDPOINT",
			 spec);
		return -EINVAL;
	}
	if (kind_len == 7 && strncmp(spec, "generic", 7) == 0) {
		t->kind = CW_UPLOAD_GENERIC;
		t->url = strdup(where);
	} else if (kind_len == 6 && strncmp(spec, "sentry", 6) == 0) {
		t->kind = CW_UPLOAD_SENTRY;
		if (cw_sentry_dsn_parse(where, &t->dsn, err, cap) < 0)
			return -EINVAL;
		t->url = strdup(t->dsn.envelope_url);
	} else if (kind_len == 9 && strncmp(spec, "backtrace", 9) == 0) {
		t->kind = CW_UPLOAD_BACKTRACE;
		if (!token) {
			snprintf(err, cap,
				 "--upload=backtrace:... needs --upload-token=TOKEN (the "
				 "project's submission token)");
			return -EINVAL;
		}
		if (cw_backtrace_url(where, token, &t->url, err, cap) < 0)
			return -EINVAL;
	} else {
		snprintf(err, cap, "bad --upload '%s': the kind is generic, sentry or backtrace",
			 spec);
		return -EINVAL;
	}
	if (!t->url || strncmp(t->url, "http", 4) != 0) {
		snprintf(err, cap,
			 "bad --upload '%s': the address must start with http:// or https://",
			 spec);
		cw_upload_target_free(t);
		return -EINVAL;
	}
	t->token = token ? strdup(token) : NULL;
	return 0;
}

void cw_upload_target_free(struct cw_upload_target *t)
{
	free(t->url);
	free(t->token);
	cw_sentry_dsn_free(&t->dsn);
	memset(t, 0, sizeof(*t));
}

/* A wait the backend asked for, within [0, CW_RETRY_AFTER_MAX_S]; NaN is none. */
static double wait_s(double v)
{
	if (!(v > 0))
		return 0;
	return v < CW_RETRY_AFTER_MAX_S ? v : CW_RETRY_AFTER_MAX_S;
}

double cw_retry_after_header(const char *value)
{
	char *end;
	double v = strtod(value, &end);
	time_t when, now;

	while (*end == ' ' || *end == '\r' || *end == '\n')
		end++;
	if (end != value && !*end)
		return wait_s(v);
	when = curl_getdate(value, NULL);
	now = time(NULL);
	return when > now ? wait_s((double)when - (double)now) : 0;
}

/*
 * "60:error;transaction:organization, 2700:default:project": the longest wait
 * among the limits that cover events ("error", "default", or every category).
 */
double cw_sentry_rate_limits(const char *value)
{
	double longest = 0;
	const char *p = value;

	while (*p) {
		size_t len = strcspn(p, ",");
		char item[256];
		char *cats, *secs_end;
		double secs;

		snprintf(item, sizeof(item), "%.*s",
			 (int)(len < sizeof(item) ? len : sizeof(item) - 1), p);
		p += len + (p[len] == ',');
		secs = strtod(item, &secs_end);
		if (secs_end == item || *secs_end != ':')
			continue;
		cats = secs_end + 1;
		cats[strcspn(cats, ":")] = '\0';
		if (!*cats || strstr(cats, "error") || strstr(cats, "default")) {
			if (wait_s(secs) > longest)
				longest = wait_s(secs);
		}
	}
	return longest;
}

struct answer_ctx {
	struct cw_upload_answer *a;
	char body[256];
	size_t body_len;
	double retry_after, sentry_limits;
};

static size_t on_header(char *buf, size_t size, size_t n, void *data)
{
	struct answer_ctx *c = data;
	size_t len = size * n;
	char line[512];

	snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1),
		 buf);
	if (strncasecmp(line, "Retry-After:", 12) == 0)
		c->retry_after = cw_retry_after_header(line + 12 + strspn(line + 12, " "));
	else if (strncasecmp(line, "X-Sentry-Rate-Limits:", 21) == 0)
		c->sentry_limits = cw_sentry_rate_limits(line + 21 + strspn(line + 21, " "));
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *data)
{
	struct answer_ctx *c = data;
	size_t len = size * n, room = sizeof(c->body) - 1 - c->body_len;

	memcpy(c->body + c->body_len, buf, len < room ? len : room);
	c->body_len += len < room ? len : room;
	c->body[c->body_len] = '\0';
	return len;
}

static int build_body(const struct cw_upload_target *t, const json_t *snap,
		      const struct cw_upload_attachment *att, struct cw_upload_body *b, char *err,
		      size_t cap)
{
	int r;

	switch (t->kind) {
	case CW_UPLOAD_SENTRY:
		r = cw_sentry_envelope(snap, &t->dsn, time(NULL), b, err, cap);
		if (r == 0 && att && cw_sentry_envelope_attach(b, att) < 0) {
			snprintf(err, cap, "failed to attach %s: out of memory", att->filename);
			cw_upload_body_free(b);
			r = -ENOMEM;
		}
		return r;
	case CW_UPLOAD_BACKTRACE:
		r = cw_backtrace_body(snap, b, err, cap);
		break;
	case CW_UPLOAD_GENERIC:
	default:
		r = cw_upload_generic(snap, b, err, cap);
		break;
	}
	if (r == 0 && att) {
		r = cw_upload_with_attachment(b, t->kind == CW_UPLOAD_BACKTRACE,
					      cw_upload_str(snap, "uuid"), att, err, cap);
		if (r < 0)
			cw_upload_body_free(b);
	}
	return r;
}

int cw_upload_conn_open(struct cw_upload_conn *c, const atomic_bool *stop)
{
	c->stop = stop;
	c->easy = curl_easy_init();
	c->multi = curl_multi_init();
	if (!c->easy || !c->multi) {
		cw_upload_conn_close(c);
		return -ENOMEM;
	}
	return 0;
}

void cw_upload_conn_close(struct cw_upload_conn *c)
{
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->easy)
		curl_easy_cleanup(c->easy);
	c->multi = c->easy = NULL;
}

void cw_upload_conn_wake(const struct cw_upload_conn *c)
{
	if (c->multi)
		curl_multi_wakeup(c->multi);
}

/* curl_easy_perform through the multi handle, abandoned as soon as *c->stop is set. */
static CURLcode perform(const struct cw_upload_conn *c, bool *stopped, char *err, size_t cap)
{
	CURLcode rc = CURLE_OK;
	CURLMcode mc;
	int running = 1;

	*stopped = false;
	mc = curl_multi_add_handle(c->multi, c->easy);
	while (mc == CURLM_OK && running) {
		if (c->stop && atomic_load(c->stop)) {
			*stopped = true;
			break;
		}
		mc = curl_multi_perform(c->multi, &running);
		/* A signal ends the poll early (EINTR counts as a timeout there). */
		if (mc == CURLM_OK && running)
			mc = curl_multi_poll(c->multi, NULL, 0, 100, NULL);
	}
	if (mc != CURLM_OK) {
		snprintf(err, cap, "%s", curl_multi_strerror(mc));
		rc = CURLE_FAILED_INIT;
	} else if (!*stopped) {
		CURLMsg *msg;
		int left;

		while ((msg = curl_multi_info_read(c->multi, &left)))
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->easy)
				rc = msg->data.result;
	}
	curl_multi_remove_handle(c->multi, c->easy);
	return rc;
}

void cw_upload_send(const struct cw_upload_conn *c, const struct cw_upload_target *t,
		    const json_t *snap, const struct cw_upload_attachment *att,
		    struct cw_upload_answer *a)
{
	struct cw_upload_body body = {0};
	struct curl_slist *headers = NULL;
	struct answer_ctx ctx = {.a = a};
	char h[1024], curl_err[CURL_ERROR_SIZE] = "", key[33];
	const char *uuid = cw_upload_str(snap, "uuid");
	CURL *curl = c->easy;
	bool stopped;
	CURLcode rc;

	memset(a, 0, sizeof(*a));
	if (build_body(t, snap, att, &body, a->reason, sizeof(a->reason)) < 0) {
		a->verdict = CW_UPLOAD_FAIL;
		return;
	}
	/* The key goes into a header: only a well-formed uuid, nothing that could end the line. */
	if (t->kind == CW_UPLOAD_GENERIC && !cw_upload_uuid_hex(uuid, key)) {
		snprintf(a->reason, sizeof(a->reason),
			 "the snapshot's uuid '%.40s' is not a UUID: it is the upload's "
			 "Idempotency-Key; take the snapshot again with crashwatch-snapshot",
			 uuid);
		a->verdict = CW_UPLOAD_FAIL;
		cw_upload_body_free(&body);
		return;
	}
	if (body.boundary[0])
		snprintf(h, sizeof(h), "Content-Type: %s; boundary=%s", body.content_type,
			 body.boundary);
	else
		snprintf(h, sizeof(h), "Content-Type: %s", body.content_type);
	headers = curl_slist_append(headers, h);
	if (t->kind == CW_UPLOAD_SENTRY) {
		snprintf(h, sizeof(h), "%s: %s", CW_SENTRY_AUTH_HEADER, t->dsn.auth);
		headers = curl_slist_append(headers, h);
	} else if (t->kind == CW_UPLOAD_GENERIC) {
		snprintf(h, sizeof(h), "Idempotency-Key: %s", uuid);
		headers = curl_slist_append(headers, h);
		if (t->token) {
			snprintf(h, sizeof(h), "Authorization: Bearer %s", t->token);
			headers = curl_slist_append(headers, h);
		}
	}
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, t->url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)t->timeout_s);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
			 (long)(t->timeout_s < CW_UPLOAD_CONNECT_TIMEOUT_S
					? t->timeout_s
					: CW_UPLOAD_CONNECT_TIMEOUT_S));
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "crashwatch/" CW_VERSION);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &ctx);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ctx);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
	rc = perform(c, &stopped, curl_err, sizeof(curl_err));
	if (stopped) {
		a->verdict = CW_UPLOAD_STOPPED;
		snprintf(a->reason, sizeof(a->reason), "%s: stopped before an answer came", t->url);
		goto out;
	}
	if (rc != CURLE_OK) {
		a->verdict = CW_UPLOAD_RETRY;
		snprintf(a->reason, sizeof(a->reason), "%s: %s", t->url,
			 curl_err[0] ? curl_err : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->status);
	a->retry_after = ctx.retry_after > ctx.sentry_limits ? ctx.retry_after : ctx.sentry_limits;
	if (a->status >= 200 && a->status < 300)
		a->verdict = CW_UPLOAD_DONE;
	else if (a->status == 429 || a->status == 408 || a->status >= 500)
		a->verdict = CW_UPLOAD_RETRY;
	else
		a->verdict = CW_UPLOAD_FAIL;
	if (a->verdict != CW_UPLOAD_DONE)
		snprintf(a->reason, sizeof(a->reason), "%s answered HTTP %ld: %s", t->url,
			 a->status, ctx.body[0] ? ctx.body : "(no body)");
out:
	curl_slist_free_all(headers);
	cw_upload_body_free(&body);
}
