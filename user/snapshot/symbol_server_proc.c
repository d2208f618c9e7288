// SPDX-License-Identifier: MIT
#include "symbol_server_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "debug_dirs.h"

extern char **environ;

static int64_t ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

static bool accepts(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Reap pid within ms, else SIGKILL it and reap.  The status as waitpid gives it. */
static int reap(pid_t pid, long ms)
{
	struct timespec t0;
	int status = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ms_since(&t0) < ms) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			return status;
		sleep_ms(5);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static void close_lifeline(struct cw_symbol_server *s)
{
	if (s->lifeline >= 0)
		close(s->lifeline);
	s->lifeline = -1;
}

/* Spawn and wait for the socket; the paths are already s's.  0 or -errno, said. */
static int spawn(struct cw_symbol_server *s)
{
	char server_arg[4200], cache_arg[64];
	char *argv[4 + 2 * CW_MAX_DEBUG_DIRS] = {s->tool_path, server_arg};
	int argc = 2;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	int pipefd[2], r, status;
	pid_t pid;

	if ((size_t)snprintf(server_arg, sizeof(server_arg), "--symbol-server=%s", s->sock_path) >=
	    sizeof(server_arg)) {
		fprintf(stderr, "crashwatch: failed to start the symbol server: %s\n",
			strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	snprintf(cache_arg, sizeof(cache_arg), "--symbol-cache-bytes=%" PRIu64, s->cache_bytes);
	if (s->cache_bytes)
		argv[argc++] = cache_arg;
	for (unsigned k = 0; k < s->n_debug_dirs && k < CW_MAX_DEBUG_DIRS; k++) {
		argv[argc++] = "--debug-dir";
		argv[argc++] = (char *)s->debug_dirs[k];
	}
	clock_gettime(CLOCK_MONOTONIC, &s->last_start); /* a failed start counts for the rate */
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		r = -errno;
		fprintf(stderr, "crashwatch: failed to create the symbol server's lifeline: %s\n",
			strerror(-r));
		return r;
	}
	/* The daemon's blocked or ignored signals are not the server's. */
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGHUP);
	sigaddset(&defaults, SIGPIPE);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	/* dup2 clears close-on-exec on the copy: the server's stdin alone is inherited. */
	r = posix_spawn_file_actions_init(&fa);
	if (r == 0)
		r = posix_spawn_file_actions_adddup2(&fa, pipefd[0], STDIN_FILENO);
	if (r == 0)
		r = posix_spawn(&pid, s->tool_path, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pipefd[0]);
	if (r != 0) {
		close(pipefd[1]);
		fprintf(stderr, "crashwatch: failed to start the symbol server %s: %s\n",
			s->tool_path, strerror(r));
		return -r;
	}
	s->pid = pid;
	s->lifeline = pipefd[1];
	while (!accepts(s->sock_path)) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			s->pid = 0;
			close_lifeline(s);
			fprintf(stderr,
				"crashwatch: failed to start the symbol server on %s: it exited "
				"(%s %d)\n",
				s->sock_path, WIFSIGNALED(status) ? "signal" : "status",
				WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			return -ECHILD;
		}
		if (ms_since(&s->last_start) > CW_SYMBOL_SERVER_START_MS) {
			close_lifeline(s);
			reap(pid, 0);
			s->pid = 0;
			fprintf(stderr, "crashwatch: failed to start the symbol server on %s: %s\n",
				s->sock_path, strerror(ETIMEDOUT));
			return -ETIMEDOUT;
		}
		sleep_ms(5);
	}
	return 0;
}

int cw_symbol_server_start(struct cw_symbol_server *s, const char *tool_path, const char *sock_path,
			   uint64_t cache_bytes, const char *const *debug_dirs,
			   unsigned n_debug_dirs)
{
	int r;

	*s = (struct cw_symbol_server){.lifeline = -1,
				       .cache_bytes = cache_bytes,
				       .debug_dirs = debug_dirs,
				       .n_debug_dirs = n_debug_dirs};
	s->tool_path = strdup(tool_path);
	s->sock_path = strdup(sock_path);
	if (!s->tool_path || !s->sock_path) {
		fprintf(stderr, "crashwatch: failed to start the symbol server: %s\n",
			strerror(ENOMEM));
		cw_symbol_server_stop(s);
		return -ENOMEM;
	}
	r = spawn(s);
	if (r < 0)
		cw_symbol_server_stop(s);
	return r;
}

bool cw_symbol_server_alive(struct cw_symbol_server *s)
{
	int status;

	if (s->pid > 0 && waitpid(s->pid, &status, WNOHANG) == s->pid) {
		fprintf(stderr, "crashwatch: symbol server %d ended (%s %d), starting it again\n",
			(int)s->pid, WIFSIGNALED(status) ? "signal" : "status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		s->pid = 0;
		close_lifeline(s);
	}
	if (s->pid > 0)
		return true;
	if (!s->tool_path || ms_since(&s->last_start) < CW_SYMBOL_SERVER_RESTART_MS)
		return false;
	if (spawn(s) < 0)
		return false;
	s->restarts++;
	return true;
}

void cw_symbol_server_stop(struct cw_symbol_server *s)
{
	close_lifeline(s);
	if (s->pid > 0)
		reap(s->pid, CW_SYMBOL_SERVER_STOP_MS);
	free(s->tool_path);
	free(s->sock_path);
	*s = (struct cw_symbol_server){.lifeline = -1};
}
