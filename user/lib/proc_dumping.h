/* SPDX-License-Identifier: MIT */
/*
 * Is a process really dumping core?  The kernel marks the thread that
 * writes the dump PF_DUMPCORE (include/linux/sched.h) from the start of the
 * dump until the process exits: visible in /proc/PID/task/TID/stat while a
 * core_pattern helper runs or the coredump socket waits for its answer.
 */
#ifndef CW_PROC_DUMPING_H
#define CW_PROC_DUMPING_H

#include <sys/types.h>

/* The thread of pid that dumps core (tid first, when it is one of pid's), or 0. */
pid_t cw_proc_dumping_thread(pid_t pid, pid_t tid);

#endif
