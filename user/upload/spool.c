// SPDX-License-Identifier: MIT
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int older_first(const void *a, const void *b)
{
	const struct cw_spool_file *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && strcmp(s + len - n, suffix) == 0;
}

static int is_snapshot(const char *name)
{
	size_t len = strlen(name);

	/* ".*" are temporary files and the hold registry. */
	return name[0] != '.' && len > 5 && len < sizeof(((struct cw_spool_file *)0)->name) &&
	       ends_with(name, len, ".json") && !ends_with(name, len, CW_SPOOL_TIMELINE_SUFFIX);
}

void cw_spool_timeline_name(const char *name, char *out, size_t cap)
{
	size_t len = strlen(name);

	if (ends_with(name, len, ".json"))
		len -= 5;
	snprintf(out, cap, "%.*s%s", (int)len, name, CW_SPOOL_TIMELINE_SUFFIX);
}

int cw_spool_remove(const char *dir, const char *name)
{
	char path[4096], tl[256];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	r = unlink(path) == 0 ? 0 : -errno;
	cw_spool_timeline_name(name, tl, sizeof(tl));
	snprintf(path, sizeof(path), "%s/%s", dir, tl);
	unlink(path);
	return r;
}

int cw_spool_list(const char *dir, struct cw_spool_file **files, size_t *n)
{
	DIR *d = opendir(dir);
	struct cw_spool_file *v = NULL;
	size_t cap = 0, len = 0;
	struct dirent *de;

	*files = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat st;

		/* Links and FIFOs too: the uploader moves them to failed/, never sends them. */
		if (!is_snapshot(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    S_ISDIR(st.st_mode))
			continue;
		if (len == cap) {
			struct cw_spool_file *nv = realloc(v, (cap ? cap * 2 : 32) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 32;
		}
		snprintf(v[len].name, sizeof(v[len].name), "%s", de->d_name);
		v[len].size = (uint64_t)st.st_size;
		{
			char tl[256];

			cw_spool_timeline_name(de->d_name, tl, sizeof(tl));
			if (fstatat(dirfd(d), tl, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode))
				v[len].size += (uint64_t)st.st_size;
		}
		v[len].mtime = st.st_mtim;
		len++;
	}
	closedir(d);
	if (len)
		qsort(v, len, sizeof(*v), older_first);
	*files = v;
	*n = len;
	return 0;
}

int cw_spool_enforce(const char *dir, size_t max_files, uint64_t max_bytes)
{
	struct cw_spool_file *v;
	uint64_t bytes = 0;
	size_t n, i;
	int r = cw_spool_list(dir, &v, &n), dropped = 0;

	if (r < 0)
		return r;
	for (i = 0; i < n; i++)
		bytes += v[i].size;
	for (i = 0; i < n; i++) {
		int e;

		if ((!max_files || n - i <= max_files) && (!max_bytes || bytes <= max_bytes))
			break;
		e = cw_spool_remove(dir, v[i].name);
		if (e == 0 || e == -ENOENT)
			dropped++;
		bytes -= v[i].size;
	}
	free(v);
	return dropped;
}

int cw_spool_fail(const char *dir, const char *name, const char *reason)
{
	char failed[2048], from[4096], to[4096], why[4096];
	FILE *f;

	snprintf(failed, sizeof(failed), "%s/failed", dir);
	if (mkdir(failed, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(from, sizeof(from), "%s/%s", dir, name);
	snprintf(to, sizeof(to), "%s/%s", failed, name);
	snprintf(why, sizeof(why), "%s/%s.reason", failed, name);
	f = fopen(why, "we");
	if (f) {
		fprintf(f, "%s\n", reason);
		fclose(f);
	}
	if (rename(from, to) < 0)
		return -errno;
	{
		char tl[256];

		cw_spool_timeline_name(name, tl, sizeof(tl));
		snprintf(from, sizeof(from), "%s/%s", dir, tl);
		snprintf(to, sizeof(to), "%s/%s", failed, tl);
		rename(from, to); /* none: nothing to move */
	}
	return 0;
}
