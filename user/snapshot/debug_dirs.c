// SPDX-License-Identifier: MIT
#include "debug_dirs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static double spent_ms;
static bool long_lived;	  /* the symbol server: a pause, not an end */
static char *paused_urls; /* DEBUGINFOD_URLS while it is unset */
static double paused_at;

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int cw_find_debuginfo_bounded(Dwfl_Module *mod, void **userdata, const char *modname,
			      GElf_Addr base, const char *file_name, const char *debuglink_file,
			      GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	double t0 = now_ms(), took;
	int fd;

	if (paused_urls && t0 - paused_at > CW_DEBUGINFOD_PAUSE_MS) {
		setenv("DEBUGINFOD_URLS", paused_urls, 1);
		free(paused_urls);
		paused_urls = NULL;
	}
	fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
					  debuglink_crc, debuginfo_file_name);

	took = now_ms() - t0;
	if (!long_lived)
		spent_ms += took;
	/*
	 * libdebuginfod reads DEBUGINFOD_URLS at each query: without it, no more are made.
	 * A server that made us wait for nothing is not asked again in this run (the symbol
	 * server: for CW_DEBUGINFOD_PAUSE_MS).
	 */
	if (getenv("DEBUGINFOD_URLS") &&
	    (spent_ms > CW_DEBUGINFOD_BUDGET_MS || (fd < 0 && took > CW_DEBUGINFOD_SLOW_MS))) {
		fprintf(stderr,
			"crashwatch-snapshot: debuginfod is slow (%.0f ms for %s, %.0f ms in "
			"all): %s\n",
			took, modname ? modname : "a module", spent_ms,
			long_lived ? "not asked again for a minute" : "the rest locally only");
		if (long_lived) {
			free(paused_urls);
			paused_urls = strdup(getenv("DEBUGINFOD_URLS"));
			paused_at = now_ms();
		}
		unsetenv("DEBUGINFOD_URLS");
	}
	return fd;
}

void cw_debuginfod_bound(bool symbol_server)
{
	long_lived = symbol_server;
	/* Only when DEBUGINFOD_URLS asks for a server; the caller's own values win. */
	if (!getenv("DEBUGINFOD_URLS"))
		return;
	setenv("DEBUGINFOD_TIMEOUT", CW_DEBUGINFOD_TIMEOUT, 0);
	setenv("DEBUGINFOD_MAXTIME", CW_DEBUGINFOD_MAXTIME, 0);
	setenv("DEBUGINFOD_RETRY_LIMIT", CW_DEBUGINFOD_RETRY_LIMIT, 0);
}
