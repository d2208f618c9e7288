/* SPDX-License-Identifier: MIT */
/*
 * The files whose USDT probes `crashwatch probes` reads: a program and the
 * libraries the system's dynamic loader maps for it, or every file a
 * running process maps.  Each is open (an fd on the very file) and listed
 * once.
 */
#ifndef CW_PROBE_FILES_H
#define CW_PROBE_FILES_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct cw_probe_file {
	char path[PATH_MAX]; /* as shown: the program's, the loader's, /proc/PID/maps' */
	int fd;
};

struct cw_probe_files {
	struct cw_probe_file *v; /* the program first, when given one */
	size_t n, cap;
};

/* program and its libraries; pid's mapped files when program is NULL.  Prints the failure.
 * 0 or -errno. */
int cw_probe_files_collect(struct cw_probe_files *f, const char *program, pid_t pid);
void cw_probe_files_free(struct cw_probe_files *f);

/*
 * Add the libraries the system's loader maps for program (open on fd, not
 * taken), as `ld.so --list` says; none when program has another loader or
 * none (static).  Says nothing.  0 or -ENOMEM.
 */
int cw_probe_files_add_libraries(struct cw_probe_files *f, const char *program, int fd);

#endif
