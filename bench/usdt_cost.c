// SPDX-License-Identifier: MIT
/*
 * What a trace event costs the program that fires it (make bench-usdt):
 * ns per loop iteration of a tight loop doing one addition, with nothing
 * else (the floor), with a CW_TRACE event (include/crashwatch/trace.h: a
 * semaphore test, the argument computed only when set), and with a raw
 * sys/sdt.h probe fired every time (its nop executed, its argument
 * computed: what a probe without a semaphore costs).  Each loop is run
 * ROUNDS times and the median kept.  With an argument N it instead loops
 * N times firing the CW_TRACE event and prints ns per iteration once, for
 * a run with a tracer attached (bench/usdt_cost.sh).
 * Usage: usdt_cost [ITERATIONS]
 */
#include <crashwatch/trace.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

CW_TRACE_EVENT(bench, tick, "i,cost");
/* The raw probe fires whatever its semaphore (needed by sys/sdt.h here) says. */
CW_TRACE_EVENT(bench, raw, "i,cost");

#define ROUNDS 9

static volatile uint64_t sink;

static __attribute__((noinline)) uint64_t cost_of(uint64_t i)
{
	return i * 2654435761u;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static __attribute__((noinline)) double floor_loop(uint64_t n)
{
	double t0 = now_ns();
	uint64_t s = 0;

	for (uint64_t i = 0; i < n; i++) {
		s += i;
		__asm__ volatile("" : "+r"(s));
	}
	sink = s;
	return (now_ns() - t0) / (double)n;
}

static __attribute__((noinline)) double trace_loop(uint64_t n)
{
	double t0 = now_ns();
	uint64_t s = 0;

	for (uint64_t i = 0; i < n; i++) {
		s += i;
		__asm__ volatile("" : "+r"(s));
		CW_TRACE(bench, tick, i, cost_of(i));
	}
	sink = s;
	return (now_ns() - t0) / (double)n;
}

static __attribute__((noinline)) double raw_loop(uint64_t n)
{
	double t0 = now_ns();
	uint64_t s = 0;

	for (uint64_t i = 0; i < n; i++) {
		s += i;
		__asm__ volatile("" : "+r"(s));
		STAP_PROBE2(bench, raw, i, cost_of(i));
	}
	sink = s;
	return (now_ns() - t0) / (double)n;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double (*loop)(uint64_t), uint64_t n)
{
	double v[ROUNDS];

	for (int r = 0; r < ROUNDS; r++)
		v[r] = loop(n);
	qsort(v, ROUNDS, sizeof(v[0]), cmp);
	return v[ROUNDS / 2];
}

int main(int argc, char **argv)
{
	uint64_t n = 200000000;

	if (argc > 1) {
		n = strtoull(argv[1], NULL, 10);
		printf("attached=%d ns_per_event=%.1f\n", CW_TRACE_ENABLED(bench, tick) ? 1 : 0,
		       trace_loop(n ? n : 1));
		return 0;
	}
	trace_loop(n / 10); /* warm up: frequency, caches */
	printf("floor_ns=%.3f\n", median(floor_loop, n));
	printf("cw_trace_unattached_ns=%.3f\n", median(trace_loop, n));
	printf("raw_sdt_probe_ns=%.3f\n", median(raw_loop, n));
	return 0;
}
