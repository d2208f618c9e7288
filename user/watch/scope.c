// SPDX-License-Identifier: MIT
#include "scope.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "container_read.h"
#include "proc_info.h"

#define CGROUP2_SUPER_MAGIC 0x63677270

static int resolve_cgroup(struct cw_scope *s, const char *arg, FILE *err)
{
	size_t mlen = strlen(s->cgroup2), len;
	char path[PATH_MAX];
	const char *rel;
	struct statfs fs;
	struct stat st;
	int r;

	/* Absolute under the mount, or as /proc/PID/cgroup shows it (below the mount). */
	if (!strncmp(arg, s->cgroup2, mlen) && (arg[mlen] == '/' || !arg[mlen]))
		rel = arg + mlen;
	else
		rel = arg;
	while (*rel == '/')
		rel++;
	len = strlen(rel);
	while (len && rel[len - 1] == '/') /* "a/b/" is "a/b" */
		len--;
	if ((size_t)snprintf(path, sizeof(path), "%s/%.*s", s->cgroup2, (int)len, rel) >=
		    sizeof(path) ||
	    len + 2 > sizeof(s->cgroup_paths[0])) {
		fprintf(err, "crashwatch: bad --cgroup '%s': the path is too long\n", arg);
		return -ENAMETOOLONG;
	}
	r = statfs(path, &fs) < 0 || stat(path, &st) < 0	       ? -errno
	    : fs.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode) ? -ENOTDIR
								       : 0;
	if (r < 0) {
		fprintf(err,
			"crashwatch: bad --cgroup '%s': %s is not a cgroup v2 cgroup (%s); give a "
			"path as the 0:: line of /proc/PID/cgroup shows it, or one under %s\n",
			arg, path, strerror(-r), s->cgroup2);
		return r;
	}
	/* A cgroup v2 id is its directory's inode number (kernfs, 64-bit). */
	s->cgroup_ids[s->n_cgroups] = st.st_ino;
	snprintf(s->cgroup_paths[s->n_cgroups], sizeof(s->cgroup_paths[0]), "/%.*s", (int)len, rel);
	s->n_cgroups++;
	return 0;
}

int cw_scope_resolve(const struct cw_watch_options *o, struct cw_scope *s, FILE *err)
{
	char root[PATH_MAX];
	struct stat st;
	int r;

	memset(s, 0, sizeof(*s));
	s->inotify_fd = -1;
	if (stat("/proc/self/ns/pid", &st) < 0) {
		r = -errno;
		fprintf(err, "crashwatch: failed to read this process's pid namespace: %s\n",
			strerror(-r));
		return r;
	}
	s->pidns = (uint32_t)st.st_ino;
	s->sidecar = s->pidns != CW_HOST_PIDNS_INO;
	if (!o->n_cgroups)
		return 0;
	if (cw_cgroup2_mount(s->cgroup2, sizeof(s->cgroup2), root, sizeof(root)) < 0) {
		fprintf(err,
			"crashwatch: --cgroup needs cgroup v2, and no cgroup2 filesystem is "
			"mounted here (/proc/self/mountinfo); mount one or leave --cgroup out\n");
		return -ENOENT;
	}
	for (unsigned i = 0; i < o->n_cgroups; i++) {
		r = resolve_cgroup(s, o->cgroups[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

int cw_scope_watch(struct cw_scope *s, FILE *err)
{
	char path[PATH_MAX];
	int r;

	if (!s->n_cgroups)
		return 0;
	s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->inotify_fd < 0) {
		r = -errno;
		fprintf(err, "crashwatch: failed to watch the --cgroup cgroups for changes: %s\n",
			strerror(-r));
		return r;
	}
	for (unsigned i = 0; i < s->n_cgroups; i++) {
		snprintf(path, sizeof(path), "%s%s", s->cgroup2, s->cgroup_paths[i]);
		*strrchr(path, '/') = '\0';
		if (inotify_add_watch(s->inotify_fd, path[0] ? path : "/",
				      IN_CREATE | IN_MOVED_TO | IN_ONLYDIR) < 0) {
			r = -errno;
			fprintf(err,
				"crashwatch: failed to watch %s for cgroup %s made again: %s\n",
				path, s->cgroup_paths[i], strerror(-r));
			return r;
		}
	}
	return 0;
}

int cw_scope_refresh(struct cw_scope *s, void (*changed)(void *, unsigned, uint64_t, uint64_t),
		     void *ctx)
{
	char events[4096], path[PATH_MAX];
	struct stat st;
	int n = 0;

	while (s->inotify_fd >= 0 && read(s->inotify_fd, events, sizeof(events)) > 0)
		;
	for (unsigned i = 0; i < s->n_cgroups; i++) {
		snprintf(path, sizeof(path), "%s%s", s->cgroup2, s->cgroup_paths[i]);
		if (stat(path, &st) < 0 || st.st_ino == s->cgroup_ids[i])
			continue;
		changed(ctx, i, s->cgroup_ids[i], st.st_ino);
		s->cgroup_ids[i] = st.st_ino;
		n++;
	}
	return n;
}

bool cw_scope_has_pid(const struct cw_scope *s, pid_t pid)
{
	struct cw_container_info ci = {0};
	char path[64], *text;
	bool in = false;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	text = cw_proc_read_file(AT_FDCWD, path, NULL);
	if (!text)
		return false;
	if (cw_container_from_cgroup_file(text, &ci) == 0 && ci.cgroup)
		for (unsigned i = 0; i < s->n_cgroups && !in; i++) {
			size_t n = strlen(s->cgroup_paths[i]);

			/* "/" is the whole hierarchy; else the cgroup itself or below it. */
			in = n == 1 || (!strncmp(ci.cgroup, s->cgroup_paths[i], n) &&
					(ci.cgroup[n] == '/' || !ci.cgroup[n]));
		}
	cw_container_info_free(&ci);
	free(text);
	return in;
}

void cw_scope_close(struct cw_scope *s)
{
	if (s->inotify_fd >= 0)
		close(s->inotify_fd);
	s->inotify_fd = -1;
}

void cw_scope_describe(const struct cw_scope *s, char *out, size_t cap)
{
	size_t len;

	if (s->sidecar)
		len = (size_t)snprintf(out, cap,
				       "the processes of pid namespace %u (a sidecar: pids as it "
				       "numbers them)",
				       s->pidns);
	else
		len = (size_t)snprintf(out, cap, "every process on the host");
	for (unsigned i = 0; i < s->n_cgroups && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? ", " : " in cgroups ",
					s->cgroup_paths[i]);
	if (s->n_cgroups && len < cap)
		snprintf(out + len, cap - len, " and below");
}
