// SPDX-License-Identifier: MIT
/*
 * Attach bench/floor.bpf.c's empty programs until SIGTERM; says "attached" on stderr.
 * With LIB:FUNCTION, also its empty uprobe at FUNCTION's entry in LIB: what a uprobe
 * there costs each call (bench/cxx_throw.sh: on __cxa_throw).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "floor.skel.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_term};
	struct bpf_link *uprobe = NULL;
	struct floor_bpf *skel;
	char lib[4096], *fn;
	int err = 1;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	skel = floor_bpf__open_and_load();
	if (!skel || floor_bpf__attach(skel)) {
		fprintf(stderr, "floor: failed to load or attach the empty programs\n");
		goto cleanup;
	}
	if (argc > 1) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts);

		snprintf(lib, sizeof(lib), "%s", argv[1]);
		fn = strchr(lib, ':');
		if (!fn) {
			fprintf(stderr, "floor: give LIB:FUNCTION, not %s\n", argv[1]);
			goto cleanup;
		}
		*fn++ = '\0';
		opts.func_name = fn;
		uprobe = bpf_program__attach_uprobe_opts(skel->progs.floor_uprobe, -1, lib, 0,
							 &opts);
		if (!uprobe) {
			fprintf(stderr, "floor: failed to attach a uprobe to %s in %s: %s\n", fn,
				lib, strerror(errno));
			goto cleanup;
		}
	}
	fprintf(stderr, "attached\n");
	while (!stop)
		pause();
	err = 0;
cleanup:
	bpf_link__destroy(uprobe);
	floor_bpf__destroy(skel);
	return err;
}
