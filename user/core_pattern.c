// SPDX-License-Identifier: MIT
#include "core_pattern.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int cw_core_expand(const char *p, const struct cw_core_info *ci, char *out, size_t cap)
{
	size_t len = 0;

	if (cap == 0)
		return -ENAMETOOLONG;
	for (; *p; p++) {
		char tmp[64];
		const char *add = tmp;
		size_t n;

		if (*p != '%' || !p[1]) {
			tmp[0] = *p;
			tmp[1] = '\0';
		} else {
			switch (*++p) {
			case '%':
				add = "%";
				break;
			case 'p':
				snprintf(tmp, sizeof(tmp), "%ld", ci->pid);
				break;
			case 'P':
				snprintf(tmp, sizeof(tmp), "%ld", ci->global_pid);
				break;
			case 'i':
				snprintf(tmp, sizeof(tmp), "%ld", ci->tid);
				break;
			case 'I':
				snprintf(tmp, sizeof(tmp), "%ld", ci->global_tid);
				break;
			case 'u':
				snprintf(tmp, sizeof(tmp), "%ld", ci->uid);
				break;
			case 'g':
				snprintf(tmp, sizeof(tmp), "%ld", ci->gid);
				break;
			case 's':
				snprintf(tmp, sizeof(tmp), "%d", ci->sig);
				break;
			case 't':
				snprintf(tmp, sizeof(tmp), "%lld", ci->time);
				break;
			case 'c':
				snprintf(tmp, sizeof(tmp), "%lld", ci->limit);
				break;
			case 'h':
				add = ci->host ? ci->host : "";
				break;
			case 'e':
				add = ci->comm ? ci->comm : "";
				break;
			default: /* what the kernel does with one it does not know: drop it */
				add = "";
				break;
			}
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
