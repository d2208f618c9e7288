// SPDX-License-Identifier: MIT
#include "timeline_http_params.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"
#include "timeline_recorder.h"

/* The longest value looked at; a longer one is refused as too long. */
#define VALUE_MAX 64

/* fgtrace's line: bad NAME: "VALUE": REASON */
static int refuse(char *body, size_t cap, const char *name, const char *value, const char *reason)
{
	char q[4 * VALUE_MAX + 3];

	int n;

	cw_http_quote(value, q, sizeof(q));
	n = snprintf(body, cap, "bad %s: %s: %s\n", name, q, reason);
	/* Still one line when cut short. */
	if (n < 0 || (size_t)n >= cap)
		body[cap - 2] = '\n';
	return -EINVAL;
}

/* Go's *strconv.NumError text: FUNC: parsing "VALUE": invalid syntax | value out of range */
static int refuse_syntax(char *body, size_t cap, const char *name, const char *value,
			 const char *func, bool range)
{
	char q[4 * VALUE_MAX + 3], reason[4 * VALUE_MAX + 80];

	cw_http_quote(value, q, sizeof(q));
	snprintf(reason, sizeof(reason), "strconv.%s: parsing %s: %s", func, q,
		 range ? "value out of range" : "invalid syntax");
	return refuse(body, cap, name, value, reason);
}

/* strconv.Atoi's syntax: an optional sign, then decimal digits only. */
static int parse_int(const char *name, const char *v, long long *out, char *body, size_t cap)
{
	const char *d = v + (*v == '+' || *v == '-');
	char *end;

	if (!*d || strspn(d, "0123456789") != strlen(d))
		return refuse_syntax(body, cap, name, v, "Atoi", false);
	errno = 0;
	*out = strtoll(v, &end, 10);
	if (errno == ERANGE)
		return refuse_syntax(body, cap, name, v, "Atoi", true);
	return 0;
}

/* strconv.ParseFloat's syntax, near enough: what strtod takes, with no space around it. */
static int parse_float(const char *name, const char *v, double *out, char *body, size_t cap)
{
	char *end;

	if (isspace((unsigned char)v[0]))
		return refuse_syntax(body, cap, name, v, "ParseFloat", false);
	errno = 0;
	*out = strtod(v, &end);
	if (end == v || *end)
		return refuse_syntax(body, cap, name, v, "ParseFloat", false);
	if (errno == ERANGE && fabs(*out) > 1)
		return refuse_syntax(body, cap, name, v, "ParseFloat", true);
	return 0;
}

/* The value of name: 1 when given (not empty), 0 when not; -EINVAL (said) when too long. */
static int get(const char *query, const char *name, char *v, char *body, size_t cap)
{
	int r = cw_http_query_get(query, name, v, VALUE_MAX + 1);

	if (r == -E2BIG) {
		snprintf(body, cap, "bad %s: longer than %d bytes\n", name, VALUE_MAX);
		return -EINVAL;
	}
	return r == 1 && v[0];
}

int cw_tl_http_params_parse(const char *query, struct cw_tl_http_params *p, char *body, size_t cap)
{
	char v[VALUE_MAX + 1], why[64];
	long long n;
	int r;

	*p = (struct cw_tl_http_params){.seconds = CW_TL_HTTP_DEFAULT_SECONDS,
					.hz = CW_TL_DEFAULT_HZ,
					.frames = CW_TL_FRAMES_ROOT};
	body[0] = '\0';
	/* fgtrace's order: seconds, then hz; ours after. */
	if ((r = get(query, "seconds", v, body, cap)) < 0)
		return r;
	if (r) {
		if (parse_float("seconds", v, &p->seconds, body, cap) < 0)
			return -EINVAL;
		if (!(p->seconds > 0))
			return refuse(body, cap, "seconds", v, "invalid value");
		if (p->seconds > CW_TL_HTTP_MAX_SECONDS) {
			snprintf(why, sizeof(why), "invalid value: at most %d",
				 CW_TL_HTTP_MAX_SECONDS);
			return refuse(body, cap, "seconds", v, why);
		}
	}
	if ((r = get(query, "hz", v, body, cap)) < 0)
		return r;
	if (r) {
		if (parse_int("hz", v, &n, body, cap) < 0)
			return -EINVAL;
		if (n <= 0)
			return refuse(body, cap, "hz", v, "invalid value");
		if (n > CW_TL_HTTP_MAX_HZ) {
			snprintf(why, sizeof(why), "invalid value: at most %d", CW_TL_HTTP_MAX_HZ);
			return refuse(body, cap, "hz", v, why);
		}
		p->hz = (unsigned)n;
	}
	if ((r = get(query, "state-frames", v, body, cap)) < 0)
		return r;
	if (r && cw_tl_parse_state_frames(v, &p->frames) < 0)
		return refuse(body, cap, "state-frames", v, "invalid value: root, leaf or no");
	if ((r = get(query, "pid", v, body, cap)) < 0)
		return r;
	if (!r) {
		snprintf(body, cap,
			 "missing pid: give the process to record, e.g. "
			 "/debug/timeline?pid=1234&seconds=5\n");
		return -EINVAL;
	}
	if (parse_int("pid", v, &n, body, cap) < 0)
		return -EINVAL;
	if (n <= 0 || n > INT32_MAX)
		return refuse(body, cap, "pid", v, "invalid value");
	p->pid = (pid_t)n;
	return 0;
}
