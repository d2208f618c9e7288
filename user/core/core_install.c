// SPDX-License-Identifier: MIT
#include "core_install.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define PATTERN_MAX	128  /* CORENAME_MAX_SIZE */
#define PIPE_LIMIT_TEXT "16" /* dumps the kernel holds for handlers at once */

static int read_line(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(out, (int)cap, f))
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static int write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	e = errno;
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -(n < 0 ? e : EIO);
}

int cw_core_previous(char *pattern, size_t cap)
{
	return read_line(CW_CORE_SAVED, pattern, cap);
}

int cw_core_restore(void)
{
	char pattern[PATTERN_MAX + 2] = "", limit[32] = "0";
	FILE *f = fopen(CW_CORE_SAVED, "re");
	int r;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (!fgets(pattern, sizeof(pattern), f) || !fgets(limit, sizeof(limit), f)) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	pattern[strcspn(pattern, "\n")] = '\0';
	limit[strcspn(limit, "\n")] = '\0';
	/* An empty pattern is written as a newline: the kernel strips it. */
	r = write_sysctl(CW_CORE_PATTERN, pattern[0] ? pattern : "\n");
	if (r == 0)
		r = write_sysctl(CW_CORE_PIPE_LIMIT, limit);
	if (r == 0 && unlink(CW_CORE_SAVED) < 0)
		r = -errno;
	unlink(CW_CORE_DROP);
	return r < 0 ? r : 1;
}

static int make_state_dir(char *err, size_t cap)
{
	int r;

	if (mkdir(CW_STATE_DIR, 0700) == 0 || errno == EEXIST)
		return 0;
	r = -errno;
	snprintf(err, cap, "failed to create %s: %s", CW_STATE_DIR, strerror(-r));
	return r;
}

int cw_core_listen(char *err, size_t cap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r = make_state_dir(err, cap);

	if (r < 0)
		return r;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", CW_CORE_SOCKET);
	unlink(CW_CORE_SOCKET);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		r = -errno;
		snprintf(err, cap, "failed to listen on %s: %s", CW_CORE_SOCKET, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	return fd;
}

void cw_core_unlisten(int fd)
{
	if (fd < 0)
		return;
	close(fd);
	unlink(CW_CORE_SOCKET);
}

int cw_core_install(const char *command, bool drop, char *err, size_t cap)
{
	char ours[PATTERN_MAX + 4160];

	snprintf(ours, sizeof(ours), "|%s %%P %%I %%s %%c %%p %%i %%u %%g %%t %%h %%e", command);
	if (strlen(ours) >= PATTERN_MAX) {
		snprintf(err, cap,
			 "the core handler's command line is longer than core_pattern's %d bytes: "
			 "install crashwatch at a shorter path",
			 PATTERN_MAX - 1);
		return -ENAMETOOLONG;
	}
	return cw_core_install_pattern(ours, drop, err, cap);
}

int cw_core_install_pattern(const char *ours, bool drop, char *err, size_t cap)
{
	char current[PATTERN_MAX + 2], limit[32], tmp[] = CW_CORE_SAVED ".tmp";
	FILE *f;
	int r;

	if ((r = make_state_dir(err, cap)) < 0)
		return r;
	if (!drop)
		unlink(CW_CORE_DROP);
	else if ((r = open(CW_CORE_DROP, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
		 close(r) < 0) {
		r = -errno;
		snprintf(err, cap, "failed to create %s: %s", CW_CORE_DROP, strerror(-r));
		return r;
	}
	if ((r = read_line(CW_CORE_PATTERN, current, sizeof(current))) < 0 ||
	    (r = read_line(CW_CORE_PIPE_LIMIT, limit, sizeof(limit))) < 0) {
		snprintf(err, cap, "failed to read kernel.core_pattern: %s", strerror(-r));
		return r;
	}
	/* Ours already (a watcher died without its saved copy): the kernel default then. */
	if (strstr(current, CW_CORE_HANDLER_MARK) || !strcmp(current, CW_CORE_SOCKET_PATTERN))
		snprintf(current, sizeof(current), "core");
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%s\n%s\n", current, limit) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		r = -errno;
		if (f)
			fclose(f);
		unlink(tmp);
		snprintf(err, cap, "failed to save kernel.core_pattern in %s: %s", tmp,
			 strerror(-r));
		return r;
	}
	fclose(f);
	if (rename(tmp, CW_CORE_SAVED) < 0) {
		r = -errno;
		unlink(tmp);
		snprintf(err, cap, "failed to save kernel.core_pattern: %s", strerror(-r));
		return r;
	}
	if ((r = write_sysctl(CW_CORE_PIPE_LIMIT, atoi(limit) > 0 ? limit : PIPE_LIMIT_TEXT)) < 0 ||
	    (r = write_sysctl(CW_CORE_PATTERN, ours)) < 0) {
		snprintf(err, cap, "failed to set kernel.core_pattern: %s", strerror(-r));
		cw_core_restore();
		return r;
	}
	return 0;
}

int cw_hold_lock(pid_t *holder, char *err, size_t cap)
{
	char pid[32];
	int fd, r = make_state_dir(err, cap);
	ssize_t n;

	*holder = 0;
	if (r < 0)
		return r;
	fd = open(CW_HOLD_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, cap, "failed to open %s: %s", CW_HOLD_LOCK, strerror(-r));
		return r;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		*holder = atoi(pid);
		snprintf(err, cap,
			 "another crashwatch watch (pid %d) already holds crashes on this host: "
			 "two would stop each other's holds and fight over kernel.core_pattern; "
			 "run one per host, or this one with --no-hold",
			 (int)*holder);
		close(fd);
		return r;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		/* the pid is only for the message above */
	}
	return fd;
}

int cw_core_handler_copy(const char *exe, const char *path, char *err, size_t cap)
{
	char from[4096], tmp[4096 + 8], buf[65536];
	const char *slash = strrchr(exe, '/');
	int in, out, r = 0;
	ssize_t n;

	if (!slash ||
	    (size_t)snprintf(from, sizeof(from), "%.*s/crashwatch-core-handler", (int)(slash - exe),
			     exe) >= sizeof(from) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, cap, "the path of --host-core-handler is too long");
		return -ENAMETOOLONG;
	}
	/* Its directory, one level: a hostPath mounted as it is, e.g. /var/lib/crashwatch. */
	snprintf(buf, sizeof(buf), "%.*s", (int)(strrchr(path, '/') - path), path);
	if (buf[0] && mkdir(buf, 0755) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(err, cap, "cannot create %s: %s", buf, strerror(-r));
		return r;
	}
	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		r = -errno;
		snprintf(err, cap, "cannot read %s: %s; it is built beside crashwatch", from,
			 strerror(-r));
		return r;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		r = -errno;
		close(in);
		snprintf(err, cap,
			 "cannot write %s: %s; --host-core-handler needs a host directory "
			 "mounted at the same path",
			 tmp, strerror(-r));
		return r;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	if (n < 0 || fsync(out) < 0)
		r = -errno;
	close(in);
	if (close(out) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
		snprintf(err, cap, "failed to copy %s to %s: %s", from, path, strerror(-r));
	}
	return r;
}

/* 1: path is the same file from kthreadd's root, 0: it is not, -errno: cannot tell. */
static int host_sees(const char *path)
{
	char host_path[4096 + 16];
	struct stat ours, host;

	if ((size_t)snprintf(host_path, sizeof(host_path), "/proc/2/root%s", path) >=
	    sizeof(host_path))
		return -ENAMETOOLONG;
	if (stat(path, &ours) < 0)
		return -errno;
	if (stat(host_path, &host) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	return ours.st_dev == host.st_dev && ours.st_ino == host.st_ino;
}

int cw_core_reachable(const char *handler, char *err, size_t cap)
{
	if (host_sees(handler) == 0) {
		snprintf(err, cap,
			 "the host does not see %s at that path, so kernel.core_pattern cannot "
			 "run it; give --host-core-handler=PATH on a host directory mounted at the "
			 "same path (README, Kubernetes)",
			 handler);
		return -ENOENT;
	}
	if (make_state_dir(err, cap) == 0 && host_sees(CW_STATE_DIR) == 0) {
		snprintf(err, cap,
			 "the host's %s is not this watcher's, so a core handler could not call "
			 "it; mount the host's %s at the same path (README, Kubernetes)",
			 CW_STATE_DIR, CW_STATE_DIR);
		return -ENOENT;
	}
	return 0;
}
