// SPDX-License-Identifier: MIT
/* A NULL pointer dereference in one worker while 4 others are blocked. */
#include <pthread.h>
#include <stddef.h>

#include "target.h"

#define WORKERS 5

static pthread_barrier_t started;
static pthread_mutex_t never = PTHREAD_MUTEX_INITIALIZER;

NOINLINE void worker_crash(volatile int *p)
{
	target_say("crash_tid", (unsigned long long)syscall(SYS_gettid));
	*p = 42;
}

static void *worker(void *arg)
{
	long index = (long)arg;

	pthread_barrier_wait(&started);
	if (index == 2)
		worker_crash(NULL);
	pthread_mutex_lock(&never); /* held by main: blocks for good */
	return NULL;
}

int main(void)
{
	pthread_t t[WORKERS];

	target_hello();
	pthread_mutex_lock(&never);
	pthread_barrier_init(&started, NULL, WORKERS + 1);
	for (long i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	pthread_barrier_wait(&started);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	return 0;
}
