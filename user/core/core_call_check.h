/* SPDX-License-Identifier: MIT */
/*
 * A call on CW_CORE_SOCKET makes the watcher ptrace the process it names:
 * act only for a process that is really dumping core, asked by the helper
 * the kernel started for that dump.
 */
#ifndef CW_CORE_CALL_CHECK_H
#define CW_CORE_CALL_CHECK_H

#include <stddef.h>
#include <sys/types.h>

/*
 * conn's peer is root and, where this pid namespace sees it, a child of
 * kthreadd (the kernel starts core_pattern's helper so); a thread of pid is
 * dumping core (*tid: that thread, the one asked for when it is).  0, or
 * -EPERM with why set.
 */
int cw_core_call_check(int conn, pid_t pid, pid_t *tid, char *why, size_t cap);

#endif
