/* SPDX-License-Identifier: MIT */
/*
 * Shared by the crash targets: each says who it is on stdout (the tests
 * read these lines), then crashes in a function named after the crash.
 */
#ifndef CW_TARGET_H
#define CW_TARGET_H

#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static inline void target_say(const char *key, unsigned long long value)
{
	printf("%s=%llu\n", key, value);
	fflush(stdout);
}

static inline void target_hello(void)
{
	target_say("pid", (unsigned long long)getpid());
	target_say("tid", (unsigned long long)syscall(SYS_gettid));
}

#endif
