// SPDX-License-Identifier: MIT
/*
 * What a client of --metrics or --http sends: the head of an HTTP request.
 * The parser must find the head's end within what was read, and never say a
 * request is good unless its method and path are non-empty strings that fit;
 * a query parameter read from it fits where it is decoded.
 */
#include "fuzz.h"

#include "http_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cw_http_request r;
	/* An exact copy: ASan sees a read past the end of what was received. */
	char *buf = malloc(size ? size : 1);
	size_t end;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	end = cw_http_head_end(buf, size);
	if (end > size)
		abort();
	if (cw_http_request_parse(buf, end ? end : size, &r) == 0) {
		char v[64];

		if (!r.method[0] || strnlen(r.method, sizeof(r.method)) >= sizeof(r.method) ||
		    r.path[0] != '/' || strnlen(r.path, sizeof(r.path)) >= sizeof(r.path) ||
		    strnlen(r.query, sizeof(r.query)) >= sizeof(r.query) ||
		    (r.minor != 0 && r.minor != 1))
			abort();
		/* A value found fits, NUL-terminated, with no NUL decoded into it. */
		if (cw_http_query_get(r.query, "pid", v, sizeof(v)) == 1 &&
		    strnlen(v, sizeof(v)) >= sizeof(v))
			abort();
	}
	free(buf);
	return 0;
}
