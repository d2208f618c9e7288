/* SPDX-License-Identifier: MIT */
/* The file mappings of a live process, from /proc/PID/maps. */
#ifndef CW_PROC_MAPS_H
#define CW_PROC_MAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct cw_mapping {
	uint64_t start;
	uint64_t end;
	uint64_t pgoff;
	char perms[5];	/* "r-xp" */
	char *path;	/* "/usr/lib/...", or NULL for anonymous and [special] mappings */
	uint64_t inode; /* of the file mapped; 0 for anonymous mappings */
};

struct cw_maps {
	struct cw_mapping *v;
	size_t n;
};

/* Parse maps text (the format of /proc/PID/maps).  0 or -errno. */
int cw_maps_parse(FILE *f, struct cw_maps *out);
int cw_maps_read(pid_t pid, struct cw_maps *out);
const struct cw_mapping *cw_maps_find(const struct cw_maps *m, uint64_t addr);
void cw_maps_free(struct cw_maps *m);

#endif
