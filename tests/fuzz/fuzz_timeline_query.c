// SPDX-License-Identifier: MIT
/*
 * The query of GET /debug/timeline (--http), from any local client: the
 * checks must either accept values within their bounds or refuse with one
 * line, fgtrace's `bad NAME: "VALUE": REASON`, and Go-quote any bytes.
 */
#include "fuzz.h"

#include "http_request.h"
#include "timeline_http_params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cw_tl_http_params p;
	char *query = fuzz_string(data, size), body[768], q[64];
	size_t n;

	if (cw_tl_http_params_parse(query, &p, body, sizeof(body)) == 0) {
		if (p.pid <= 0 || !(p.seconds > 0 && p.seconds <= CW_TL_HTTP_MAX_SECONDS) ||
		    p.hz == 0 || p.hz > CW_TL_HTTP_MAX_HZ)
			abort();
	} else {
		n = strnlen(body, sizeof(body));
		if (n == 0 || n >= sizeof(body) || body[n - 1] != '\n' || memchr(body, '\n', n - 1))
			abort();
	}
	cw_http_quote(query, q, sizeof(q));
	n = strnlen(q, sizeof(q));
	if (n < 2 || n >= sizeof(q) || q[0] != '"' || q[n - 1] != '"')
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)q[i] < ' ' || (unsigned char)q[i] >= 0x7f)
			abort();
	free(query);
	return 0;
}
