// SPDX-License-Identifier: MIT
/*
 * For bench/hold.py: when does a snapshot appear in the spool?  Watches DIR
 * with inotify and prints, for each file renamed into it (the snapshot tool
 * writes a dot-file, fsyncs it and renames it), its CLOCK_BOOTTIME in ns, the
 * clock of the kernel's crash records.  File times would do at best to a
 * scheduler tick (4 ms at HZ=250).  First line: offset_ns=REALTIME-BOOTTIME,
 * to turn the watcher's wall-clock record times back into boot time.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int64_t b0, r, b1;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: spool_watch DIR\n");
		return 2;
	}
	fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0 || inotify_add_watch(fd, argv[1], IN_MOVED_TO) < 0) {
		fprintf(stderr, "spool_watch: cannot watch %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	/* The realtime reading sits between two boot-time ones: take their middle. */
	b0 = ns(CLOCK_BOOTTIME);
	r = ns(CLOCK_REALTIME);
	b1 = ns(CLOCK_BOOTTIME);
	printf("offset_ns=%lld\n", (long long)(r - (b0 + (b1 - b0) / 2)));
	fflush(stdout);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		int64_t now = ns(CLOCK_BOOTTIME);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "spool_watch: read: %s\n", n < 0 ? strerror(errno) : "EOF");
			return 1;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				fprintf(stderr, "spool_watch: inotify queue overflowed\n");
			else if (ev->len && ev->name[0] != '.')
				printf("%lld %s/%s\n", (long long)now, argv[1], ev->name);
			p += sizeof(*ev) + ev->len;
		}
		fflush(stdout);
	}
}
