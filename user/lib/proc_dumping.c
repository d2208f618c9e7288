// SPDX-License-Identifier: MIT
#include "proc_dumping.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "proc_info.h"

#define PF_DUMPCORE 0x00000200 /* the thread that dumps (include/linux/sched.h) */

static bool thread_dumps(int dir, pid_t tid)
{
	char path[32], state;
	unsigned flags;

	snprintf(path, sizeof(path), "task/%d", (int)tid);
	return cw_proc_stat_state(dir, path, &state, &flags) == 0 && (flags & PF_DUMPCORE);
}

pid_t cw_proc_dumping_thread(pid_t pid, pid_t tid)
{
	char path[32];
	pid_t *tids = NULL, found = 0;
	size_t n = 0;
	int dir;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	/* Through the directory: a tid of another process is not under it. */
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return 0;
	if (tid > 0 && thread_dumps(dir, tid)) {
		close(dir);
		return tid;
	}
	if (cw_proc_threads(dir, &tids, &n) < 0)
		n = 0;
	for (size_t i = 0; i < n && !found; i++)
		if (thread_dumps(dir, tids[i]))
			found = tids[i];
	free(tids);
	close(dir);
	return found;
}
