// SPDX-License-Identifier: MIT
#include "timeline_go.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "go_binary.h"
#include "proc_maps.h"

int cw_tl_go_proc_read(pid_t pid, struct cw_tl_go_proc *out, char *err, size_t cap)
{
	struct cw_go_binary b = {.fd = -1};
	struct cw_maps maps = {0};
	char path[32];
	int dir, r;

	err[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	r = cw_maps_read(pid, &maps);
	if (r == 0)
		r = cw_go_binary_open(dir, pid, &maps, &b, err, cap);
	if (r == 0) {
		if (b.g_tls) {
			out->g_tls = b.g_tls;
			out->goid_offset = b.layout.g_goid;
		} else {
			snprintf(err, cap,
				 "%s: where its threads keep their g is not known (its "
				 "executable has thread-local storage of its own)",
				 b.version);
			r = -ENOEXEC;
		}
	} else if (r != -ENOEXEC) {
		/* A Go program all the same: its goroutines stay on their threads' tracks. */
		r = -ENOEXEC;
	}
	cw_go_binary_free(&b);
	cw_maps_free(&maps);
	close(dir);
	return r;
}
