// SPDX-License-Identifier: MIT
/*
 * A NULL pointer dereference in the main thread.  "undumpable": first
 * PR_SET_DUMPABLE 0, so that the kernel skips the core dump (with
 * fs.suid_dumpable 0) and no core-dump hold can catch it.
 */
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>

#include "target.h"

NOINLINE void crash_null_deref(volatile int *p)
{
	*p = 42;
}

NOINLINE static void caller(void)
{
	crash_null_deref(NULL);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "undumpable") == 0)
		prctl(PR_SET_DUMPABLE, 0);
	target_hello();
	caller();
	return 0;
}
