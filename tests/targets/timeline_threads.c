// SPDX-License-Identifier: MIT
/*
 * Threads doing known things in known functions, for the timeline tests,
 * each named after what it does:
 *   spinner   spins on the CPU in spin_in_known_function
 *   locked    blocks on a mutex main holds, in wait_on_the_lock
 *   piped     blocks reading a pipe nobody writes to, in read_the_pipe
 *   napper    naps 1 ms at a time, in nap_in_short_sleeps
 *   alternate spins 30 ms in work_a_while, then sleeps 30 ms in rest_a_while
 * Main holds the lock and waits in main_waits.  Prints its tids and
 * "ready=1" once every thread is at it.  With argv[1] = N, crashes (NULL
 * dereference in crash_now) after N milliseconds.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "target.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t started;
static int never[2];
static volatile unsigned long sink;

NOINLINE static void spin_in_known_function(void)
{
	for (;;)
		sink++;
}

NOINLINE static void wait_on_the_lock(void)
{
	pthread_mutex_lock(&lock);
	pthread_mutex_unlock(&lock);
}

NOINLINE static void read_the_pipe(void)
{
	char c;

	while (read(never[0], &c, 1) != 0)
		;
}

NOINLINE static void nap_in_short_sleeps(void)
{
	const struct timespec ms = {0, 1000000};

	for (;;)
		nanosleep(&ms, NULL);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

NOINLINE static void work_a_while(void)
{
	uint64_t end = now_ns() + 30000000;

	while (now_ns() < end)
		sink++;
}

NOINLINE static void rest_a_while(void)
{
	const struct timespec ms30 = {0, 30000000};

	nanosleep(&ms30, NULL);
}

static void *run(void *arg)
{
	const char *name = arg;

	pthread_setname_np(pthread_self(), name);
	printf("%s_tid=%ld\n", name, (long)syscall(SYS_gettid));
	fflush(stdout);
	pthread_barrier_wait(&started);
	switch (name[0]) {
	case 's':
		spin_in_known_function();
		break;
	case 'l':
		wait_on_the_lock();
		break;
	case 'p':
		read_the_pipe();
		break;
	case 'n':
		nap_in_short_sleeps();
		break;
	case 'a':
		for (;;) {
			work_a_while();
			rest_a_while();
		}
	}
	return NULL;
}

NOINLINE static void crash_now(void)
{
	*(volatile int *)0 = 1;
}

NOINLINE static void main_waits(long crash_ms)
{
	if (crash_ms > 0) {
		struct timespec t = {crash_ms / 1000, (crash_ms % 1000) * 1000000};

		nanosleep(&t, NULL);
		crash_now();
	}
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"spinner", "locked", "piped", "napper", "alternate"};
	long crash_ms = argc > 1 ? atol(argv[1]) : 0;
	pthread_t t;

	if (pipe(never) < 0)
		return 1;
	pthread_mutex_lock(&lock);
	pthread_barrier_init(&started, NULL, 6);
	target_hello();
	for (int i = 0; i < 5; i++)
		if (pthread_create(&t, NULL, run, (void *)names[i]) != 0)
			return 1;
	pthread_barrier_wait(&started);
	target_say("ready", 1);
	main_waits(crash_ms);
	return 0;
}
