// SPDX-License-Identifier: MIT
#include "proc_info.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redact.h"

#define PF_KTHREAD 0x00200000 /* include/linux/sched.h */

char *cw_proc_read_file(int dir, const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int fd = openat(dir, path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 || !buf) {
		int e = fd < 0 ? errno : ENOMEM;

		free(buf);
		if (fd >= 0)
			close(fd);
		errno = e;
		return NULL;
	}
	while ((r = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (n + 1 == cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static char *link_at(int dir, const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(dir, path, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

int cw_parse_stat(const char *line, char *state, pid_t *ppid, unsigned *flags,
		  uint64_t *start_ticks, char *comm, size_t comm_cap)
{
	const char *open = strchr(line, '('), *close = strrchr(line, ')');
	unsigned long long start;
	int pp;

	if (!open || !close || close < open)
		return -EINVAL;
	if (comm && comm_cap) {
		size_t n = (size_t)(close - open - 1);

		if (n >= comm_cap)
			n = comm_cap - 1;
		memcpy(comm, open + 1, n);
		comm[n] = '\0';
	}
	/* Fields 3 (state), 4 (ppid), 9 (flags), 22 (starttime). */
	if (sscanf(close + 2,
		   "%c %d %*d %*d %*d %*d %u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
		   "%*d %*d %llu",
		   state, &pp, flags, &start) != 4)
		return -EINVAL;
	*ppid = pp;
	*start_ticks = start;
	return 0;
}

/* The cgroup v2 path ("0::/x"), else the path of the first v1 line ("4:memory:/x"). */
static char *cgroup_path(const char *text)
{
	const char *line = text, *path = NULL;

	for (; *line; line += strcspn(line, "\n") + (line[strcspn(line, "\n")] ? 1 : 0)) {
		if (strncmp(line, "0::", 3) == 0) {
			path = line + 3;
			break;
		}
		if (!path) {
			const char *c = strchr(line, ':');

			path = c ? strchr(c + 1, ':') : NULL;
			path = path ? path + 1 : NULL;
		}
	}
	return path ? strndup(path, strcspn(path, "\n")) : NULL;
}

char *cw_proc_cmdline(int dir, const struct cw_redact *r)
{
	size_t len;
	char *raw = cw_proc_read_file(dir, "cmdline", &len), *joined;

	if (!raw)
		return NULL;
	joined = cw_redact_cmdline(r, raw, len);
	/* The unredacted arguments do not outlive this call. */
	explicit_bzero(raw, len);
	free(raw);
	return joined;
}

int cw_proc_info_read(int dir, pid_t pid, struct cw_proc_info *out)
{
	char *stat, *status, *line, *cg;

	unsigned flags;
	int r;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	stat = cw_proc_read_file(dir, "stat", NULL);
	if (!stat)
		return -errno;
	r = cw_parse_stat(stat, &out->state, &out->ppid, &flags, &out->start_ticks, out->comm,
			  sizeof(out->comm));
	free(stat);
	if (r < 0)
		return r;
	out->kernel_thread = flags & PF_KTHREAD;
	status = cw_proc_read_file(dir, "status", NULL);
	if (!status)
		return -errno;
	for (line = strtok(status, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned a;

		if (sscanf(line, "Uid: %u", &a) == 1)
			out->uid = a;
		else if (sscanf(line, "Gid: %u", &a) == 1)
			out->gid = a;
		else if (sscanf(line, "TracerPid: %u", &a) == 1)
			out->tracer = (pid_t)a;
	}
	free(status);
	out->exe = link_at(dir, "exe");
	out->cwd = link_at(dir, "cwd");
	out->cmdline = cw_proc_cmdline(dir, NULL);
	cg = cw_proc_read_file(dir, "cgroup", NULL);
	if (cg) {
		out->cgroup = cgroup_path(cg);
		free(cg);
	}
	return 0;
}

void cw_proc_info_free(struct cw_proc_info *p)
{
	free(p->exe);
	free(p->cmdline);
	free(p->cwd);
	free(p->cgroup);
	memset(p, 0, sizeof(*p));
}

static int cmp_pid(const void *a, const void *b)
{
	return (*(const pid_t *)a > *(const pid_t *)b) - (*(const pid_t *)a < *(const pid_t *)b);
}

int cw_proc_threads(int dir, pid_t **out, size_t *n)
{
	int fd = openat(dir, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t cap = 64;
	struct dirent *de;
	DIR *d;

	*n = 0;
	*out = NULL;
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	*out = malloc(cap * sizeof(**out));
	while (*out && (de = readdir(d))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (*end || tid <= 0)
			continue;
		if (*n == cap) {
			pid_t *nv = realloc(*out, 2 * cap * sizeof(**out));

			if (!nv)
				break;
			*out = nv;
			cap *= 2;
		}
		(*out)[(*n)++] = (pid_t)tid;
	}
	closedir(d);
	if (!*out)
		return -ENOMEM;
	qsort(*out, *n, sizeof(**out), cmp_pid);
	return 0;
}

/* State, start time and name from the stat file at path (relative to dir). 0 or -errno. */
static int stat_at(int dir, const char *path, char *state, uint64_t *start, char *name, size_t cap)
{
	char *stat = cw_proc_read_file(dir, path, NULL);
	unsigned flags;
	pid_t ppid;
	int r;

	if (!stat)
		return -errno;
	r = cw_parse_stat(stat, state, &ppid, &flags, start, name, cap);
	free(stat);
	return r;
}

int cw_thread_info(int dir, pid_t tid, char *name, size_t cap, char *state)
{
	char path[64];
	uint64_t start;

	snprintf(path, sizeof(path), "task/%d/stat", (int)tid);
	return stat_at(dir, path, state, &start, name, cap);
}

int cw_proc_stat_state(int dir, const char *path, char *state, unsigned *flags)
{
	char file[96], comm[64];
	uint64_t start;
	pid_t ppid;
	char *stat;
	int r;

	if ((size_t)snprintf(file, sizeof(file), "%s/stat", path) >= sizeof(file))
		return -ENAMETOOLONG;
	stat = cw_proc_read_file(dir, file, NULL);
	if (!stat)
		return -ENOENT;
	r = cw_parse_stat(stat, state, &ppid, flags, &start, comm, sizeof(comm));
	free(stat);
	return r;
}

bool cw_proc_is_same(pid_t pid, uint64_t start_boottime)
{
	long hz = sysconf(_SC_CLK_TCK);
	char path[64], state;
	uint64_t ticks;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return hz > 0 && stat_at(AT_FDCWD, path, &state, &ticks, NULL, 0) == 0 &&
	       ticks == start_boottime / (1000000000ULL / (uint64_t)hz);
}

int cw_proc_open_exe(pid_t pid, char *path, size_t cap)
{
	char link[64];
	ssize_t n;
	int fd;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	fd = open(link, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = cap ? readlink(link, path, cap - 1) : -1;
	if (cap)
		path[n > 0 ? n : 0] = '\0';
	return fd;
}
