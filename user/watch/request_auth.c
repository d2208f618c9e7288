// SPDX-License-Identifier: MIT
#include "request_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proc_info.h"
#include "ptrace_denied.h"

int cw_auth_decide(const struct cw_auth_peer *peer, const struct cw_auth_target *t, int yama_scope,
		   char *why, size_t cap)
{
	char names[512];
	bool same_ids = true;

	why[0] = '\0';
	if (yama_scope == 3) {
		snprintf(why, cap,
			 "kernel.yama.ptrace_scope is 3: no process may be traced until the next "
			 "boot, so no snapshot of a live process can be taken");
		return -EPERM;
	}
	/* Itself: whatever it is, it may show what it holds. */
	if (peer->pid == t->pid)
		return 0;
	if (peer->uid == 0)
		return 0;
	if (yama_scope == 2) {
		snprintf(why, cap,
			 "kernel.yama.ptrace_scope is 2: only root may ask for a snapshot of "
			 "another process");
		return -EPERM;
	}
	for (int i = 0; i < 3; i++)
		same_ids &= t->uids[i] == peer->uid && t->gids[i] == peer->gid;
	if (t->uids[0] != peer->uid || t->uids[1] != peer->uid || t->uids[2] != peer->uid) {
		snprintf(why, cap,
			 "pid %d runs as uid %u and you are uid %u: a user may ask only for its "
			 "own processes",
			 (int)t->pid, (unsigned)t->uids[1], (unsigned)peer->uid);
		return -EPERM;
	}
	if (!same_ids) {
		snprintf(why, cap,
			 "pid %d runs with gids %u/%u/%u (real/effective/saved) and you with gid "
			 "%u: a set-gid process may be asked for by root only",
			 (int)t->pid, (unsigned)t->gids[0], (unsigned)t->gids[1],
			 (unsigned)t->gids[2], (unsigned)peer->gid);
		return -EPERM;
	}
	if (!t->dumpable) {
		snprintf(why, cap,
			 "pid %d is not dumpable (it changed its ids or cleared PR_SET_DUMPABLE): "
			 "only root or the process itself may ask for its snapshot",
			 (int)t->pid);
		return -EPERM;
	}
	if (t->cap_prm & ~peer->cap_prm) {
		cw_capability_names(t->cap_prm & ~peer->cap_prm, names, sizeof(names));
		snprintf(why, cap,
			 "pid %d holds capabilities you do not (%s): only root may ask for its "
			 "snapshot",
			 (int)t->pid, names);
		return -EPERM;
	}
	if (yama_scope == 1 && !t->descendant) {
		snprintf(why, cap,
			 "kernel.yama.ptrace_scope is 1: a user may ask only for its own "
			 "descendants, and pid %d is not one of pid %d's",
			 (int)t->pid, (int)peer->pid);
		return -EPERM;
	}
	return 0;
}

int cw_auth_yama_scope(void)
{
	char *s = cw_proc_read_file(AT_FDCWD, "/proc/sys/kernel/yama/ptrace_scope", NULL);
	int v = -1;

	if (s && s[0] >= '0' && s[0] <= '3')
		v = s[0] - '0';
	free(s);
	return v;
}

/* "Uid:", "Gid:", "CapPrm:" and "PPid:" of /proc/PID/status.  0 or -errno. */
static int read_status(pid_t pid, uid_t uids[4], gid_t gids[4], uint64_t *cap_prm, pid_t *ppid)
{
	char path[48], *status, *line, *save = NULL;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	status = cw_proc_read_file(AT_FDCWD, path, NULL);
	if (!status)
		return -errno;
	for (line = strtok_r(status, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned a, b, c, d;
		int p;

		if (sscanf(line, "Uid: %u %u %u %u", &a, &b, &c, &d) == 4) {
			uids[0] = a, uids[1] = b, uids[2] = c, uids[3] = d;
			found |= 1;
		} else if (sscanf(line, "Gid: %u %u %u %u", &a, &b, &c, &d) == 4) {
			gids[0] = a, gids[1] = b, gids[2] = c, gids[3] = d;
			found |= 2;
		} else if (sscanf(line, "CapPrm: %" SCNx64, cap_prm) == 1) {
			found |= 4;
		} else if (sscanf(line, "PPid: %d", &p) == 1) {
			*ppid = p;
			found |= 8;
		}
	}
	free(status);
	return found == 15 ? 0 : -EINVAL;
}

uint64_t cw_auth_cap_prm(pid_t pid)
{
	uid_t u[4];
	gid_t g[4];
	uint64_t cap = 0;
	pid_t pp;

	return read_status(pid, u, g, &cap, &pp) == 0 ? cap : 0;
}

int cw_auth_peer_of(pid_t pid, struct cw_auth_peer *peer)
{
	uid_t u[4];
	gid_t g[4];
	uint64_t cap = 0;
	pid_t pp;
	int r = read_status(pid, u, g, &cap, &pp);

	if (r < 0)
		return r;
	*peer = (struct cw_auth_peer){.pid = pid, .uid = u[1], .gid = g[1], .cap_prm = cap};
	return 0;
}

/* Whether ancestor is among pid's ancestors (64 levels at most). */
static bool descends_from(pid_t pid, pid_t ancestor)
{
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		uid_t u[4];
		gid_t g[4];
		uint64_t cap;
		pid_t parent;

		if (read_status(pid, u, g, &cap, &parent) < 0)
			return false;
		if (parent == ancestor)
			return true;
		pid = parent;
	}
	return false;
}

int cw_auth_check(const struct cw_auth_peer *peer, pid_t target, char *why, size_t cap)
{
	struct cw_auth_target t = {.pid = target};
	char path[48];
	struct stat st;
	pid_t ppid;
	int scope = cw_auth_yama_scope();

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)target);
	if (stat(path, &st) < 0 || read_status(target, t.uids, t.gids, &t.cap_prm, &ppid) < 0) {
		snprintf(why, cap, "no process with pid %d", (int)target);
		return -ESRCH;
	}
	/*
	 * The kernel makes the files of /proc/PID root's while the process is
	 * not dumpable (task_dump_owner; the directory itself keeps its owner).
	 */
	t.dumpable = st.st_uid == t.uids[1] || t.uids[1] == 0;
	t.descendant = scope == 1 && peer->pid != target && descends_from(target, peer->pid);
	return cw_auth_decide(peer, &t, scope, why, cap);
}
