// SPDX-License-Identifier: MIT
#include "http_request.h"

#include <errno.h>
#include <string.h>

size_t cw_http_head_end(const char *buf, size_t len)
{
	/* A bare LF ends lines too (RFC 9112 §2.2: a recipient may accept it). */
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* buf[*at..len) up to the next c into out (NUL-terminated); -EINVAL if empty or too long. */
static int token(const char *buf, size_t len, size_t *at, char c, char *out, size_t cap)
{
	size_t n = 0;

	while (*at < len && buf[*at] != c) {
		unsigned char ch = (unsigned char)buf[*at];

		if (ch <= ' ' || ch == 0x7f || n + 1 >= cap)
			return -EINVAL;
		out[n++] = (char)ch;
		(*at)++;
	}
	if (*at >= len || n == 0)
		return -EINVAL;
	out[n] = '\0';
	(*at)++;
	return 0;
}

int cw_http_request_parse(const char *buf, size_t len, struct cw_http_request *r)
{
	char target[1024], version[16];
	size_t at = 0, q;

	if (token(buf, len, &at, ' ', r->method, sizeof(r->method)) < 0 ||
	    token(buf, len, &at, ' ', target, sizeof(target)) < 0)
		return -EINVAL;
	/* The version runs to the end of the line, CR or not. */
	q = at;
	while (q < len && buf[q] != '\n')
		q++;
	if (q < len && q > at && buf[q - 1] == '\r')
		q--;
	if (q - at >= sizeof(version) || q >= len)
		return -EINVAL;
	memcpy(version, buf + at, q - at);
	version[q - at] = '\0';
	if (strcmp(version, "HTTP/1.0") && strcmp(version, "HTTP/1.1"))
		return -EINVAL;
	if (target[0] != '/')
		return -EINVAL;
	q = strcspn(target, "?#");
	if (q >= sizeof(r->path))
		return -EINVAL;
	memcpy(r->path, target, q);
	r->path[q] = '\0';
	return 0;
}
