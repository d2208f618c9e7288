// SPDX-License-Identifier: MIT
#include "hold_registry.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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

int cw_registry_release(const char *registry, uint64_t now_ns, int forget)
{
	FILE *f = fopen(registry, "re");
	char line[128];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		uint64_t start, deadline = 0;
		int pid;

		/* A registry from before deadlines were written has two fields: release it. */
		if (sscanf(line, "%d %" SCNu64 " %" SCNu64, &pid, &start, &deadline) < 2 ||
		    pid <= 0 || deadline > now_ns)
			continue;
		if (cw_proc_is_same(pid, start) && kill(pid, SIGCONT) == 0)
			n++;
	}
	fclose(f);
	if (forget)
		unlink(registry);
	return n;
}
