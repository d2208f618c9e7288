// SPDX-License-Identifier: MIT
#include "core_pattern.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The value of a numeric specifier; false for the others. */
static bool number_for(char spec, const struct cw_core_info *ci, long long *v)
{
	switch (spec) {
	case 'p':
		*v = ci->pid;
		return true;
	case 'P':
		*v = ci->global_pid;
		return true;
	case 'i':
		*v = ci->tid;
		return true;
	case 'I':
		*v = ci->global_tid;
		return true;
	case 'u':
		*v = ci->uid;
		return true;
	case 'g':
		*v = ci->gid;
		return true;
	case 's':
		*v = ci->sig;
		return true;
	case 't':
		*v = ci->time;
		return true;
	case 'c':
		*v = ci->limit;
		return true;
	}
	return false;
}

int cw_core_expand(const char *p, const struct cw_core_info *ci, char *out, size_t cap)
{
	size_t len = 0;

	if (cap == 0)
		return -ENAMETOOLONG;
	for (; *p; p++) {
		char tmp[32];
		const char *add = tmp;
		long long v;
		size_t n;

		if (*p != '%' || !p[1]) {
			tmp[0] = *p;
			tmp[1] = '\0';
		} else if (number_for(*++p, ci, &v)) {
			snprintf(tmp, sizeof(tmp), "%lld", v);
		} else if (*p == '%') {
			add = "%";
		} else if (*p == 'h') {
			add = ci->host ? ci->host : "";
		} else if (*p == 'e') {
			add = ci->comm ? ci->comm : "";
		} else if (*p == 'F') {
			add = ci->pidfd ? "3" : "";
		} else {
			add = ""; /* what the kernel does with one it does not know: drop it */
		}
		n = strlen(add);
		if (len + n + 1 > cap)
			return -ENAMETOOLONG;
		memcpy(out + len, add, n);
		len += n;
	}
	out[len] = '\0';
	return 0;
}

int cw_core_pipe_argv(const char *pattern, const struct cw_core_info *ci, char *buf, size_t cap,
		      char *argv[CW_CORE_MAX_ARGS + 1])
{
	char word[512];
	size_t used = 0;
	int argc = 0;

	if (pattern[0] != '|')
		return -EINVAL;
	for (const char *p = pattern + 1; *p;) {
		size_t n;
		int r;

		p += strspn(p, " ");
		n = strcspn(p, " ");
		if (n == 0)
			break;
		if (n >= sizeof(word) || argc == CW_CORE_MAX_ARGS)
			return -ENAMETOOLONG;
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		if (used >= cap)
			return -ENAMETOOLONG;
		r = cw_core_expand(word, ci, buf + used, cap - used);
		if (r < 0)
			return r;
		argv[argc++] = buf + used;
		used += strlen(buf + used) + 1;
	}
	argv[argc] = NULL;
	return argc ? argc : -EINVAL;
}
