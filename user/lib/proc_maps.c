// SPDX-License-Identifier: MIT
#include "proc_maps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cw_maps_parse(FILE *f, struct cw_maps *out)
{
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	int r = 0;

	out->v = NULL;
	out->n = 0;
	while (getline(&line, &cap, f) > 0) {
		uint64_t start, end, pgoff, inode;
		char perms[5] = "";
		int path_at = 0;
		char *path;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %*x:%*x %" SCNu64 " %n",
			   &start, &end, perms, &pgoff, &inode, &path_at) < 5 ||
		    path_at == 0)
			continue;
		path = line + path_at;
		path[strcspn(path, "\n")] = '\0';
		if (out->n == alloc) {
			size_t na = alloc ? 2 * alloc : 64;
			struct cw_mapping *nv = realloc(out->v, na * sizeof(*nv));

			if (!nv) {
				r = -ENOMEM;
				break;
			}
			out->v = nv;
			alloc = na;
		}
		out->v[out->n] = (struct cw_mapping){start, end, pgoff, "", NULL, inode};
		memcpy(out->v[out->n].perms, perms, sizeof(perms));
		if (path[0] == '/') {
			out->v[out->n].path = strdup(path);
			if (!out->v[out->n].path) {
				r = -ENOMEM;
				break;
			}
		}
		out->n++;
	}
	free(line);
	if (r < 0)
		cw_maps_free(out);
	return r;
}

int cw_maps_read(pid_t pid, struct cw_maps *out)
{
	char path[64];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	r = cw_maps_parse(f, out);
	fclose(f);
	return r;
}

const struct cw_mapping *cw_maps_find(const struct cw_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	/*
	 * /proc/PID/maps lists mappings in address order: a binary search (a
	 * process of 1,000 threads has 2,000 mappings, searched once a thread
	 * while it is stopped).  Out of order (a hand-made list): one by one.
	 */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	for (size_t i = 1; i < m->n; i++)
		if (m->v[i].start < m->v[i - 1].start)
			goto unsorted;
	return NULL;
unsorted:
	for (size_t i = 0; i < m->n; i++)
		if (addr >= m->v[i].start && addr < m->v[i].end)
			return &m->v[i];
	return NULL;
}

void cw_maps_free(struct cw_maps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].path);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}
