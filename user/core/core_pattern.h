/* SPDX-License-Identifier: MIT */
/*
 * kernel.core_pattern as the kernel reads it (Documentation/admin-guide/
 * sysctl/kernel.rst): "|prog args" pipes the core to a program, anything
 * else names a file.  A pipe pattern is split at spaces first and each
 * argument expanded after, so an expansion with spaces stays one argument.
 */
#ifndef CW_CORE_PATTERN_H
#define CW_CORE_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the kernel told the core handler of the dump. */
struct cw_core_info {
	long pid;	  /* %p: in the dumping process's pid namespace */
	long global_pid;  /* %P */
	long tid;	  /* %i */
	long global_tid;  /* %I */
	long uid, gid;	  /* %u %g */
	int sig;	  /* %s */
	long long time;	  /* %t */
	long long limit;  /* %c: RLIMIT_CORE soft limit, -1 unlimited */
	const char *host; /* %h */
	const char *comm; /* %e */
	bool pidfd;	  /* %F: a pidfd is passed on fd 3 ("3"), else dropped */
};

#define CW_CORE_MAX_ARGS 32

/* Expand the %-specifiers of one pattern (or one argument) into out.  0 or -ENAMETOOLONG. */
int cw_core_expand(const char *pattern, const struct cw_core_info *ci, char *out, size_t cap);

/*
 * A pipe pattern ("|/bin/x %p %e", the '|' included) into argv, each
 * argument expanded; strings live in buf.  The number of arguments, or
 * -EINVAL / -ENAMETOOLONG.
 */
int cw_core_pipe_argv(const char *pattern, const struct cw_core_info *ci, char *buf, size_t cap,
		      char *argv[CW_CORE_MAX_ARGS + 1]);

#endif
