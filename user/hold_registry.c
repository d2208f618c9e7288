// SPDX-License-Identifier: MIT
#include "hold_registry.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "proc_info.h"

uint64_t cw_boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void cw_registry_add(const char *registry, pid_t pid, uint64_t start_boottime,
		     uint64_t deadline_boottime_ns)
{
	FILE *f = registry ? fopen(registry, "ae") : NULL;

	if (!f)
		return;
	fprintf(f, "%d %" PRIu64 " %" PRIu64 "\n", (int)pid, start_boottime, deadline_boottime_ns);
	fflush(f);
	fsync(fileno(f));
	fclose(f);
}

void cw_registry_clear(const char *registry)
{
	if (registry)
		unlink(registry);
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
