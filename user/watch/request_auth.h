/* SPDX-License-Identifier: MIT */
/*
 * Who may ask the watcher for a snapshot of which process (the request
 * socket, request_server.h): a process may always ask for itself; root for
 * any; a user for a process it could ptrace itself, as the kernel's
 * ptrace_may_access() would decide: every uid and gid of the process its
 * own, the process dumpable, no capability the user lacks, and Yama's
 * kernel.yama.ptrace_scope honoured (1: only its own descendants; 2: none;
 * 3: nobody, root included).  Anything else is refused with the reason.
 */
#ifndef CW_REQUEST_AUTH_H
#define CW_REQUEST_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The requester, as SO_PEERCRED says at connect time, and its permitted capabilities. */
struct cw_auth_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint64_t cap_prm;
};

/* What /proc says of the process asked for. */
struct cw_auth_target {
	pid_t pid;
	uid_t uids[4]; /* real, effective, saved, fs */
	gid_t gids[4];
	uint64_t cap_prm;
	bool dumpable;	 /* /proc/PID is owned by its euid, not root */
	bool descendant; /* the requester is among its ancestors */
};

/* 0: permitted; -EPERM with why (one sentence, no period). */
int cw_auth_decide(const struct cw_auth_peer *peer, const struct cw_auth_target *t, int yama_scope,
		   char *why, size_t cap);

/* kernel.yama.ptrace_scope, or -1 without Yama. */
int cw_auth_yama_scope(void);

/*
 * Read what the decision needs from /proc and decide.  0, -EPERM (why
 * said), -ESRCH (no such process: why said).
 */
int cw_auth_check(const struct cw_auth_peer *peer, pid_t target, char *why, size_t cap);

/* The permitted capabilities of pid (CapPrm), 0 when unreadable. */
uint64_t cw_auth_cap_prm(pid_t pid);

/*
 * pid as a requester, as SO_PEERCRED would say it (effective ids) with its
 * CapPrm: for a peer found another way (a TCP connection's owner).  0 or -errno.
 */
int cw_auth_peer_of(pid_t pid, struct cw_auth_peer *peer);

#endif
