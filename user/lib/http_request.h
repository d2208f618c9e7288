/* SPDX-License-Identifier: MIT */
/*
 * The head of an HTTP/1.x request, as far as a metrics endpoint needs it:
 * the method and the path.  Input from the network: bounded, checked.
 */
#ifndef CW_HTTP_REQUEST_H
#define CW_HTTP_REQUEST_H

#include <stddef.h>

/* The most a request head may take; a longer one is refused. */
#define CW_HTTP_HEAD_MAX 8192

struct cw_http_request {
	char method[16];
	char path[256]; /* without its query string */
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

#endif
