// SPDX-License-Identifier: MIT
#include "spool_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void cw_new_uuid(char *out, size_t cap)
{
	FILE *f = fopen("/proc/sys/kernel/random/uuid", "re");

	if (!f || !fgets(out, (int)cap, f)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(out, cap, "00000000-0000-4000-8000-%04x%08lx", (unsigned)getpid() & 0xffff,
			 (unsigned long)ts.tv_nsec);
	}
	out[strcspn(out, "\n")] = '\0';
	if (f)
		fclose(f);
}

int cw_write_json_atomic(json_t *doc, const char *dir, const char *uuid, char *path, size_t cap,
			 char *err, size_t err_cap)
{
	char tmp[4096];
	int fd, r = 0;
	FILE *f;

	if ((size_t)snprintf(path, cap, "%s/%s.json", dir, uuid) >= cap ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.json.tmp", dir, uuid) >= sizeof(tmp)) {
		snprintf(err, err_cap, "the path in %s is too long", dir);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, err_cap, "failed to create %s: %s", tmp, strerror(-r));
		return r;
	}
	f = fdopen(fd, "w");
	if (!f || json_dumpf(doc, f, JSON_INDENT(1)) < 0 || fflush(f) != 0 || fsync(fd) != 0)
		r = errno ? -errno : -EIO;
	if (f)
		fclose(f);
	else
		close(fd);
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
		snprintf(err, err_cap, "failed to write %s: %s", path, strerror(-r));
	}
	return r;
}
