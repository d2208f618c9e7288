// SPDX-License-Identifier: MIT
/*
 * abort(): SIGABRT raised by the process itself.  With "wait", only once a
 * line arrives on stdin: a test can let the watcher see the process first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

NOINLINE void do_abort(void)
{
	abort();
}

int main(int argc, char **argv)
{
	char line[16];

	target_hello();
	if (argc > 1 && strcmp(argv[1], "wait") == 0 && !fgets(line, sizeof(line), stdin))
		return 1;
	do_abort();
	return 0;
}
