// SPDX-License-Identifier: MIT
#include "core_handler.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "core_call_protocol.h"
#include "core_install.h"
#include "core_pattern.h"

#define ANSWER_TIMEOUT_S 5

static long num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end ? v : -1;
}

/* Ask the watcher to seize pid; it answers once it has (or does not answer). */
static void tell_watcher(const struct cw_core_info *ci)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = ANSWER_TIMEOUT_S};
	char msg[CW_CORE_CALL_MAX], answer[8];
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", CW_CORE_SOCKET);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (cw_core_call_format(msg, sizeof(msg), ci->global_pid, ci->global_tid, ci->sig) > 0 &&
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    send(fd, msg, strlen(msg), 0) > 0) {
		if (recv(fd, answer, sizeof(answer), 0) < 0) {
			/* no answer in time: go on */
		}
	}
	close(fd);
}

static void drain(int in)
{
	char buf[65536];

	while (read(in, buf, sizeof(buf)) > 0)
		;
}

int cw_core_write_file(int in, const char *pattern, const struct cw_core_info *ci)
{
	char path[4096], cwd[64], buf[65536];
	long long left = ci->limit;
	int dir = AT_FDCWD, fd, uses_pid = 0, e, r = 0;
	FILE *f;

	/* RLIMIT_CORE 0 (and 1, the kernel's marker for pipes) means no core file. */
	if (ci->limit >= 0 && ci->limit <= 1)
		return 0;
	if (cw_core_expand(pattern, ci, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	f = fopen("/proc/sys/kernel/core_uses_pid", "re");
	if (f) {
		if (fscanf(f, "%d", &uses_pid) != 1)
			uses_pid = 0;
		fclose(f);
	}
	if (uses_pid && !strstr(pattern, "%p"))
		snprintf(path + strlen(path), sizeof(path) - strlen(path), ".%ld", ci->pid);
	if (path[0] != '/') {
		/* Relative to the dumping process's directory: it is still there while we run. */
		snprintf(cwd, sizeof(cwd), "/proc/%ld/cwd", ci->global_pid);
		dir = open(cwd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dir < 0)
			return -errno;
	}
	fd = openat(dir, path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	e = errno;
	if (dir >= 0)
		close(dir);
	if (fd < 0)
		return -e;
	if (fchown(fd, (uid_t)ci->uid, (gid_t)ci->gid) < 0) {
		/* root keeps it */
	}
	for (;;) {
		size_t want = sizeof(buf);
		ssize_t n;

		if (left >= 0 && (long long)want > left)
			want = (size_t)left;
		if (want == 0)
			break;
		n = read(in, buf, want);
		if (n < 0)
			r = -errno;
		else if (n > 0 && write(fd, buf, (size_t)n) != n)
			r = -(errno ? errno : EIO);
		if (n <= 0 || r < 0)
			break;
		if (left >= 0)
			left -= n;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* Send the stream where the previous core_pattern would have. */
static void forward(const struct cw_core_info *ci)
{
	char previous[256], buf[2048], *argv[CW_CORE_MAX_ARGS + 1];

	/* `crashwatch watch --drop-cores`: the snapshot is all that is kept. */
	if (access(CW_CORE_DROP, F_OK) == 0)
		return;
	if (cw_core_previous(previous, sizeof(previous)) < 0 || !previous[0])
		return;
	if (previous[0] == '|') {
		if (cw_core_pipe_argv(previous, ci, buf, sizeof(buf), argv) < 0 ||
		    strstr(previous, CW_CORE_HANDLER_MARK))
			return;
		/* The previous handler reads the rest of the stream as we would. */
		execv(argv[0], argv);
		return;
	}
	cw_core_write_file(STDIN_FILENO, previous, ci);
}

int cw_core_handler_main(int argc, char **argv)
{
	struct cw_core_info ci = {0};

	/* The handler never handles a crash of its own. */
	prctl(PR_SET_DUMPABLE, 0);
	if (argc >= 12) {
		ci.global_pid = num(argv[1]);
		ci.global_tid = num(argv[2]);
		ci.sig = (int)num(argv[3]);
		ci.limit = strcmp(argv[4], "18446744073709551615") == 0 ? -1 : num(argv[4]);
		ci.pid = num(argv[5]);
		ci.tid = num(argv[6]);
		ci.uid = num(argv[7]);
		ci.gid = num(argv[8]);
		ci.time = num(argv[9]);
		ci.host = argv[10];
		ci.comm = argv[11];
		if (ci.global_pid > 0)
			tell_watcher(&ci);
		forward(&ci);
	}
	/* Whatever was not taken: the dump finishes and the process is released. */
	drain(STDIN_FILENO);
	return 0;
}
