// SPDX-License-Identifier: MIT
#include "hold_watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hold_registry.h"

static _Noreturn void watchdog_main(int lifeline, const char *registry)
{
	struct sigaction ign = {.sa_handler = SIG_IGN};
	char b;
	int n;

	/* Ctrl-C or a TERM to the group is the watcher's to handle: it releases its own holds. */
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGTERM, &ign, NULL);
	sigaction(SIGHUP, &ign, NULL);
	sigaction(SIGUSR1, &ign, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	prctl(PR_SET_NAME, "cw-watchdog");
	if (dup2(lifeline, 3) < 0)
		_exit(1);
	/* Nothing of the watcher's (its core socket, its listeners) stays open here. */
	close_range(4, ~0U, 0);
	for (;;) {
		struct pollfd p = {3, POLLIN, 0};

		if (poll(&p, 1, 500) < 0 && errno != EINTR)
			_exit(1);
		if (p.revents && read(3, &b, 1) <= 0)
			break;
		n = cw_registry_release(registry,
					cw_boottime_ns() - CW_WATCHDOG_GRACE_MS * 1000000ULL, 0);
		if (n > 0)
			fprintf(stderr,
				"crashwatch: watchdog released %d process(es) held past the "
				"deadline\n",
				n);
	}
	n = cw_registry_release(registry, UINT64_MAX, 1);
	if (n > 0)
		fprintf(stderr,
			"crashwatch: watchdog released %d process(es) the watcher held when it "
			"ended\n",
			n);
	_exit(0);
}

int cw_hold_watchdog_start(struct cw_hold_watchdog *wd, const char *registry)
{
	int p[2];
	pid_t pid;

	wd->lifeline = -1;
	wd->pid = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid == 0) {
		close(p[1]);
		watchdog_main(p[0], registry);
	}
	close(p[0]);
	wd->lifeline = p[1];
	wd->pid = pid;
	return 0;
}

void cw_hold_watchdog_stop(struct cw_hold_watchdog *wd)
{
	if (wd->lifeline >= 0)
		close(wd->lifeline);
	if (wd->pid > 0)
		while (waitpid(wd->pid, NULL, 0) < 0 && errno == EINTR)
			;
	wd->lifeline = -1;
	wd->pid = -1;
}
