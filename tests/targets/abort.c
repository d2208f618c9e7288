// SPDX-License-Identifier: MIT
/* abort(): SIGABRT raised by the process itself. */
#include <stdlib.h>

#include "target.h"

NOINLINE void do_abort(void)
{
	abort();
}

int main(void)
{
	target_hello();
	do_abort();
	return 0;
}
