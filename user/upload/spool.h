/* SPDX-License-Identifier: MIT */
/*
 * The spool directory: snapshots wait here (<uuid>.json, written whole by
 * rename) until a backend accepted them; failed/ holds the ones a backend
 * refused, each with <name>.reason.  Bounded in files and bytes: when over,
 * the oldest are dropped first and counted (as systemd-coredump's MaxUse).
 */
#ifndef CW_SPOOL_H
#define CW_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cw_spool_file {
	char name[128]; /* in the spool directory */
	uint64_t size;
	struct timespec mtime;
};

/*
 * A snapshot's timeline (watch --flight-recorder) waits beside it as
 * <uuid>.timeline.json; it goes where its snapshot goes.
 */
#define CW_SPOOL_TIMELINE_SUFFIX ".timeline.json"

/* The name of the timeline beside snapshot name (<stem>.json). */
void cw_spool_timeline_name(const char *name, char *out, size_t cap);

/* Remove a snapshot and its timeline.  0 or -errno (the snapshot's unlink). */
int cw_spool_remove(const char *dir, const char *name);

/*
 * The waiting snapshots, oldest first (malloc'd array in *files): every
 * <name>.json but directories and timelines, whatever it is (the uploader
 * checks each); a snapshot's size counts its timeline.  0 or -errno.
 */
int cw_spool_list(const char *dir, struct cw_spool_file **files, size_t *n);

/*
 * Drop the oldest waiting snapshots until at most max_files (0: any number)
 * and max_bytes (0: any size) remain; how many were dropped, or -errno.
 */
int cw_spool_enforce(const char *dir, size_t max_files, uint64_t max_bytes);

/* Move a snapshot (and its timeline) to failed/ with the reason beside it.  0 or -errno. */
int cw_spool_fail(const char *dir, const char *name, const char *reason);

#endif
