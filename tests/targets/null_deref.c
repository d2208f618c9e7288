// SPDX-License-Identifier: MIT
/* A NULL pointer dereference in the main thread. */
#include <stddef.h>

#include "target.h"

NOINLINE void crash_null_deref(volatile int *p)
{
	*p = 42;
}

NOINLINE static void caller(void)
{
	crash_null_deref(NULL);
}

int main(void)
{
	target_hello();
	caller();
	return 0;
}
