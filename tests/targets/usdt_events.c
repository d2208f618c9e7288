// SPDX-License-Identifier: MIT
/*
 * A program with trace events of its own (include/crashwatch/trace.h), driven
 * line by line on stdin so a test decides when they fire:
 *   fire N   N tick events, then "computed=C enabled=E" (C: how often the
 *            tick's costly argument was computed; E: its semaphore set now)
 *   order    one order event (a string argument)
 *   enabled  "tick=E order=E": which semaphores are set
 *   quit     "sum=S orders=O", exit 0
 * It prints "pid=PID" first.  Its results never depend on what is attached,
 * but computed= does: an argument is computed only while an event is traced.
 */
#include <crashwatch/trace.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

CW_TRACE_EVENT(cwtest, tick, "i,cost");
CW_TRACE_EVENT(cwtest, order, "id,customer:str,cents");
CW_TRACE_EVENT(cwtest, idle, "");

static unsigned long computed;

/* Stands for an argument that costs something to compute. */
static __attribute__((noinline)) long cost_of(long i)
{
	computed++;
	return i * i + 7;
}

static __attribute__((noinline)) void place_order(long id, const char *customer, int cents)
{
	CW_TRACE(cwtest, order, id, customer, cents);
}

int main(void)
{
	char line[128];
	long sum = 0, tick = 0, orders = 0;

	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		long n;

		if (sscanf(line, "fire %ld", &n) == 1) {
			for (long i = 0; i < n; i++, tick++) {
				CW_TRACE(cwtest, tick, tick, cost_of(tick));
				sum += tick;
			}
			printf("computed=%lu enabled=%d\n", computed,
			       CW_TRACE_ENABLED(cwtest, tick) ? 1 : 0);
		} else if (strncmp(line, "order", 5) == 0) {
			place_order(1000 + orders, "alice", 1999);
			orders++;
			printf("ordered=%ld\n", orders);
		} else if (strncmp(line, "enabled", 7) == 0) {
			printf("tick=%d order=%d\n", CW_TRACE_ENABLED(cwtest, tick) ? 1 : 0,
			       CW_TRACE_ENABLED(cwtest, order) ? 1 : 0);
		} else if (strncmp(line, "quit", 4) == 0) {
			break;
		}
		CW_TRACE(cwtest, idle);
		fflush(stdout);
	}
	printf("sum=%ld orders=%ld\n", sum, orders);
	return 0;
}
