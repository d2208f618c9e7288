// SPDX-License-Identifier: MIT
#include "http_request.h"

#include <errno.h>
#include <stdio.h>
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
	r->minor = version[7] - '0';
	if (target[0] != '/')
		return -EINVAL;
	q = strcspn(target, "?#");
	if (q >= sizeof(r->path))
		return -EINVAL;
	memcpy(r->path, target, q);
	r->path[q] = '\0';
	r->query[0] = '\0';
	if (target[q] == '?') {
		size_t n = strcspn(target + q + 1, "#");

		if (n >= sizeof(r->query))
			return -EINVAL;
		memcpy(r->query, target + q + 1, n);
		r->query[n] = '\0';
	}
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * s[0..n) unescaped into out (cap bytes, NUL included).  The length, -1
 * when an escape is malformed or makes a NUL, -2 when it does not fit.
 */
static long unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (n - i < 3)
				return -1;
			hi = hex_digit(s[i + 1]);
			lo = hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o + 1 >= cap)
			return -2;
		out[o++] = c;
	}
	if (cap)
		out[o] = '\0';
	return (long)o;
}

int cw_http_query_get(const char *query, const char *name, char *out, size_t cap)
{
	size_t want = strlen(name);

	while (*query) {
		size_t len = strcspn(query, "&"), klen = strcspn(query, "=&");
		size_t vat = klen + (klen < len);
		char key[64];
		long k = unescape(query, klen, key, sizeof(key)), v;

		if (k == (long)want && !memcmp(key, name, want)) {
			v = unescape(query + vat, len - vat, out, cap);
			if (v >= 0)
				return 1;
			if (v == -2)
				return -E2BIG;
		}
		query += len + (query[len] == '&');
	}
	return 0;
}

void cw_http_quote(const char *s, char *out, size_t cap)
{
	static const char named[] = "\a\b\t\n\v\f\r", letters[] = "abtnvfr";
	size_t o = 0;

	if (cap < 3) {
		if (cap)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		const char *n = c ? strchr(named, c) : NULL;
		char piece[5];
		size_t len;

		if (c == '"' || c == '\\')
			len = (size_t)snprintf(piece, sizeof(piece), "\\%c", c);
		else if (n)
			len = (size_t)snprintf(piece, sizeof(piece), "\\%c", letters[n - named]);
		else if (c < ' ' || c >= 0x7f)
			len = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", c);
		else
			len = (size_t)snprintf(piece, sizeof(piece), "%c", c);
		if (o + len + 2 > cap)
			break;
		memcpy(out + o, piece, len);
		o += len;
	}
	out[o++] = '"';
	out[o] = '\0';
}
