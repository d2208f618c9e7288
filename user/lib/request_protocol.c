// SPDX-License-Identifier: MIT
/*
 * The request socket's messages (include/crashwatch/request.h).  No
 * allocation, no stdio, no locale: the client library calls these from
 * signal handlers.  Every read from the buffer is bounded by its length
 * and copied with memcpy (fields are not aligned).
 */
#include "crashwatch/request.h"

#include <string.h>

/* Text a request may carry: no control characters but tab, and newline where allowed. */
static int text_ok(const char *s, size_t n, int newline)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0x7f || (c < 0x20 && c != '\t' && !(newline && c == '\n')))
			return 0;
	}
	return 1;
}

/* A field's value as one string: its NUL last, none before.  Its length, or -1. */
static long one_string(const char *v, size_t len, size_t max)
{
	size_t n;

	if (len < 2 || v[len - 1] != '\0')
		return -1;
	n = strnlen(v, len);
	if (n != len - 1 || n > max)
		return -1;
	return (long)n;
}

int cw_request_parse(const void *buf, size_t len, struct cw_request *r, const char **why)
{
	const char *p = buf;
	struct cw_req_head h;
	size_t at;

	memset(r, 0, sizeof(*r));
	if (len > CW_REQ_MAX) {
		*why = "the request is longer than 16384 bytes";
		return -1;
	}
	if (len < sizeof(h)) {
		*why = "the request is shorter than its header";
		return -1;
	}
	memcpy(&h, p, sizeof(h));
	if (h.magic != CW_REQ_MAGIC) {
		*why = "not a crashwatch request (bad magic)";
		return -1;
	}
	if (h.version != CW_REQ_VERSION) {
		*why = "a request version this watcher does not speak (it speaks 1)";
		return -1;
	}
	if (h.flags & ~CW_REQ_FLAGS_KNOWN) {
		*why = "unknown request flags";
		return -1;
	}
	if (h.pid < 0 || h.fault_tid < 0) {
		*why = "a negative pid or thread id";
		return -1;
	}
	if (h.timeout_ms > CW_REQ_MAX_TIMEOUT_MS) {
		*why = "a timeout over an hour";
		return -1;
	}
	if (h.reserved) {
		*why = "the reserved header word is not 0";
		return -1;
	}
	r->flags = h.flags;
	r->pid = h.pid;
	r->fault_tid = h.fault_tid;
	r->timeout_ms = h.timeout_ms;
	for (at = sizeof(h); at < len;) {
		struct cw_req_field f;
		const char *v;
		long n;

		if (len - at < sizeof(f)) {
			*why = "a field header cut short";
			return -1;
		}
		memcpy(&f, p + at, sizeof(f));
		at += sizeof(f);
		if (f.len > len - at) {
			*why = "a field longer than the request";
			return -1;
		}
		v = p + at;
		at += f.len;
		switch (f.type) {
		case CW_REQ_KV: {
			size_t klen = strnlen(v, f.len);
			long vlen;

			if (r->n_kv == CW_REQ_MAX_KV) {
				*why = "more than 64 attributes";
				return -1;
			}
			if (klen == 0 || klen == f.len || klen > CW_REQ_MAX_KEY ||
			    memchr(v, ':', klen) || !text_ok(v, klen, 0)) {
				*why = "an attribute key that is empty, over 128 bytes, or holds "
				       "':' "
				       "or a control character";
				return -1;
			}
			vlen = f.len - klen - 1 == 1 && v[klen + 1] == '\0'
				       ? 0 /* an empty value */
				       : one_string(v + klen + 1, f.len - klen - 1,
						    CW_REQ_MAX_VALUE);
			if (vlen < 0 || !text_ok(v + klen + 1, (size_t)vlen, 0)) {
				*why = "an attribute value that is not one string of at most 1024 "
				       "bytes without control characters";
				return -1;
			}
			r->kv[r->n_kv].key = v;
			r->kv[r->n_kv].value = v + klen + 1;
			r->n_kv++;
			break;
		}
		case CW_REQ_CLASSIFIER:
			if (r->n_classifiers == CW_REQ_MAX_CLASSIFIERS) {
				*why = "more than 32 classifiers";
				return -1;
			}
			n = one_string(v, f.len, CW_REQ_MAX_VALUE);
			if (n < 1 || !text_ok(v, (size_t)n, 0)) {
				*why = "a classifier that is empty, over 1024 bytes, or holds a "
				       "control character";
				return -1;
			}
			r->classifiers[r->n_classifiers++] = v;
			break;
		case CW_REQ_THREAD: {
			int32_t tid;

			if (r->n_threads == CW_REQ_MAX_THREADS) {
				*why = "more than 256 threads";
				return -1;
			}
			if (f.len != sizeof(tid)) {
				*why = "a thread field that is not 4 bytes";
				return -1;
			}
			memcpy(&tid, v, sizeof(tid));
			if (tid <= 0) {
				*why = "a thread id that is not positive";
				return -1;
			}
			r->threads[r->n_threads++] = tid;
			break;
		}
		case CW_REQ_GOROUTINE:
			if (f.len != sizeof(r->goroutine) || r->goroutine) {
				*why = "a goroutine field that is not 8 bytes, or given twice";
				return -1;
			}
			memcpy(&r->goroutine, v, sizeof(r->goroutine));
			if (!r->goroutine) {
				*why = "goroutine id 0";
				return -1;
			}
			break;
		case CW_REQ_ERROR:
		case CW_REQ_ERROR_TYPE: {
			int msg = f.type == CW_REQ_ERROR;
			const char **slot = msg ? &r->error : &r->error_type;

			if (*slot) {
				*why = "the error or its type given twice";
				return -1;
			}
			n = one_string(v, f.len, msg ? CW_REQ_MAX_ERROR : CW_REQ_MAX_VALUE);
			if (n < 1 || !text_ok(v, (size_t)n, msg)) {
				*why = "an error message (at most 4096 bytes) or type (1024) that "
				       "is "
				       "empty or holds a control character";
				return -1;
			}
			*slot = v;
			break;
		}
		default:
			*why = "an unknown field type";
			return -1;
		}
	}
	return 0;
}

/* Append one field; 0 or -1 when it does not fit. */
static int put(char *buf, size_t cap, size_t *at, uint16_t type, const void *a, size_t alen,
	       const void *b, size_t blen)
{
	struct cw_req_field f = {.type = type, .len = (uint16_t)(alen + blen)};

	if (alen + blen > 0xffff || cap - *at < sizeof(f) + alen + blen)
		return -1;
	memcpy(buf + *at, &f, sizeof(f));
	*at += sizeof(f);
	memcpy(buf + *at, a, alen);
	*at += alen;
	if (blen)
		memcpy(buf + *at, b, blen);
	*at += blen;
	return 0;
}

long cw_request_encode(const struct cw_request *r, void *out, size_t cap, const char **why)
{
	struct cw_req_head h = {
		.magic = CW_REQ_MAGIC,
		.version = CW_REQ_VERSION,
		.flags = r->flags,
		.pid = r->pid,
		.fault_tid = r->fault_tid,
		.timeout_ms = r->timeout_ms,
	};
	char *buf = out;
	size_t at = sizeof(h);

	if (cap > CW_REQ_MAX)
		cap = CW_REQ_MAX;
	if (cap < sizeof(h) || r->n_kv > CW_REQ_MAX_KV ||
	    r->n_classifiers > CW_REQ_MAX_CLASSIFIERS || r->n_threads > CW_REQ_MAX_THREADS) {
		*why = "too many attributes, classifiers or threads";
		return -1;
	}
	memcpy(buf, &h, sizeof(h));
	for (unsigned i = 0; i < r->n_kv; i++)
		if (put(buf, cap, &at, CW_REQ_KV, r->kv[i].key, strlen(r->kv[i].key) + 1,
			r->kv[i].value, strlen(r->kv[i].value) + 1) < 0)
			goto full;
	for (unsigned i = 0; i < r->n_classifiers; i++)
		if (put(buf, cap, &at, CW_REQ_CLASSIFIER, r->classifiers[i],
			strlen(r->classifiers[i]) + 1, NULL, 0) < 0)
			goto full;
	for (unsigned i = 0; i < r->n_threads; i++)
		if (put(buf, cap, &at, CW_REQ_THREAD, &r->threads[i], sizeof(r->threads[i]), NULL,
			0) < 0)
			goto full;
	if (r->goroutine &&
	    put(buf, cap, &at, CW_REQ_GOROUTINE, &r->goroutine, sizeof(r->goroutine), NULL, 0) < 0)
		goto full;
	if (r->error &&
	    put(buf, cap, &at, CW_REQ_ERROR, r->error, strlen(r->error) + 1, NULL, 0) < 0)
		goto full;
	if (r->error_type && put(buf, cap, &at, CW_REQ_ERROR_TYPE, r->error_type,
				 strlen(r->error_type) + 1, NULL, 0) < 0)
		goto full;
	return (long)at;
full:
	*why = "the request is longer than 16384 bytes";
	return -1;
}

long cw_reply_encode(enum cw_status status, int32_t detail, const char *text, void *out, size_t cap)
{
	struct cw_reply_head h = {
		.magic = CW_REPLY_MAGIC,
		.version = CW_REQ_VERSION,
		.status = (uint16_t)status,
		.detail = detail,
	};
	char *buf = out;
	size_t n = text ? strlen(text) : 0;

	if (cap < sizeof(h) + 1)
		return -1;
	if (n > cap - sizeof(h) - 1)
		n = cap - sizeof(h) - 1;
	h.len = (uint32_t)n + 1;
	memcpy(buf, &h, sizeof(h));
	if (n)
		memcpy(buf + sizeof(h), text, n);
	buf[sizeof(h) + n] = '\0';
	return (long)(sizeof(h) + n + 1);
}

int cw_reply_parse(const void *buf, size_t len, enum cw_status *status, int32_t *detail,
		   const char **text)
{
	const char *p = buf;
	struct cw_reply_head h;

	if (len < sizeof(h) + 1)
		return -1;
	memcpy(&h, p, sizeof(h));
	if (h.magic != CW_REPLY_MAGIC || h.version != CW_REQ_VERSION || h.status >= CW_STATUS_NR ||
	    h.len != len - sizeof(h) || strnlen(p + sizeof(h), h.len) != h.len - 1)
		return -1;
	*status = (enum cw_status)h.status;
	*detail = h.detail;
	*text = p + sizeof(h);
	return 0;
}

const char *cw_status_name(enum cw_status s)
{
	static const char *const names[CW_STATUS_NR] = {
		[CW_STATUS_DONE] = "written",
		[CW_STATUS_QUEUED] = "queued",
		[CW_STATUS_REFUSED] = "refused",
		[CW_STATUS_RATE_LIMITED] = "rate-limited",
		[CW_STATUS_BUSY] = "busy",
		[CW_STATUS_BAD_REQUEST] = "bad request",
		[CW_STATUS_NO_PROCESS] = "no such process",
		[CW_STATUS_FAILED] = "failed",
		[CW_STATUS_TIMED_OUT] = "timed out",
		[CW_STATUS_UNAVAILABLE] = "unavailable",
		[CW_STATUS_NO_WATCHER] = "no watcher",
		[CW_STATUS_PROTOCOL] = "protocol error",
	};

	return (unsigned)s < CW_STATUS_NR ? names[s] : "unknown";
}

int cw_status_exit(enum cw_status s)
{
	switch (s) {
	case CW_STATUS_DONE:
	case CW_STATUS_QUEUED:
		return 0;
	case CW_STATUS_FAILED:
		return 1;
	case CW_STATUS_BAD_REQUEST:
		return 2;
	case CW_STATUS_REFUSED:
		return 3;
	case CW_STATUS_RATE_LIMITED:
	case CW_STATUS_BUSY:
		return 4;
	case CW_STATUS_NO_PROCESS:
		return 5;
	case CW_STATUS_NO_WATCHER:
	case CW_STATUS_UNAVAILABLE:
		return 6;
	case CW_STATUS_TIMED_OUT:
		return 7;
	default:
		return 8;
	}
}
