// SPDX-License-Identifier: MIT
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

static int is_snapshot(const char *name)
{
	size_t len = strlen(name);

	/* ".*" are temporary files and the hold registry. */
	return name[0] != '.' && len > 5 && len < sizeof(((struct cw_spool_file *)0)->name) &&
	       strcmp(name + len - 5, ".json") == 0;
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
		char path[4096];

		if ((!max_files || n - i <= max_files) && (!max_bytes || bytes <= max_bytes))
			break;
		snprintf(path, sizeof(path), "%s/%s", dir, v[i].name);
		if (unlink(path) == 0 || errno == ENOENT)
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
	return rename(from, to) < 0 ? -errno : 0;
}
