// SPDX-License-Identifier: MIT
#include "core_call_check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proc_dumping.h"
#include "proc_info.h"

#define KTHREADD_PID 2 /* the parent of every usermode helper */

int cw_core_call_check(int conn, pid_t pid, pid_t *tid, char *why, size_t cap)
{
	struct ucred peer;
	socklen_t len = sizeof(peer);
	char path[32], state, comm[64];
	unsigned flags;
	uint64_t start;
	pid_t ppid, dumping;
	char *stat;

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0) {
		snprintf(why, cap, "the caller's credentials are unknown: %s", strerror(errno));
		return -EPERM;
	}
	if (peer.uid != 0) {
		snprintf(why, cap, "the caller (pid %d) runs as uid %u, not as root", (int)peer.pid,
			 (unsigned)peer.uid);
		return -EPERM;
	}
	/* 0: the caller is outside this pid namespace (a watcher in a container). */
	if (peer.pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)peer.pid);
		stat = cw_proc_read_file(AT_FDCWD, path, NULL);
		if (!stat ||
		    cw_parse_stat(stat, &state, &ppid, &flags, &start, comm, sizeof(comm)) < 0) {
			free(stat);
			snprintf(why, cap, "the caller (pid %d) is gone", (int)peer.pid);
			return -EPERM;
		}
		free(stat);
		if (ppid != KTHREADD_PID) {
			snprintf(why, cap,
				 "the caller (pid %d, %s) was not started by the kernel for a core "
				 "dump (its parent is %d)",
				 (int)peer.pid, comm, (int)ppid);
			return -EPERM;
		}
	}
	dumping = cw_proc_dumping_thread(pid, *tid);
	if (!dumping) {
		snprintf(why, cap, "process %d is not dumping core", (int)pid);
		return -EPERM;
	}
	*tid = dumping;
	return 0;
}
