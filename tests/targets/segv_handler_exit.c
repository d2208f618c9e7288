// SPDX-License-Identifier: MIT
/* A SIGSEGV with a handler installed; the handler _exit()s with 42. */
#include <signal.h>
#include <stddef.h>

#include "target.h"

static void on_segv(int sig)
{
	(void)sig;
	_exit(42);
}

NOINLINE void crash_with_handler(volatile int *p)
{
	*p = 42;
}

int main(void)
{
	struct sigaction sa = {.sa_handler = on_segv};

	sigaction(SIGSEGV, &sa, NULL);
	target_hello();
	crash_with_handler(NULL);
	return 0;
}
