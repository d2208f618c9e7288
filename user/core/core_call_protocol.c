// SPDX-License-Identifier: MIT
#include "core_call_protocol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cw_core_call_format(char *buf, size_t cap, long pid, long tid, int sig)
{
	int n = snprintf(buf, cap, "%ld %ld %d", pid, tid, sig);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : n;
}

/* A decimal number that fits an int, and where it ends. */
static int number(const char **s, long min, long *out)
{
	char *end;
	long v;

	if (**s < '0' || **s > '9')
		return -EBADMSG;
	errno = 0;
	v = strtol(*s, &end, 10);
	if (errno || v < min || v > 0x7fffffff)
		return -EBADMSG;
	*s = end;
	*out = v;
	return 0;
}

int cw_core_call_parse(const char *msg, size_t len, pid_t *pid, pid_t *tid, int *sig)
{
	char text[CW_CORE_CALL_MAX];
	const char *s = text;
	long p, t, g;

	if (len == 0 || len >= sizeof(text) || memchr(msg, '\0', len))
		return -EBADMSG;
	memcpy(text, msg, len);
	text[len] = '\0';
	if (number(&s, 1, &p) < 0 || *s++ != ' ' || number(&s, 0, &t) < 0 || *s++ != ' ' ||
	    number(&s, 0, &g) < 0 || *s || g > 64)
		return -EBADMSG;
	*pid = (pid_t)p;
	*tid = (pid_t)t;
	*sig = (int)g;
	return 0;
}
