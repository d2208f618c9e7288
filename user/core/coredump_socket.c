// SPDX-License-Identifier: MIT
#include "coredump_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core_handler.h"
#include "core_install.h"
#include "core_pattern.h"
#include "proc_dumping.h"
#include "proc_info.h"

/* Debian 12's headers predate these (asm-generic/socket.h, uapi/linux/pidfd.h). */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#define CW_PIDFD_INFO_COREDUMP	      (1ull << 4)
#define CW_PIDFD_INFO_COREDUMP_SIGNAL (1ull << 6) /* Linux 6.19 */
#define CW_PIDFD_COREDUMPED	      (1u << 0)

/*
 * uapi struct pidfd_info up to supported_mask (80 bytes, Linux 6.19; 6.18's
 * ends at coredump_mask and a spare, 72): the ioctl's size tells the kernel
 * how much we read, and only the fields its answer's mask names are trusted.
 */
struct cw_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
	uint32_t coredump_mask;
	uint32_t coredump_signal; /* __spare1 before 6.19 */
	uint64_t supported_mask;
};
_Static_assert(sizeof(struct cw_pidfd_info) == 80, "pidfd_info up to supported_mask is 80 bytes");
#define CW_PIDFD_GET_INFO _IOWR(0xFF, 11, struct cw_pidfd_info)

#define REQUEST_TIMEOUT_MS 1000 /* the kernel sends its request right after connect */
#define PATTERN_MAX	   128	/* CORENAME_MAX_SIZE */

int cw_coredump_req_parse(const void *buf, size_t len, struct cw_coredump_req *out)
{
	const uint64_t answers = CW_COREDUMP_KERNEL | CW_COREDUMP_USERSPACE | CW_COREDUMP_REJECT;
	struct cw_coredump_req r;

	if (len < CW_COREDUMP_REQ_SIZE_VER0)
		return -EBADMSG;
	memcpy(&r, buf, sizeof(r));
	if (r.size > CW_COREDUMP_REQ_SIZE_MAX)
		return -EMSGSIZE;
	if (r.size < CW_COREDUMP_REQ_SIZE_VER0 || r.size != len)
		return -EBADMSG;
	/* We only ever send a first-version ack; a kernel that reads less cannot take it. */
	if (r.size_ack < CW_COREDUMP_ACK_SIZE_VER0 || !(r.mask & answers))
		return -EPROTO;
	*out = r;
	return 0;
}

/* Write a sysctl as one write(2); 0 or -errno (the kernel refuses a bad pattern with EINVAL). */
static int write_pattern(const char *value)
{
	int fd = open(CW_CORE_PATTERN, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(value);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	e = errno;
	close(fd);
	return n == (ssize_t)len ? 0 : -(n < 0 ? e : EIO);
}

int cw_coredump_socket_supported(void)
{
	char saved[PATTERN_MAX + 2] = "";
	int taken_abs, taken_rel, r;
	FILE *f = fopen(CW_CORE_PATTERN, "re");

	if (!f)
		return -errno;
	if (!fgets(saved, sizeof(saved), f))
		saved[0] = '\0';
	fclose(f);
	saved[strcspn(saved, "\n")] = '\0';
	if (strncmp(saved, "@@/", 3) == 0)
		return 1; /* already a socket: nothing to try */
	/*
	 * A kernel before 6.16 takes any "@..." as a file name, 6.16 knows only
	 * "@/path", 6.17 and later "@@/path" too; both refuse a relative socket
	 * path.  So: "@@relative" refused (nothing changed) and "@@/abs" taken.
	 */
	taken_rel = write_pattern("@@relative") == 0;
	taken_abs = !taken_rel && write_pattern("@@" CW_STATE_DIR "/probe") == 0;
	if (!taken_rel && !taken_abs)
		return 0; /* left as it was: the kernel refused both */
	/* An empty pattern is written as a newline: the kernel strips it. */
	r = write_pattern(saved[0] ? saved : "\n");
	if (r < 0)
		return r;
	return taken_abs;
}

int cw_coredump_socket_listen(const char *path, char *err, size_t cap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;

	if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path) || strchr(path, ' ') ||
	    strstr(path, "..")) {
		snprintf(err, cap,
			 "failed to listen on %s: the kernel needs an absolute path without spaces "
			 "or \"..\", shorter than %zu bytes",
			 path, sizeof(sa.sun_path));
		return -EINVAL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (unlink(path) < 0 && errno != ENOENT) {
		r = -errno;
		snprintf(err, cap, "failed to remove %s: %s", path, strerror(-r));
		return r;
	}
	/* The kernel connects with SOCK_STREAM: another type fails its connect (EPROTOTYPE). */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, cap, "failed to create a unix socket: %s", strerror(-r));
		return r;
	}
	/*
	 * 0600 before anyone can connect: the kernel looks the path up with its
	 * own credentials, so no user needs write access to it.  The backlog
	 * matters: the kernel connects without waiting and a full queue loses
	 * the core ("receive queue full").
	 */
	if (fchmod(fd, 0600) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		snprintf(err, cap, "failed to listen on %s: %s", path, strerror(-r));
		close(fd);
		unlink(path);
		return r;
	}
	return fd;
}

static void set_recv_timeout(int fd, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		/* only a bound on a peer that stalls; reads still work */
	}
}

/* Read the kernel's request: its size first (peeked), then all of it. */
static int read_request(int fd, struct cw_coredump_req *req)
{
	uint32_t size;
	ssize_t n = recv(fd, &size, sizeof(size), MSG_PEEK | MSG_WAITALL);
	char *buf;
	int r;

	if (n < 0)
		return -errno;
	if (n != sizeof(size) || size < CW_COREDUMP_REQ_SIZE_VER0)
		return -EBADMSG;
	if (size > CW_COREDUMP_REQ_SIZE_MAX)
		return -EMSGSIZE;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	n = recv(fd, buf, size, MSG_WAITALL);
	r = n < 0 ? -errno : cw_coredump_req_parse(buf, (size_t)n, req);
	free(buf);
	return r;
}

int cw_coredump_socket_accept(int lfd, struct cw_coredump_conn *c, char *err, size_t cap)
{
	struct cw_pidfd_info info = {.mask = CW_PIDFD_INFO_COREDUMP |
					     CW_PIDFD_INFO_COREDUMP_SIGNAL};
	socklen_t len = sizeof(c->pidfd);
	int r;

	*c = (struct cw_coredump_conn)CW_COREDUMP_CONN_INIT;
	c->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c->fd < 0) {
		r = -errno;
		snprintf(err, cap, "failed to accept a core dump connection: %s", strerror(-r));
		return r;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERPIDFD, &c->pidfd, &len) < 0 ||
	    ioctl(c->pidfd, CW_PIDFD_GET_INFO, &info) < 0) {
		r = -errno;
		snprintf(err, cap, "failed to identify the core dump's process: %s", strerror(-r));
		goto fail;
	}
	/* Only the kernel's connection has a peer in the middle of its dump. */
	if (!(info.mask & CW_PIDFD_INFO_COREDUMP) || !(info.coredump_mask & CW_PIDFD_COREDUMPED)) {
		r = -EPERM;
		snprintf(err, cap,
			 "failed to accept a core dump from pid %u: it is not dumping core",
			 info.tgid);
		goto fail;
	}
	c->pid = (pid_t)info.tgid;
	c->uid = info.ruid;
	c->gid = info.rgid;
	c->dump_flags = info.coredump_mask;
	if (info.mask & CW_PIDFD_INFO_COREDUMP_SIGNAL)
		c->sig = (int)info.coredump_signal;
	set_recv_timeout(c->fd, REQUEST_TIMEOUT_MS);
	r = read_request(c->fd, &c->req);
	if (r < 0) {
		snprintf(err, cap, "failed to read the core dump request of pid %d: %s",
			 (int)c->pid, r == -EAGAIN ? "none within 1 s" : strerror(-r));
		goto fail;
	}
	/* Found while the dump waits for us: the threads cannot exit before the answer. */
	c->tid = cw_proc_dumping_thread(c->pid, 0);
	return 0;

fail:
	/* No ack: the kernel writes no core and lets the process die. */
	cw_coredump_conn_close(c);
	return r;
}

int cw_coredump_socket_answer(struct cw_coredump_conn *c, enum cw_coredump_mode mode)
{
	const uint64_t one_of = CW_COREDUMP_KERNEL | CW_COREDUMP_USERSPACE | CW_COREDUMP_REJECT;
	struct cw_coredump_ack ack = {.size = sizeof(ack), .mask = (uint64_t)mode};
	uint32_t mark;
	ssize_t n;

	if (c->fd < 0 || c->answered)
		return -EALREADY;
	if (__builtin_popcountll(ack.mask & one_of) != 1 ||
	    (ack.mask & ~(one_of | CW_COREDUMP_WAIT)))
		return -EINVAL;
	if ((ack.mask & ~c->req.mask) || sizeof(ack) > c->req.size_ack)
		return -EOPNOTSUPP;
	n = send(c->fd, &ack, sizeof(ack), MSG_NOSIGNAL);
	if (n != (ssize_t)sizeof(ack))
		return n < 0 ? -errno : -EIO;
	c->answered = ack.mask;
	n = recv(c->fd, &mark, sizeof(mark), MSG_WAITALL);
	if (n != (ssize_t)sizeof(mark))
		return n < 0 ? -errno : -EPROTO;
	c->mark = mark;
	/* From here on the stream is read at the kernel's pace, by us or a consumer. */
	set_recv_timeout(c->fd, 0);
	return mark == CW_COREDUMP_MARK_REQACK ? 0 : -EPROTO;
}

/* RLIMIT_CORE's soft limit from /proc/PID/limits: -1 unlimited, or bytes; 0 if unreadable. */
static long long core_limit(pid_t pid)
{
	char path[64], *text, *line;
	long long v = 0;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	text = cw_proc_read_file(AT_FDCWD, path, NULL);
	if (!text)
		return 0;
	line = strstr(text, "Max core file size");
	if (line) {
		line += strlen("Max core file size");
		line += strspn(line, " ");
		v = strncmp(line, "unlimited", 9) == 0 ? -1 : strtoll(line, NULL, 10);
	}
	free(text);
	return v;
}

enum cw_coredump_mode cw_coredump_socket_mode_for(const struct cw_coredump_conn *c,
						  const char *previous, bool drop)
{
	long long limit;

	if (drop || !previous || previous[0] == '@')
		return CW_COREDUMP_USERSPACE;
	/* WAIT: the process stays while the consumer reads, as core_pipe_limit made it. */
	if (previous[0] == '|')
		return CW_COREDUMP_KERNEL | CW_COREDUMP_WAIT;
	if (!previous[0])
		return CW_COREDUMP_REJECT; /* an empty file name: the kernel writes nothing */
	/* A file needs at least one page allowed (the ELF binfmt's min_coredump). */
	limit = core_limit(c->pid);
	if (limit >= 0 && limit < sysconf(_SC_PAGESIZE))
		return CW_COREDUMP_REJECT;
	return CW_COREDUMP_KERNEL | CW_COREDUMP_WAIT;
}

/* The last pid of an "NSpid:" line: the id in the process's own pid namespace. */
static long ns_pid(const char *status_path, long fallback)
{
	char *text = cw_proc_read_file(AT_FDCWD, status_path, NULL), *line, *last;
	long v = fallback;

	if (!text)
		return fallback;
	line = strstr(text, "\nNSpid:");
	if (line) {
		line[strcspn(line + 1, "\n") + 1] = '\0';
		last = strrchr(line, '\t');
		if (last)
			v = strtol(last + 1, NULL, 10);
	}
	free(text);
	return v;
}

/* What the kernel would have put in the previous pattern's specifiers. */
static void core_info_of(const struct cw_coredump_conn *c, struct cw_core_info *ci, char *comm,
			 size_t comm_cap, char *host, size_t host_cap)
{
	char path[96], *name;
	pid_t tid = c->tid ? c->tid : c->pid;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)c->pid, (int)tid);
	name = cw_proc_read_file(AT_FDCWD, path, NULL);
	snprintf(comm, comm_cap, "%s", name ? name : "");
	comm[strcspn(comm, "\n")] = '\0';
	free(name);
	/* Our own host name: the dumping process's UTS namespace is not looked into. */
	if (gethostname(host, host_cap) < 0)
		host[0] = '\0';
	host[host_cap - 1] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)c->pid);
	ci->pid = ns_pid(path, c->pid);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)c->pid, (int)tid);
	ci->tid = ns_pid(path, tid);
	ci->global_pid = c->pid;
	ci->global_tid = tid;
	ci->uid = c->uid;
	ci->gid = c->gid;
	ci->sig = c->sig;
	ci->time = (long long)time(NULL);
	ci->limit = core_limit(c->pid);
	ci->host = host;
	ci->comm = comm;
	ci->pidfd = c->pidfd >= 0;
}

/* A usermode helper's start: cwd /, the kernel's environment, nothing on stdout/stderr. */
static int spawn_pipe_consumer(const struct cw_coredump_conn *c, char *argv[], bool pidfd,
			       pid_t *child)
{
	static char *envp[] = {"HOME=/", "TERM=linux", "PATH=/sbin:/usr/sbin:/bin:/usr/bin", NULL};
	posix_spawn_file_actions_t fa;
	int r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, c->fd, STDIN_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	if (pidfd)
		posix_spawn_file_actions_adddup2(&fa, c->pidfd, 3);
	posix_spawn_file_actions_addchdir_np(&fa, "/");
	r = posix_spawn(child, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

int cw_coredump_socket_forward(struct cw_coredump_conn *c, const char *previous, pid_t *child,
			       char *err, size_t cap)
{
	char comm[64], host[256], buf[2048], *argv[CW_CORE_MAX_ARGS + 1];
	struct cw_core_info ci = {0};
	int r;

	*child = -1;
	if (c->fd < 0 || !(c->answered & CW_COREDUMP_KERNEL)) {
		snprintf(err, cap, "failed to forward the core of pid %d: the kernel sends none",
			 (int)c->pid);
		return -EINVAL;
	}
	if (!previous || !previous[0] || previous[0] == '@') {
		snprintf(err, cap, "failed to forward the core of pid %d: no previous consumer",
			 (int)c->pid);
		return -EINVAL;
	}
	core_info_of(c, &ci, comm, sizeof(comm), host, sizeof(host));
	if (previous[0] == '|') {
		if (strstr(previous, CW_CORE_HANDLER_MARK)) {
			snprintf(err, cap,
				 "failed to forward the core of pid %d: the previous "
				 "core_pattern is crashwatch's own handler",
				 (int)c->pid);
			return -ELOOP;
		}
		r = cw_core_pipe_argv(previous, &ci, buf, sizeof(buf), argv);
		if (r >= 0)
			r = spawn_pipe_consumer(c, argv, strstr(previous, "%F") != NULL, child);
		if (r < 0)
			snprintf(err, cap, "failed to run the previous core handler %s: %s",
				 r == -EINVAL || r == -ENAMETOOLONG ? previous : argv[0],
				 strerror(-r));
		return r;
	}
	/*
	 * A file: written here, on the caller's thread (the watcher's hold
	 * threads: no fork in a threaded process), within RLIMIT_CORE.
	 */
	r = cw_core_write_file(c->fd, previous, &ci);
	if (r < 0)
		snprintf(err, cap, "failed to write the core of pid %d where %s says: %s",
			 (int)c->pid, previous, strerror(-r));
	return r;
}

void cw_coredump_socket_drain(struct cw_coredump_conn *c)
{
	char buf[65536];

	while (c->fd >= 0 && read(c->fd, buf, sizeof(buf)) > 0)
		;
}

void cw_coredump_conn_close(struct cw_coredump_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->fd = c->pidfd = -1;
}
