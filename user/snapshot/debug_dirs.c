// SPDX-License-Identifier: MIT
#include "debug_dirs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

char *cw_debuginfo_path;

const char *cw_debug_dir_invalid(const char *dir)
{
	if (!dir || dir[0] != '/')
		return "give an absolute directory";
	if (strchr(dir, ':'))
		return "a directory with ':' in its name cannot be searched";
	return NULL;
}

int cw_debug_dirs_set(const char *const *dirs, size_t n)
{
	size_t len = sizeof(CW_DEFAULT_DEBUGINFO_PATH);
	char *p, *at;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (cw_debug_dir_invalid(dirs[i]))
			return -EINVAL;
		len += strlen(dirs[i]) + 1;
	}
	p = malloc(len);
	if (!p)
		return -ENOMEM;
	at = p;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(dirs[i]);

		memcpy(at, dirs[i], l);
		at += l;
		*at++ = ':';
	}
	/* The default starts with ':' (the main file's own directory): one separator, not two. */
	memcpy(at - 1, CW_DEFAULT_DEBUGINFO_PATH, sizeof(CW_DEFAULT_DEBUGINFO_PATH));
	free(cw_debuginfo_path);
	cw_debuginfo_path = p;
	return 0;
}

void cw_debuginfod_bound(void)
{
	/* Only when DEBUGINFOD_URLS asks for a server; the caller's own values win. */
	if (!getenv("DEBUGINFOD_URLS"))
		return;
	setenv("DEBUGINFOD_TIMEOUT", CW_DEBUGINFOD_TIMEOUT, 0);
	setenv("DEBUGINFOD_MAXTIME", CW_DEBUGINFOD_MAXTIME, 0);
}
