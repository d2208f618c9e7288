// SPDX-License-Identifier: MIT
/*
 * The request socket's parsers (include/crashwatch/request.h): a request
 * as the watcher reads it from anyone, and a reply as a client reads it.
 * What parses must keep every bound and encode back to the same bytes.
 */
#include "fuzz.h"

#include "crashwatch/request.h"

static void check_request(const struct cw_request *r)
{
	if (r->n_kv > CW_REQ_MAX_KV || r->n_classifiers > CW_REQ_MAX_CLASSIFIERS ||
	    r->n_threads > CW_REQ_MAX_THREADS || r->pid < 0 || r->fault_tid < 0 ||
	    r->timeout_ms > CW_REQ_MAX_TIMEOUT_MS || (r->flags & ~CW_REQ_FLAGS_KNOWN))
		abort();
	for (unsigned i = 0; i < r->n_kv; i++)
		if (!r->kv[i].key[0] || strlen(r->kv[i].key) > CW_REQ_MAX_KEY ||
		    strchr(r->kv[i].key, ':') || strlen(r->kv[i].value) > CW_REQ_MAX_VALUE)
			abort();
	for (unsigned i = 0; i < r->n_classifiers; i++)
		if (!r->classifiers[i][0] || strlen(r->classifiers[i]) > CW_REQ_MAX_VALUE)
			abort();
	for (unsigned i = 0; i < r->n_threads; i++)
		if (r->threads[i] <= 0)
			abort();
	if ((r->error && strlen(r->error) > CW_REQ_MAX_ERROR) ||
	    (r->error_type && strlen(r->error_type) > CW_REQ_MAX_VALUE))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cw_request r, again;
	static unsigned char out[CW_REQ_MAX];
	void *buf = malloc(size ? size : 1);
	enum cw_status status;
	const char *why, *text;
	int32_t detail;
	long n;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	if (cw_request_parse(buf, size, &r, &why) == 0) {
		check_request(&r);
		/* Fields come back in kind order: parsed again, the same request. */
		n = cw_request_encode(&r, out, sizeof(out), &why);
		if (n < 0 || (size_t)n > size || cw_request_parse(out, (size_t)n, &again, &why) < 0)
			abort();
		if (again.n_kv != r.n_kv || again.n_threads != r.n_threads ||
		    again.n_classifiers != r.n_classifiers || again.pid != r.pid ||
		    again.fault_tid != r.fault_tid || again.flags != r.flags)
			abort();
	} else if (!why || !why[0]) {
		abort();
	}
	if (cw_reply_parse(buf, size, &status, &detail, &text) == 0 &&
	    ((unsigned)status >= CW_STATUS_NR ||
	     strlen(text) + 1 + sizeof(struct cw_reply_head) != size))
		abort();
	free(buf);
	return 0;
}
