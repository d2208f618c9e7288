// SPDX-License-Identifier: MIT
#include "scope.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define CGROUP2_SUPER_MAGIC 0x63677270

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	while (*in && n + 1 < cap) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
		    in[3] >= '0' && in[3] <= '7') {
			out[n++] = (char)((in[1] - '0') << 6 | (in[2] - '0') << 3 | (in[3] - '0'));
			in += 4;
		} else
			out[n++] = *in++;
	}
	out[n] = '\0';
}

int cw_cgroup2_mount(FILE *mountinfo, char *out, size_t cap)
{
	char line[8192];

	while (fgets(line, sizeof(line), mountinfo)) {
		char *fields[5], *save = NULL, *tok = strtok_r(line, " ", &save), *fstype;
		int i = 0;

		for (; tok && i < 5; tok = strtok_r(NULL, " ", &save))
			fields[i++] = tok;
		if (i < 5)
			continue;
		/* Optional fields, then " - " and the filesystem type. */
		while (tok && strcmp(tok, "-"))
			tok = strtok_r(NULL, " ", &save);
		fstype = tok ? strtok_r(NULL, " ", &save) : NULL;
		if (fstype && !strcmp(fstype, "cgroup2")) {
			unescape(fields[4], out, cap);
			return 0;
		}
	}
	return -ENOENT;
}

/* The cgroup v2 id: the kernfs node id its file handle carries (its inode number too). */
static int cgroup_id(const char *path, uint64_t *id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = {.fh.handle_bytes = sizeof(uint64_t)};
	struct stat st;
	int mount_id;

	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) == 0 &&
	    h.fh.handle_bytes == sizeof(uint64_t)) {
		memcpy(id, h.fh.f_handle, sizeof(*id));
		return 0;
	}
	if (stat(path, &st) < 0)
		return -errno;
	*id = st.st_ino;
	return 0;
}

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
	r = cgroup_id(path, &s->cgroup_ids[s->n_cgroups]);
	if (r < 0) {
		fprintf(err, "crashwatch: failed to read the id of cgroup %s: %s\n", path,
			strerror(-r));
		return r;
	}
	snprintf(s->cgroup_paths[s->n_cgroups], sizeof(s->cgroup_paths[0]), "/%.*s", (int)len, rel);
	s->n_cgroups++;
	return 0;
}

int cw_scope_resolve(const struct cw_watch_options *o, struct cw_scope *s, FILE *err)
{
	struct stat st;
	FILE *mi;
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
	mi = fopen("/proc/self/mountinfo", "re");
	if (!mi || cw_cgroup2_mount(mi, s->cgroup2, sizeof(s->cgroup2)) < 0) {
		fprintf(err,
			"crashwatch: --cgroup needs cgroup v2, and no cgroup2 filesystem is "
			"mounted here (/proc/self/mountinfo); mount one or leave --cgroup out\n");
		if (mi)
			fclose(mi);
		return -ENOENT;
	}
	fclose(mi);
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
	uint64_t id;
	int n = 0;

	while (s->inotify_fd >= 0 && read(s->inotify_fd, events, sizeof(events)) > 0)
		;
	for (unsigned i = 0; i < s->n_cgroups; i++) {
		snprintf(path, sizeof(path), "%s%s", s->cgroup2, s->cgroup_paths[i]);
		if (cgroup_id(path, &id) < 0 || id == s->cgroup_ids[i])
			continue;
		changed(ctx, i, s->cgroup_ids[i], id);
		s->cgroup_ids[i] = id;
		n++;
	}
	return n;
}

bool cw_scope_has_pid(const struct cw_scope *s, pid_t pid)
{
	char path[64], line[4096];
	bool in = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!in && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		for (unsigned i = 0; i < s->n_cgroups && !in; i++) {
			size_t n = strlen(s->cgroup_paths[i]);

			if (n == 1) /* "/": the whole hierarchy */
				in = true;
			else
				in = !strncmp(line + 3, s->cgroup_paths[i], n) &&
				     (line[3 + n] == '/' || !line[3 + n]);
		}
	}
	fclose(f);
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
