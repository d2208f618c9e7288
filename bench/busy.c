// SPDX-License-Identifier: MIT
/*
 * The recorded program of bench/timeline.py: THREADS threads working for
 * SECONDS, then "work=N" (chunks of arithmetic done, all threads) on stdout.
 *   spin: every thread computes all along (on the CPU, sampled);
 *   nap:  every thread computes ~20 µs, then sleeps 200 µs (a context switch
 *         each time: the sched_switch side's cost).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_bool done;
static atomic_ullong work;
static int nap;

static unsigned long long chunk(unsigned long long x)
{
	for (int i = 0; i < 2000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	return x;
}

static void *run(void *arg)
{
	unsigned long long x = (unsigned long long)(size_t)arg + 1, n = 0;
	const struct timespec pause = {0, 200000};

	while (!atomic_load_explicit(&done, memory_order_relaxed)) {
		x = chunk(x);
		n++;
		if (nap)
			nanosleep(&pause, NULL);
	}
	atomic_fetch_add(&work, n + (x == 42)); /* x used: the work is not optimised away */
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 2 ? atoi(argv[2]) : 0;
	double seconds = argc > 3 ? atof(argv[3]) : 0;
	struct timespec t = {0};
	pthread_t *tids;

	if (argc != 4 || (strcmp(argv[1], "spin") && strcmp(argv[1], "nap")) || threads < 1 ||
	    seconds <= 0) {
		fprintf(stderr, "usage: busy spin|nap THREADS SECONDS\n");
		return 2;
	}
	nap = strcmp(argv[1], "nap") == 0;
	tids = calloc((size_t)threads, sizeof(*tids));
	if (!tids)
		return 1;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, run, (void *)(size_t)i) != 0)
			return 1;
	t.tv_sec = (time_t)seconds;
	t.tv_nsec = (long)((seconds - (double)t.tv_sec) * 1e9);
	nanosleep(&t, NULL);
	atomic_store(&done, true);
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	printf("work=%llu\n", (unsigned long long)atomic_load(&work));
	return 0;
}
