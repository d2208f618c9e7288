/* SPDX-License-Identifier: MIT */
/*
 * Why glibc aborted, in its own words.  Before abort(), glibc's
 * __assert_fail and __libc_message ("malloc(): corrupted top size") store
 * the message they print in the libc global __abort_msg (GLIBC_PRIVATE, in
 * libc.so.6's .dynsym): a pointer to struct abort_msg_s { unsigned int size;
 * char msg[]; }.  Read at the hold at abort()'s entry.
 */
#ifndef CW_ABORT_MESSAGE_H
#define CW_ABORT_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc_maps.h"

#define CW_ABORT_MESSAGE_MAX 4096

struct cw_abort_message {
	uint64_t addr; /* of __abort_msg in the process; 0: no glibc there */
	bool has_message;
	char message[CW_ABORT_MESSAGE_MAX + 1]; /* as glibc wrote it, NUL-terminated */
};

/* A failed assert() as glibc's __assert_fail formats it. */
struct cw_assert {
	char expression[CW_ABORT_MESSAGE_MAX], file[CW_ABORT_MESSAGE_MAX],
		function[CW_ABORT_MESSAGE_MAX]; /* function "": none given */
	unsigned int line;
};

/*
 * Where __abort_msg is in pid (its libc among maps): before the pause, while
 * the process may run.  0, or -errno (-ENOENT: no glibc, or it has none).
 */
int cw_abort_message_locate(pid_t pid, const struct cw_maps *maps, struct cw_abort_message *m);

/* Read the message (at most CW_ABORT_MESSAGE_MAX bytes), once pid is stopped. */
void cw_abort_message_read(pid_t pid, struct cw_abort_message *m);

/*
 * glibc's "%s%s%s:%u: %s%sAssertion `%s' failed.\n": program, ": ", file,
 * line, function, ": ", expression.  Strict: false when msg is not that.
 */
bool cw_assert_parse(const char *msg, struct cw_assert *a);

#endif
