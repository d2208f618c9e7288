// SPDX-License-Identifier: MIT
/*
 * The integration tests' coredump-socket server: what the watcher does with
 * user/coredump_socket.h, in one small program.  For each dump: accept,
 * start the snapshot tool in --at-exit mode, answer once every thread is
 * seized, hand the core to the previous consumer, close, collect the tool.
 *
 *   coredump_serve --probe
 *   coredump_serve SOCKET TOOL OUTDIR [PREVIOUS|--drop] [COUNT]
 *
 * One line per event on stdout ("ready", "accepted ...", "answered ...",
 * "snapshot ..."); exits 0 when every dump was held and snapshotted.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coredump_socket.h"

#define SEIZE_TIMEOUT_MS 2000
#define TOOL_TIMEOUT_S	 20

extern char **environ;

/* The tool, its stdout on a pipe, a second pipe as fd 3 for its "seized" byte. */
static int start_tool(const char *tool, const char *dir, const struct cw_coredump_conn *c,
		      pid_t *child, int *out, int *seized)
{
	char fault[32], sig[32], output[4200], timeout[32], pid[16];
	char *argv[] = {(char *)tool,	 fault, output, timeout, "--at-exit",
			"--seized-fd=3", pid,	NULL,	NULL};
	int o[2], s[2], r;
	posix_spawn_file_actions_t fa;

	snprintf(fault, sizeof(fault), "--fault-thread=%d", (int)c->tid);
	snprintf(sig, sizeof(sig), "--signal=%d", c->sig);
	snprintf(output, sizeof(output), "--output=%s", dir);
	snprintf(timeout, sizeof(timeout), "--timeout=%d", TOOL_TIMEOUT_S);
	snprintf(pid, sizeof(pid), "%d", (int)c->pid);
	/* Linux 6.18 does not say which signal: the tool then goes without. */
	if (c->sig > 0) {
		argv[6] = sig;
		argv[7] = pid;
	}
	if (pipe2(o, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(s, O_CLOEXEC) < 0) {
		r = -errno;
		close(o[0]);
		close(o[1]);
		return r;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, o[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, s[1], 3);
	r = -posix_spawn(child, tool, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(o[1]);
	close(s[1]);
	*out = o[0];
	*seized = s[0];
	return r;
}

static const char *mode_name(uint64_t m)
{
	return m & CW_COREDUMP_KERNEL	   ? "kernel"
	       : m & CW_COREDUMP_USERSPACE ? "userspace"
					   : "reject";
}

static int serve_one(int lfd, const char *tool, const char *dir, const char *previous, bool drop)
{
	struct cw_coredump_conn c;
	char err[512], path[4096] = "";
	pid_t tool_pid = -1, consumer = -1;
	int out = -1, seized = -1, st = 0, r, consumer_status = -1;
	enum cw_coredump_mode mode;
	struct pollfd p;
	ssize_t n;

	r = cw_coredump_socket_accept(lfd, &c, err, sizeof(err));
	if (r < 0) {
		printf("refused %s\n", err);
		return r;
	}
	printf("accepted pid=%d tid=%d sig=%d uid=%d req_size=%u req_size_ack=%u req_mask=0x%llx\n",
	       (int)c.pid, (int)c.tid, c.sig, (int)c.uid, c.req.size, c.req.size_ack,
	       (unsigned long long)c.req.mask);
	fflush(stdout);
	r = start_tool(tool, dir, &c, &tool_pid, &out, &seized);
	if (r == 0) {
		/* The dump waits for our answer: seize first, so every thread stops at its exit. */
		p = (struct pollfd){seized, POLLIN, 0};
		if (poll(&p, 1, SEIZE_TIMEOUT_MS) <= 0)
			printf("not seized within %d ms, answering anyway\n", SEIZE_TIMEOUT_MS);
	}
	mode = cw_coredump_socket_mode_for(&c, previous, drop);
	r = cw_coredump_socket_answer(&c, mode);
	printf("answered mode=%s wait=%d r=%d mark=%u\n", mode_name(mode),
	       !!(mode & CW_COREDUMP_WAIT), r, c.mark);
	fflush(stdout);
	if (r == 0 && (mode & CW_COREDUMP_KERNEL)) {
		if (cw_coredump_socket_forward(&c, previous, &consumer, err, sizeof(err)) < 0) {
			printf("forward failed: %s\n", err);
			cw_coredump_socket_drain(&c);
		}
	}
	/* Our copy of the stream goes; the kernel's WAIT ends when the consumer's does too. */
	cw_coredump_conn_close(&c);
	if (consumer > 0 && waitpid(consumer, &consumer_status, 0) == consumer)
		printf("consumer status=%d\n",
		       WIFEXITED(consumer_status) ? WEXITSTATUS(consumer_status) : -1);
	if (tool_pid > 0) {
		n = read(out, path, sizeof(path) - 1);
		path[n > 0 ? n : 0] = '\0';
		path[strcspn(path, "\n")] = '\0';
		waitpid(tool_pid, &st, 0);
		printf("snapshot tool_status=%d path=%s\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1,
		       path);
	}
	if (out >= 0)
		close(out);
	if (seized >= 0)
		close(seized);
	fflush(stdout);
	return r < 0 ? r : (WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO);
}

int main(int argc, char **argv)
{
	const char *previous = NULL;
	char err[512];
	bool drop = false;
	int lfd, count = 1, r = 0;

	/* A server that dumps core into its own socket would wait for itself. */
	prctl(PR_SET_DUMPABLE, 0);
	if (argc == 2 && strcmp(argv[1], "--probe") == 0) {
		r = cw_coredump_socket_supported();
		printf("%d\n", r);
		return r < 0 ? 1 : 0;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: %s SOCKET TOOL OUTDIR [PREVIOUS|--drop] [COUNT]\n",
			argv[0]);
		return 2;
	}
	if (argc > 4) {
		drop = strcmp(argv[4], "--drop") == 0;
		previous = drop || !argv[4][0] ? NULL : argv[4];
	}
	if (argc > 5)
		count = atoi(argv[5]);
	/* Never outlive the test that started us. */
	alarm(60);
	lfd = cw_coredump_socket_listen(argv[1], err, sizeof(err));
	if (lfd < 0) {
		fprintf(stderr, "coredump_serve: %s\n", err);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < count; i++)
		if (serve_one(lfd, argv[2], argv[3], previous, drop) < 0)
			r = -1;
	close(lfd);
	unlink(argv[1]);
	return r < 0 ? 1 : 0;
}
