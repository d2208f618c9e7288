/* SPDX-License-Identifier: MIT */
/*
 * Opening a file another process has mapped as that process sees it.  A
 * process in a container lives in another mount namespace: the path its
 * maps show may name another file on the host (another libc), or none.
 */
#ifndef CW_MODULE_OPEN_H
#define CW_MODULE_OPEN_H

#include <stdbool.h>
#include <sys/types.h>

#include "proc_maps.h"

/* A mapped file opened while the process could still be asked. */
struct cw_module_file {
	char *path; /* as maps shows it */
	char *name; /* what cw_module_open gives for it */
	int fd;
};

struct cw_module_source {
	pid_t pid;
	struct cw_maps maps; /* as captured: ranges and inodes of the mapped files */
	bool own_mnt_ns;     /* the process has our mount namespace (or it could not be told) */
	struct cw_module_file *opened; /* cw_module_source_open_all */
	size_t n_opened;
};

/* From maps_text (/proc/PID/maps as captured), or read now when NULL.  0 or -errno. */
int cw_module_source_init(struct cw_module_source *s, pid_t pid, const char *maps_text);
void cw_module_source_free(struct cw_module_source *s);

/*
 * Open every mapped file now, while the process is held: one dying at exit
 * is gone, with its /proc/PID/map_files and root, by the time its modules
 * are read.  Files that cannot be opened are looked for again then.
 */
void cw_module_source_open_all(struct cw_module_source *s);

/*
 * A read-only fd on the regular file mapped from path, and in *name (malloc'd)
 * the path libdwfl looks for separate debug files beside: path itself in our
 * mount namespace, else /proc/PID/root/path.  Tried in order:
 *   /proc/PID/map_files/START-END: the mapped file itself, wherever it lives
 *     (needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE);
 *   /proc/PID/root/PATH: the path resolved as the process resolves it;
 *   PATH, only for a process of our mount namespace.
 * A file found by its path must have the mapped inode.  -ESTALE: only
 * another file was found there; -ENOENT, -EACCES, -ENODEV (not a regular file).
 */
int cw_module_open(const struct cw_module_source *s, const char *path, char **name);

/*
 * The first file pid maps from offset 0 whose path is_wanted takes (a libc,
 * libstdc++), opened as above: its fd, and in *lib its mapping in maps.
 * -ENOENT: pid maps none; else as cw_module_open.
 */
int cw_module_open_mapped(pid_t pid, const struct cw_maps *maps,
			  bool (*is_wanted)(const char *path), const struct cw_mapping **lib);

#endif
