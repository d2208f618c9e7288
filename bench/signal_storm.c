// SPDX-License-Identifier: MIT
/* Signal storm: one process sends itself N SIGUSR1, each run by a handler. Prints ns/signal. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
	struct sigaction sa = {.sa_handler = on_usr1};
	struct timespec a, b;
	pid_t self = getpid();

	sigaction(SIGUSR1, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		kill(self, SIGUSR1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (handled != n) {
		fprintf(stderr, "signal_storm: %ld sent, %ld handled\n", n, (long)handled);
		return 1;
	}
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
