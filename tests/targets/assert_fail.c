// SPDX-License-Identifier: MIT
/* A failed assert(): __assert_fail prints and aborts. */
#undef NDEBUG
#include <assert.h>

#include "target.h"

NOINLINE void check_invariant(volatile int value)
{
	assert(value == 0);
}

int main(void)
{
	target_hello();
	check_invariant(7);
	return 0;
}
