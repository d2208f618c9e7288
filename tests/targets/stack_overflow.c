// SPDX-License-Identifier: MIT
/* Unbounded recursion until the stack's guard gap. */
#include "target.h"

static volatile int keep_going = 1;

NOINLINE int recurse(int depth)
{
	volatile char frame[512];

	frame[0] = (char)depth;
	if (keep_going)
		return recurse(depth + 1) + frame[0];
	return 0;
}

int main(void)
{
	target_hello();
	return recurse(0);
}
