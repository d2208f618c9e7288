// SPDX-License-Identifier: MIT
#include "module_open.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t mnt_ns_of(const char *proc)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "%s/ns/mnt", proc);
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

int cw_module_source_init(struct cw_module_source *s, pid_t pid, const char *maps_text)
{
	char proc[32];
	uint64_t theirs;
	int r;

	memset(s, 0, sizeof(*s));
	s->pid = pid;
	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	theirs = mnt_ns_of(proc);
	/* Gone, or not ours to look at: paths as we see them, as before. */
	s->own_mnt_ns = !theirs || theirs == mnt_ns_of("/proc/self");
	if (maps_text) {
		FILE *f = fmemopen((void *)maps_text, strlen(maps_text), "r");

		if (!f)
			return -errno;
		r = cw_maps_parse(f, &s->maps);
		fclose(f);
	} else {
		r = cw_maps_read(pid, &s->maps);
	}
	return r;
}

void cw_module_source_free(struct cw_module_source *s)
{
	for (size_t i = 0; i < s->n_opened; i++) {
		free(s->opened[i].path);
		free(s->opened[i].name);
		close(s->opened[i].fd);
	}
	free(s->opened);
	s->opened = NULL;
	s->n_opened = 0;
	cw_maps_free(&s->maps);
}

static const struct cw_module_file *find_opened(const struct cw_module_source *s, const char *path)
{
	for (size_t i = 0; i < s->n_opened; i++)
		if (strcmp(s->opened[i].path, path) == 0)
			return &s->opened[i];
	return NULL;
}

void cw_module_source_open_all(struct cw_module_source *s)
{
	for (size_t i = 0; i < s->maps.n; i++) {
		const char *path = s->maps.v[i].path;
		struct cw_module_file f = {.fd = -1};
		struct cw_module_file *nv;

		if (!path || path[0] != '/' || find_opened(s, path))
			continue;
		f.fd = cw_module_open(s, path, &f.name);
		if (f.fd < 0)
			continue;
		f.path = strdup(path);
		nv = f.path ? realloc(s->opened, (s->n_opened + 1) * sizeof(*nv)) : NULL;
		if (!nv) {
			free(f.path);
			free(f.name);
			close(f.fd);
			return;
		}
		s->opened = nv;
		s->opened[s->n_opened++] = f;
	}
}

/* fd if it is a regular file, with the mapped inode when one is known; else closed, -errno. */
static int checked(int fd, const struct cw_mapping *m)
{
	struct stat st;
	int e = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		e = -errno;
	else if (!S_ISREG(st.st_mode))
		e = -ENODEV;
	else if (m && m->inode && (uint64_t)st.st_ino != m->inode)
		e = -ESTALE;
	if (e) {
		close(fd);
		return e;
	}
	return fd;
}

/* open() of a regular file only: a device or a FIFO may block, or do something on open. */
static int open_regular(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = ENODEV;
		return -1;
	}
	return open(path, O_RDONLY | O_CLOEXEC);
}

static int named(int fd, const struct cw_module_source *s, const char *path, char **name)
{
	int r = s->own_mnt_ns ? ((*name = strdup(path)) ? 0 : -1)
			      : asprintf(name, "/proc/%d/root%s", (int)s->pid, path);

	if (r < 0) {
		*name = NULL;
		close(fd);
		return -ENOMEM;
	}
	return fd;
}

int cw_module_open(const struct cw_module_source *s, const char *path, char **name)
{
	const struct cw_mapping *m = NULL;
	const struct cw_module_file *of;
	char at[PATH_MAX];
	int fd;

	*name = NULL;
	if ((of = find_opened(s, path))) {
		fd = fcntl(of->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!(*name = strdup(of->name))) {
			close(fd);
			return -ENOMEM;
		}
		return fd;
	}
	for (size_t i = 0; i < s->maps.n && !m; i++)
		if (s->maps.v[i].path && strcmp(s->maps.v[i].path, path) == 0)
			m = &s->maps.v[i];
	if (m) {
		snprintf(at, sizeof(at), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)s->pid,
			 m->start, m->end);
		fd = checked(open_regular(at), NULL);
		if (fd >= 0)
			return named(fd, s, path, name);
	}
	if ((size_t)snprintf(at, sizeof(at), "/proc/%d/root%s", (int)s->pid, path) >= sizeof(at))
		return -ENAMETOOLONG;
	fd = checked(open_regular(at), m);
	if (fd >= 0 || fd == -ESTALE || !s->own_mnt_ns)
		return fd >= 0 ? named(fd, s, path, name) : fd;
	fd = checked(open_regular(path), m);
	return fd >= 0 ? named(fd, s, path, name) : fd;
}

int cw_module_open_mapped(pid_t pid, const struct cw_maps *maps,
			  bool (*is_wanted)(const char *path), const struct cw_mapping **lib)
{
	struct cw_module_source src = {0};
	char *name = NULL;
	int fd;

	*lib = NULL;
	for (size_t i = 0; maps && i < maps->n && !*lib; i++)
		if (maps->v[i].path && maps->v[i].pgoff == 0 && is_wanted(maps->v[i].path))
			*lib = &maps->v[i];
	if (!*lib)
		return -ENOENT;
	fd = cw_module_source_init(&src, pid, NULL);
	if (fd < 0)
		return fd;
	fd = cw_module_open(&src, (*lib)->path, &name);
	free(name);
	cw_module_source_free(&src);
	return fd;
}
