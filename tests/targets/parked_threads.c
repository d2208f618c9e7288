// SPDX-License-Identifier: MIT
/*
 * N threads (argv[1], default 8, the main thread included) parked for good
 * in known call chains: workers in park_worker → chain_one → chain_two →
 * chain_three → read(), main in main → park_main → read().  Prints its tids
 * and "ready=1" once every thread is parked.
 */
#include <pthread.h>
#include <stdlib.h>

#include "target.h"

static int never[2]; /* a pipe nobody writes to */
static pthread_barrier_t parked;

NOINLINE static void chain_three(void)
{
	char c;

	pthread_barrier_wait(&parked);
	while (read(never[0], &c, 1) != 0)
		;
}

NOINLINE static void chain_two(void)
{
	chain_three();
	__asm__ volatile(""); /* keep the call from becoming a tail call */
}

NOINLINE static void chain_one(void)
{
	chain_two();
	__asm__ volatile("");
}

static void *park_worker(void *arg)
{
	(void)arg;
	target_say("worker_tid", (unsigned long long)syscall(SYS_gettid));
	chain_one();
	return NULL;
}

NOINLINE static void park_main(void)
{
	char c;

	pthread_barrier_wait(&parked);
	target_say("ready", 1);
	while (read(never[0], &c, 1) != 0)
		;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 8;
	pthread_t t;

	if (n < 1 || pipe(never) < 0)
		return 1;
	target_hello();
	pthread_barrier_init(&parked, NULL, (unsigned)n);
	for (int i = 1; i < n; i++)
		if (pthread_create(&t, NULL, park_worker, NULL) != 0)
			return 1;
	park_main();
	return 0;
}
