// SPDX-License-Identifier: MIT
/*
 * A program with trace events of its own (include/crashwatch/trace.h), driven
 * line by line on stdin so a test decides when they fire:
 *   fire N   N tick events, then "computed=C enabled=E" (C: how often the
 *            tick's costly argument was computed; E: its semaphore set now)
 *   order    one order event (a string argument)
 *   work MS  a thread "worker" fires an order event, spins MS ms in
 *            spin_in_work, fires 3 tick events and ends; then
 *            "tid=T computed=C"
 *   enabled  "tick=E order=E": which semaphores are set
 *   quit     "sum=S orders=O", exit 0
 * It prints "pid=PID" first.  Its results never depend on what is attached,
 * but computed= does: an argument is computed only while an event is traced.
 */
#include <crashwatch/trace.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

CW_TRACE_EVENT(cwtest, tick, "i,cost");
CW_TRACE_EVENT(cwtest, order, "id,customer:str,cents");
CW_TRACE_EVENT(cwtest, idle, "");

static unsigned long computed;
static long tick, orders;

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

/* The one place a tick fires: one probe site, whichever thread fires it. */
static __attribute__((noinline)) long fire_ticks(long n)
{
	long sum = 0;

	for (long i = 0; i < n; i++, tick++) {
		CW_TRACE(cwtest, tick, tick, cost_of(tick));
		sum += tick;
	}
	return sum;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static __attribute__((noinline)) void spin_in_work(long ms)
{
	double until = now_ms() + (double)ms;

	while (now_ms() < until)
		;
}

struct work {
	long ms;
	long tid;
};

static void *worker(void *arg)
{
	struct work *w = arg;

	pthread_setname_np(pthread_self(), "worker");
	w->tid = (long)syscall(SYS_gettid);
	place_order(1000 + orders, "bob", 250);
	orders++;
	spin_in_work(w->ms);
	fire_ticks(3);
	return NULL;
}

int main(void)
{
	char line[128];
	long sum = 0;

	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		long n;

		if (sscanf(line, "fire %ld", &n) == 1) {
			sum += fire_ticks(n);
			printf("computed=%lu enabled=%d\n", computed,
			       CW_TRACE_ENABLED(cwtest, tick) ? 1 : 0);
		} else if (strncmp(line, "order", 5) == 0) {
			place_order(1000 + orders, "alice", 1999);
			orders++;
			printf("ordered=%ld\n", orders);
		} else if (sscanf(line, "work %ld", &n) == 1) {
			struct work w = {.ms = n, .tid = 0};
			pthread_t th;

			if (pthread_create(&th, NULL, worker, &w) != 0 ||
			    pthread_join(th, NULL) != 0)
				return 1;
			printf("tid=%ld computed=%lu\n", w.tid, computed);
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
