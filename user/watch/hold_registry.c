// SPDX-License-Identifier: MIT
#include "hold_registry.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proc_info.h"

uint64_t cw_boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int cw_registry_init(struct cw_hold_registry *r, const char *path)
{
	memset(r->e, 0, sizeof(r->e));
	r->n = 0;
	r->not_written = 0;
	if ((size_t)snprintf(r->path, sizeof(r->path), "%s", path) >= sizeof(r->path))
		return -ENAMETOOLONG;
	return -pthread_mutex_init(&r->lock, NULL);
}

void cw_registry_destroy(struct cw_hold_registry *r)
{
	pthread_mutex_destroy(&r->lock);
}

/*
 * The whole list, renamed into place; no fsync: the readers (the watchdog,
 * the next start) live in this boot, and the held processes die with it.
 * Called with the lock held.
 */
static void write_out(struct cw_hold_registry *r)
{
	char tmp[4200];
	FILE *f;

	if (r->n == 0) {
		unlink(r->path);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->path);
	f = fopen(tmp, "we");
	if (!f) {
		r->not_written++;
		return;
	}
	for (size_t i = 0; i < r->n; i++)
		fprintf(f, "%d %" PRIu64 " %" PRIu64 "\n", (int)r->e[i].pid, r->e[i].start_boottime,
			r->e[i].deadline_boottime_ns);
	if (fclose(f) != 0 || rename(tmp, r->path) < 0) {
		r->not_written++;
		unlink(tmp);
	}
}

void cw_registry_add(struct cw_hold_registry *r, pid_t pid, uint64_t start_boottime,
		     uint64_t deadline_boottime_ns)
{
	pthread_mutex_lock(&r->lock);
	/* Written down when it was queued, again when its hold starts: a new deadline. */
	for (size_t i = 0; i < r->n; i++) {
		if (r->e[i].pid == pid && r->e[i].start_boottime == start_boottime) {
			r->e[i].deadline_boottime_ns = deadline_boottime_ns;
			write_out(r);
			pthread_mutex_unlock(&r->lock);
			return;
		}
	}
	if (r->n < CW_REGISTRY_MAX) {
		r->e[r->n++] = (struct cw_hold_entry){pid, start_boottime, deadline_boottime_ns};
		write_out(r);
	} else {
		r->not_written++;
	}
	pthread_mutex_unlock(&r->lock);
}

void cw_registry_remove(struct cw_hold_registry *r, pid_t pid, uint64_t start_boottime)
{
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++) {
		if (r->e[i].pid != pid || r->e[i].start_boottime != start_boottime)
			continue;
		r->e[i] = r->e[--r->n];
		write_out(r);
		break;
	}
	pthread_mutex_unlock(&r->lock);
}

uint64_t cw_registry_unwritten(struct cw_hold_registry *r)
{
	uint64_t n;

	pthread_mutex_lock(&r->lock);
	n = r->not_written;
	pthread_mutex_unlock(&r->lock);
	return n;
}

int cw_registry_parse_line(const char *line, struct cw_hold_entry *e)
{
	uint64_t v[3];
	const char *p = line;
	int n = 0;

	/* "PID START DEADLINE", or "PID START" from before deadlines were written. */
	while (*p && *p != '\n' && n < 3) {
		char *end;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		v[n] = strtoull(p, &end, 10);
		if (errno || end == p)
			return -EINVAL;
		n++;
		p = end;
		if (*p == ' ')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	if (n < 2 || (*p && *p != '\n') || (p[0] == '\n' && p[1]) || v[0] == 0 ||
	    v[0] > INT32_MAX || v[1] == 0)
		return -EINVAL;
	e->pid = (pid_t)v[0];
	e->start_boottime = v[1];
	/* Without a deadline: past it already, released by whoever reads it. */
	e->deadline_boottime_ns = n == 3 ? v[2] : 0;
	return 0;
}

/* pid's state letter if pid still names the process that started at start_boottime. */
static int state_if_same(pid_t pid, uint64_t start_boottime, char *state)
{
	long hz = sysconf(_SC_CLK_TCK);
	char path[64], comm[64], *stat;
	uint64_t ticks;
	unsigned flags;
	pid_t ppid;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	stat = cw_proc_read_file(AT_FDCWD, path, NULL);
	if (!stat)
		return -ESRCH;
	r = cw_parse_stat(stat, state, &ppid, &flags, &ticks, comm, sizeof(comm));
	free(stat);
	if (r < 0 || hz <= 0 || ticks != start_boottime / (1000000000ULL / (uint64_t)hz))
		return -ESRCH;
	return 0;
}

/*
 * SIGCONT e's process only if it is that very process and stopped: a
 * pidfd taken before the check names it even if the pid is reused after.
 * A process still on its way to the stop (BPF's SIGSTOP lands µs late) is
 * waited for from *budget_ms.
 */
static bool release_one(const struct cw_hold_entry *e, double *budget_ms)
{
	int fd = pidfd_open(e->pid, 0);
	bool done = false;
	char state = 0;

	if (fd < 0)
		return false;
	for (;;) {
		if (state_if_same(e->pid, e->start_boottime, &state) < 0)
			break;
		if (state == 'T') {
			done = pidfd_send_signal(fd, SIGCONT, NULL, 0) == 0;
			break;
		}
		if (*budget_ms <= 0)
			break;
		usleep(1000);
		*budget_ms -= 1;
	}
	close(fd);
	return done;
}

/* Bigger than a full registry could be: CW_REGISTRY_MAX lines of three numbers. */
#define REGISTRY_MAX_BYTES (CW_REGISTRY_MAX * 64)

int cw_registry_release(const char *registry, uint64_t now_ns, int forget)
{
	int fd = open(registry, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	double budget_ms = 20;
	unsigned lineno = 0;
	char line[128];
	struct stat st;
	FILE *f;
	int n = 0;

	if (fd < 0) {
		if (errno != ENOENT)
			fprintf(stderr,
				"crashwatch: failed to read the hold registry %s: %s, ignoring\n",
				registry, strerror(errno));
		return 0;
	}
	/* Only what the watcher itself wrote names processes to wake. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    st.st_size > REGISTRY_MAX_BYTES) {
		fprintf(stderr,
			"crashwatch: ignoring the hold registry %s: not a regular file of root's, "
			"mode 0600, at most %d bytes\n",
			registry, REGISTRY_MAX_BYTES);
		close(fd);
		if (forget)
			unlink(registry);
		return 0;
	}
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		struct cw_hold_entry e;
		bool whole = strchr(line, '\n') || feof(f);

		lineno++;
		if (!whole) {
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
		}
		if (!whole || cw_registry_parse_line(line, &e) < 0) {
			fprintf(stderr,
				"crashwatch: ignoring line %u of the hold registry %s: not \"PID "
				"START_BOOTTIME_NS DEADLINE_BOOTTIME_NS\"\n",
				lineno, registry);
			continue;
		}
		if (e.deadline_boottime_ns > now_ns)
			continue;
		if (release_one(&e, &budget_ms))
			n++;
	}
	fclose(f);
	if (forget)
		unlink(registry);
	return n;
}
