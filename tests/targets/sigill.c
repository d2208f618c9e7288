// SPDX-License-Identifier: MIT
/* SIGILL: an undefined instruction (ud2 on x86). */
#include "target.h"

NOINLINE void illegal_instruction(void)
{
	__builtin_trap();
}

int main(void)
{
	target_hello();
	illegal_instruction();
	return 0;
}
