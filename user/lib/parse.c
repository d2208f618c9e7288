// SPDX-License-Identifier: MIT
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "signals.h"

int cw_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cw_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char buf[64];
	size_t len = s ? strlen(s) : 0;
	unsigned shift = 0;
	uint64_t v;
	int r;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len + 1);
	switch (toupper((unsigned char)buf[len - 1])) {
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	}
	if (shift)
		buf[len - 1] = '\0';
	r = cw_parse_u64(buf, 0, UINT64_MAX >> shift, &v);
	if (r < 0)
		return r;
	v <<= shift;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cw_parse_signal_list(const char *s, uint64_t *mask, const char **bad)
{
	static char item[32];
	uint64_t m = 0;
	const char *p = s;

	*bad = NULL;
	if (!s || !*s)
		return -EINVAL;
	while (*p) {
		size_t n = strcspn(p, ",");
		int sig;

		if (n == 0 || n >= sizeof(item)) {
			snprintf(item, sizeof(item), "%.*s", (int)(n < sizeof(item) ? n : 28), p);
			*bad = item;
			return -EINVAL;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		sig = cw_signal_from_name(item);
		if (sig < 0) {
			*bad = item;
			return -EINVAL;
		}
		m |= 1ULL << (sig - 1);
		p += n;
		if (*p == ',' && *++p == '\0') {
			item[0] = '\0';
			*bad = item;
			return -EINVAL;
		}
	}
	*mask = m;
	return 0;
}
