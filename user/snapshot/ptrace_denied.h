/* SPDX-License-Identifier: MIT */
/*
 * Why the kernel refused to let this tool trace a process (PTRACE_SEIZE
 * said -EPERM): from what it can see (its own uid and capabilities, the
 * target's, Yama's ptrace_scope), in words a person can act on.
 */
#ifndef CW_PTRACE_DENIED_H
#define CW_PTRACE_DENIED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * One sentence (no trailing period) saying why tracing the process of
 * proc_dir is not permitted and what to do; buf is always set.
 */
void cw_ptrace_denied_reason(int proc_dir, char *buf, size_t cap);

/* The names of the capabilities in mask ("cap_sys_ptrace, cap_bpf"); buf is always set. */
void cw_capability_names(uint64_t mask, char *buf, size_t cap);

#endif
