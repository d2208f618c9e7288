// SPDX-License-Identifier: MIT
#include "redact.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_names[] = {CW_REDACT_DEFAULT_NAMES};

/* A growing output; on allocation failure it stays failed and says so at the end. */
struct out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		char *b;

		while (cap < o->len + n + 1)
			cap *= 2;
		b = realloc(o->buf, cap);
		if (!b) {
			o->failed = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

/* strcspn() within n bytes: the pieces here need not end in a NUL. */
static size_t span_to(const char *s, size_t n, const char *stop)
{
	size_t i = 0;

	while (i < n && s[i] && !strchr(stop, s[i]))
		i++;
	return i;
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static char *finish(struct out *o, size_t *len)
{
	put(o, "", 0); /* an empty input still gives "" */
	if (o->failed) {
		free(o->buf);
		errno = ENOMEM;
		return NULL;
	}
	if (len)
		*len = o->len;
	return o->buf;
}

/*
 * Lowercased, without '-', '_' and '.': "API_KEY", "api-key", "apiKey" are
 * one name.  A name longer than the buffer is cut: patterns see its start.
 */
static void normalise(const char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < n && s[i] && k + 1 < cap; i++)
		if (s[i] != '-' && s[i] != '_' && s[i] != '.')
			out[k++] = (char)tolower((unsigned char)s[i]);
	out[k] = '\0';
}

bool cw_redact_is_secret(const struct cw_redact *r, const char *name, size_t len)
{
	char n[256], p[CW_REDACT_MAX_PATTERN + 1];

	if (r && r->off)
		return false;
	normalise(name, len, n, sizeof(n));
	if (!n[0])
		return false;
	for (size_t i = 0; i < sizeof(default_names) / sizeof(default_names[0]); i++)
		if (fnmatch(default_names[i], n, 0) == 0)
			return true;
	for (size_t i = 0; r && i < r->n_patterns; i++) {
		normalise(r->patterns[i], strlen(r->patterns[i]), p, sizeof(p));
		if (p[0] && fnmatch(p, n, 0) == 0)
			return true;
	}
	return false;
}

int cw_redact_check_pattern(const char *pattern, const char **why)
{
	char p[CW_REDACT_MAX_PATTERN + 1];

	if (strlen(pattern) > CW_REDACT_MAX_PATTERN) {
		*why = "give a name or glob of at most 128 characters";
		return -EINVAL;
	}
	normalise(pattern, strlen(pattern), p, sizeof(p));
	if (!p[0]) {
		*why = "give a name or glob, e.g. '*pin*' (case, '-', '_' and '.' are ignored)";
		return -EINVAL;
	}
	return 0;
}

/* The query parameters from s[0] ('?') to the end of the URL at n. */
static size_t put_query(const struct cw_redact *r, struct out *o, const char *s, size_t n)
{
	size_t i = 1;

	put(o, s, 1);
	while (i < n && s[i] != '#') {
		size_t end = i + span_to(s + i, n - i, "&;# ");
		const char *eq;

		eq = memchr(s + i, '=', end - i);
		if (eq && eq + 1 < s + end && cw_redact_is_secret(r, s + i, (size_t)(eq - s - i))) {
			put(o, s + i, (size_t)(eq - s - i) + 1);
			put_str(o, CW_REDACTED);
		} else {
			put(o, s + i, end - i);
		}
		i = end;
		if (i < n && (s[i] == '&' || s[i] == ';'))
			put(o, s + i++, 1);
		else
			break;
	}
	return i;
}

/*
 * s (n bytes) with the password of every URL's userinfo and its secret
 * query parameters redacted.  The userinfo ends at the authority's last
 * '@': a password may hold an '@' of its own.
 */
static void put_urls(const struct cw_redact *r, struct out *o, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *sep = memmem(s + i, n - i, "://", 3);
		size_t auth, end, at = 0, colon = 0;

		if (!sep) {
			put(o, s + i, n - i);
			return;
		}
		auth = (size_t)(sep - s) + 3;
		for (end = auth; end < n && !strchr("/?# ", s[end]) && s[end] &&
				 !(n - end >= 3 && !memcmp(s + end, "://", 3));
		     end++)
			if (s[end] == '@')
				at = end;
		for (size_t k = auth; at && k < at && !colon; k++)
			if (s[k] == ':')
				colon = k;
		put(o, s + i, auth - i);
		if (colon && colon + 1 < at) {
			put(o, s + auth, colon + 1 - auth);
			put_str(o, CW_REDACTED);
			put(o, s + at, end - at);
		} else {
			put(o, s + auth, end - auth);
		}
		i = end;
		while (i < n && s[i] == '/') { /* the path */
			size_t k = i + span_to(s + i, n - i, "?# ");
			const char *more = memmem(s + i, k - i, "://", 3);

			/* "a=http://u:p@h/,b=ftp://v:q@i": the next URL is not this path. */
			if (more)
				k = (size_t)(more - s);
			put(o, s + i, k - i);
			i = k;
		}
		if (i < n && s[i] == '?')
			i += put_query(r, o, s + i, n - i);
	}
}

static bool is_name(const char *s, size_t n)
{
	if (!n || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

/* KEY=VALUE: VALUE redacted when KEY is a secret's, else its URLs. */
static void put_assignment(const struct cw_redact *r, struct out *o, const char *s, size_t n,
			   const char *eq)
{
	size_t key = (size_t)(eq - s);

	if (key + 1 < n && cw_redact_is_secret(r, s, key)) {
		put(o, s, key + 1);
		put_str(o, CW_REDACTED);
	} else {
		put(o, s, key + 1);
		put_urls(r, o, eq + 1, n - key - 1);
	}
}

/*
 * One word (n bytes, no space); *next says the previous one was a secret's
 * option (--password VALUE), and is set when this one is.
 */
static void put_word(const struct cw_redact *r, struct out *o, const char *s, size_t n, bool *next)
{
	size_t dashes = n > 1 && s[0] == '-' ? (n > 2 && s[1] == '-' ? 2 : 1) : 0;
	const char *eq = memchr(s, '=', n);

	if (*next) {
		*next = false;
		put_str(o, CW_REDACTED);
		return;
	}
	if (eq && (dashes || is_name(s, (size_t)(eq - s)))) {
		put_assignment(r, o, s, n, eq); /* normalising drops the dashes */
		return;
	}
	if (dashes && cw_redact_is_secret(r, s + dashes, n - dashes)) {
		put(o, s, n);
		*next = true;
	} else if (dashes == 1 && n > 2 && cw_redact_is_secret(r, s + 1, 1)) {
		put(o, s, 2); /* -pVALUE, with a pattern naming p */
		put_str(o, CW_REDACTED);
	} else {
		put_urls(r, o, s, n);
	}
}

/* Words split at spaces, each as above. */
static void put_words(const struct cw_redact *r, struct out *o, const char *s, size_t len,
		      bool *next)
{
	for (size_t at = 0; at <= len;) {
		size_t n = span_to(s + at, len - at, " ");

		if (n)
			put_word(r, o, s + at, n, next);
		at += n;
		if (at >= len)
			break;
		put(o, " ", 1);
		at++;
	}
}

/*
 * One argument.  --NAME=VALUE or KEY=VALUE of a secret: VALUE whole, spaces
 * and all.  Else an argument with spaces is a command of its own (sh -c
 * "mysql --password=x ...", a title set with setproctitle): its words.
 */
static void put_arg(const struct cw_redact *r, struct out *o, const char *s, size_t n, bool *next)
{
	const char *eq = memchr(s, '=', n);

	if (!*next && eq && (s[0] == '-' || is_name(s, (size_t)(eq - s))) && eq + 1 < s + n &&
	    cw_redact_is_secret(r, s, (size_t)(eq - s))) {
		put(o, s, (size_t)(eq - s) + 1);
		put_str(o, CW_REDACTED);
	} else if (!*next && memchr(s, ' ', n)) {
		put_words(r, o, s, n, next);
	} else {
		put_word(r, o, s, n, next);
	}
}

char *cw_redact_cmdline(const struct cw_redact *r, const char *args, size_t len)
{
	struct out o = {0};
	bool next = false;

	for (size_t at = 0; at < len;) {
		size_t n = strnlen(args + at, len - at);

		if (at)
			put(&o, " ", 1);
		if (r && r->off)
			put(&o, args + at, n);
		else
			put_arg(r, &o, args + at, n, &next);
		at += n + 1;
	}
	return finish(&o, NULL);
}

char *cw_redact_joined(const struct cw_redact *r, const char *line)
{
	struct out o = {0};
	bool next = false;

	if (r && r->off)
		put_str(&o, line);
	else
		put_words(r, &o, line, strlen(line), &next);
	return finish(&o, NULL);
}

char *cw_redact_environ(const struct cw_redact *r, const char *env, size_t len, size_t *out_len)
{
	struct out o = {0};

	for (size_t at = 0; at < len;) {
		size_t n = strnlen(env + at, len - at);
		const char *eq = memchr(env + at, '=', n);

		if (r && r->off)
			put(&o, env + at, n);
		else if (eq)
			put_assignment(r, &o, env + at, n, eq);
		else
			put_urls(r, &o, env + at, n);
		put(&o, "", 1);
		at += n + 1;
	}
	return finish(&o, out_len);
}
