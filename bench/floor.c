// SPDX-License-Identifier: MIT
/* Attach bench/floor.bpf.c's empty programs until SIGTERM; says "attached" on stderr. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "floor.skel.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	struct sigaction sa = {.sa_handler = on_term};
	struct floor_bpf *skel;
	int err = 1;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	skel = floor_bpf__open_and_load();
	if (!skel || floor_bpf__attach(skel)) {
		fprintf(stderr, "floor: failed to load or attach the empty programs\n");
		goto cleanup;
	}
	fprintf(stderr, "attached\n");
	while (!stop)
		pause();
	err = 0;
cleanup:
	floor_bpf__destroy(skel);
	return err;
}
