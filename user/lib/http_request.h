/* SPDX-License-Identifier: MIT */
/*
 * The head of an HTTP/1.x request, as far as the watcher's endpoints need
 * it: the method, the path, the query string and the version; and one
 * parameter of a query string, decoded as Go's net/url reads it.  Input
 * from the network: bounded, checked.
 */
#ifndef CW_HTTP_REQUEST_H
#define CW_HTTP_REQUEST_H

#include <stddef.h>

/* The most a request head may take; a longer one is refused. */
#define CW_HTTP_HEAD_MAX 8192

struct cw_http_request {
	char method[16];
	char path[256];	 /* without its query string */
	char query[768]; /* after '?', up to '#'; still escaped; "" when none */
	int minor;	 /* HTTP/1.<minor>: 0 or 1 */
};

/*
 * The head's length (up to and including the blank line) once buf[0..len)
 * holds a whole one, 0 while more is needed.
 */
size_t cw_http_head_end(const char *buf, size_t len);

/*
 * Parse "METHOD SP TARGET SP HTTP/1.x" from a whole head.  0, or -EINVAL
 * (malformed, or a part too long for r).
 */
int cw_http_request_parse(const char *buf, size_t len, struct cw_http_request *r);

/*
 * The first value of parameter name in query ("a=1&b=2"), decoded ('+' is a
 * space, %XX a byte) into out, as Go's url.Values.Get: a pair whose key or
 * value is not validly escaped (or holds %00) is skipped.  1 found, 0
 * absent, -E2BIG when its value does not fit in cap bytes (NUL included).
 */
int cw_http_query_get(const char *query, const char *name, char *out, size_t cap);

/*
 * s as Go's %q writes it (fgtrace's error bodies quote the value they
 * refuse): in double quotes, with \", \\, \n, \t... and \xNN for any other
 * byte outside printable ASCII.  Cut short (still quoted) when out is small.
 */
void cw_http_quote(const char *s, char *out, size_t cap);

#endif
