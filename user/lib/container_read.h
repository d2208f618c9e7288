/* SPDX-License-Identifier: MIT */
/*
 * The "container" object of a snapshot (docs/snapshot.md): a process's
 * cgroup v2 path and id, the container that path names, and its pid and
 * mount namespaces, read through the caller's /proc.
 */
#ifndef CW_CONTAINER_READ_H
#define CW_CONTAINER_READ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "container_info.h"

struct cw_container_info {
	char *cgroup;	    /* the cgroup v2 path ("0::" line); NULL when not known */
	uint64_t cgroup_id; /* inode of its directory under the cgroup2 mount; 0: not known */
	struct cw_container_name name;
	uint64_t pid_ns, mnt_ns; /* inode numbers of /proc/PID/ns/{pid,mnt}; 0: not known */
};

/*
 * Fill out from proc_dir, an fd on /proc/PID.  What cannot be read stays
 * unknown; 0, or -errno when not even /proc/PID/cgroup could be read.
 */
int cw_container_info_read(int proc_dir, struct cw_container_info *out);
void cw_container_info_free(struct cw_container_info *ci);

/*
 * From the text of /proc/PID/cgroup: the v2 path into out->cgroup and the
 * name it gives.  On a hybrid host a runtime may have placed the process in
 * v1 hierarchies only: when the v2 path names no container, the first v1
 * path that does names it.  0 or -ENOMEM.
 */
int cw_container_from_cgroup_file(const char *text, struct cw_container_info *out);

/*
 * The first cgroup2 mount in the text of /proc/self/mountinfo: its mount
 * point and the root of the hierarchy mounted there (octal escapes undone).
 * 0, -ENOENT when there is none, -ENAMETOOLONG.
 */
int cw_mountinfo_cgroup2(const char *text, char *mount, size_t mount_cap, char *root,
			 size_t root_cap);

/* The same, read from this process's /proc/self/mountinfo: 0 or -errno. */
int cw_cgroup2_mount(char *mount, size_t mount_cap, char *root, size_t root_cap);

/* The cgroup v2 id of the cgroup at path (as /proc/PID/cgroup shows it); 0 when not found. */
uint64_t cw_cgroup_id(const char *path);

/*
 * The path (as /proc/PID/cgroup would show it) of the cgroup with that v2
 * id, while it exists: found by its id (open_by_handle_at on the cgroup2
 * mount, CAP_DAC_READ_SEARCH), so it outlives the processes that were in
 * it.  malloc'd; NULL when not found or not permitted.
 */
char *cw_cgroup_path_of_id(uint64_t id);

/* {"cgroup", "cgroup_id" (only when known), "runtime", "id", "pod_uid", "systemd_unit",
 * "pid_ns", "mnt_ns"}; unknown values are null. */
json_t *cw_container_json(const struct cw_container_info *ci);

#endif
