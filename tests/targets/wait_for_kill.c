// SPDX-License-Identifier: MIT
/* Waits to be killed by another process (kill -SEGV PID). */
#include "target.h"

NOINLINE void wait_forever(void)
{
	for (;;)
		pause();
}

int main(void)
{
	target_hello();
	target_say("ready", 1);
	wait_forever();
	return 0;
}
