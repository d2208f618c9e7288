// SPDX-License-Identifier: MIT
/*
 * Starts N threads (argv[1], default 4) that spin, says "ready=1", and ends
 * the whole process with _exit(0) after argv[2] microseconds (default 2000):
 * a process that ends while a snapshot is being taken of it.
 */
#include <pthread.h>
#include <stdlib.h>

#include "target.h"

static void *spin(void *arg)
{
	(void)arg;
	for (;;)
		__asm__ volatile("pause");
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	long us = argc > 2 ? atol(argv[2]) : 2000;
	pthread_t t;

	for (int i = 1; i < n; i++)
		if (pthread_create(&t, NULL, spin, NULL) != 0)
			return 1;
	target_say("ready", 1);
	usleep((useconds_t)us);
	_exit(0);
}
