// SPDX-License-Identifier: MIT
/* SIGFPE: integer division by zero. */
#include "target.h"

NOINLINE int divide(volatile int a, volatile int b)
{
	return a / b;
}

int main(void)
{
	target_hello();
	return divide(1, 0);
}
