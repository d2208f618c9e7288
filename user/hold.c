// SPDX-License-Identifier: MIT
#include "hold.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc_maps.h"

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int cw_default_snapshot_tool(char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0)
		return -errno;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	if ((size_t)snprintf(out, cap, "%s/crashwatch-snapshot", self) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int cw_make_dir(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The process is in a group stop (SIGSTOP delivered), within a short bound. */
static bool wait_stopped(pid_t pid, double until_ms)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	while (now_ms() < until_ms) {
		FILE *f = fopen(path, "re");
		size_t n;

		if (!f)
			return false;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (p && p[1] == ' ' && (p[2] == 'T'))
			return true;
		if (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'))
			return false;
		usleep(50);
	}
	return false;
}

static void registry_add(const char *registry, const struct cw_signal_event *ev)
{
	FILE *f = registry ? fopen(registry, "ae") : NULL;

	if (!f)
		return;
	fprintf(f, "%u %" PRIu64 "\n", ev->task.pid, (uint64_t)ev->task.start_boottime);
	fflush(f);
	fsync(fileno(f));
	fclose(f);
}

/* Holds are one at a time: the registry is emptied once a hold is over. */
static void registry_clear(const char *registry)
{
	if (registry)
		unlink(registry);
}

int cw_hold_recover(const char *registry)
{
	FILE *f = fopen(registry, "re");
	unsigned pid;
	uint64_t start;
	int n = 0;

	if (!f)
		return 0;
	while (fscanf(f, "%u %" SCNu64, &pid, &start) == 2)
		if (cw_proc_is_same((pid_t)pid, start) && kill((pid_t)pid, SIGCONT) == 0)
			n++;
	fclose(f);
	unlink(registry);
	return n;
}

static int spawn_tool(const struct cw_hold_config *c, const struct cw_signal_event *ev, int out_fd,
		      pid_t *child)
{
	char a_fault[32], a_sig[32], a_code[32], a_addr[48], a_sender[32], a_out[PATH_MAX + 16],
		a_timeout[32], a_pid[16];
	char *argv[12];
	posix_spawn_file_actions_t fa;
	int i = 0, r;

	snprintf(a_fault, sizeof(a_fault), "--fault-thread=%u", ev->task.tid);
	snprintf(a_sig, sizeof(a_sig), "--signal=%d", ev->sig);
	snprintf(a_code, sizeof(a_code), "--si-code=%d", ev->si_code);
	snprintf(a_addr, sizeof(a_addr), "--fault-addr=0x%" PRIx64, (uint64_t)ev->fault_addr);
	snprintf(a_sender, sizeof(a_sender), "--sender=%u", ev->sender_pid);
	snprintf(a_out, sizeof(a_out), "--output=%s", c->dir);
	snprintf(a_timeout, sizeof(a_timeout), "--timeout=%u", c->timeout_s);
	snprintf(a_pid, sizeof(a_pid), "%u", ev->task.pid);
	argv[i++] = (char *)c->tool;
	argv[i++] = a_fault;
	argv[i++] = a_sig;
	/* At abort()'s entry SIGABRT is not raised yet: there is no siginfo. */
	if (!(ev->flags & CW_SIG_AT_ABORT))
		argv[i++] = a_code;
	if (!(ev->flags & (CW_SIG_FROM_PROCESS | CW_SIG_AT_ABORT)))
		argv[i++] = a_addr;
	/* Held at generation: the code is the one kill() gives (SI_USER). */
	if (ev->sender_pid)
		argv[i++] = a_sender;
	argv[i++] = a_out;
	argv[i++] = a_timeout;
	argv[i++] = a_pid;
	argv[i] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	r = posix_spawn(child, c->tool, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

int cw_hold_snapshot(const struct cw_hold_config *c, const struct cw_signal_event *ev,
		     struct cw_hold_result *r)
{
	double t0 = now_ms(), deadline = t0 + c->timeout_s * 1e3;
	pid_t pid = (pid_t)ev->task.pid, child = -1;
	int pipefd[2] = {-1, -1}, err = 0, st;
	size_t got = 0;

	memset(r, 0, sizeof(*r));
	r->tool_status = -1;
	registry_add(c->registry, ev);
	/* The SIGSTOP lands a few µs to ms after delivery (irq_work). */
	if (!wait_stopped(pid, t0 + 500)) {
		err = -ESRCH;
		goto release;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		err = -errno;
		goto release;
	}
	err = spawn_tool(c, ev, pipefd[1], &child);
	close(pipefd[1]);
	pipefd[1] = -1;
	if (err < 0)
		goto release;
	for (;;) {
		struct pollfd p = {pipefd[0], POLLIN, 0};
		int left = (int)(deadline - now_ms());
		ssize_t n;

		if (left <= 0) {
			r->timed_out = true;
			kill(child, SIGKILL);
			break;
		}
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			break;
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		n = read(pipefd[0], r->path + got, sizeof(r->path) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	r->path[got] = '\0';
	r->path[strcspn(r->path, "\n")] = '\0';
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st))
		r->tool_status = WEXITSTATUS(st);
	if (r->tool_status != 0 || r->timed_out)
		r->path[0] = '\0';

release:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	/* Only the process that was held: the pid may name another one by now. */
	if (cw_proc_is_same(pid, ev->task.start_boottime))
		kill(pid, SIGCONT);
	registry_clear(c->registry);
	r->held_ms = now_ms() - t0;
	return err;
}
