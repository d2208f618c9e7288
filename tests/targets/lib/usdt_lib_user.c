// SPDX-License-Identifier: MIT
/*
 * A program whose only trace event is its library's (libcwlib_events.so,
 * found by its run path), driven line by line on stdin:
 *   ping   the library's ping event, then "pinged=N enabled=E"
 *   quit   exit 0
 * It prints "pid=PID" first.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cwlib_ping(long n);

int main(void)
{
	char line[64];
	long pings = 0;

	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "ping", 4) == 0) {
			int enabled = cwlib_ping(++pings);

			printf("pinged=%ld enabled=%d\n", pings, enabled);
		} else if (strncmp(line, "quit", 4) == 0) {
			break;
		}
		fflush(stdout);
	}
	return 0;
}
