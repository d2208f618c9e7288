/* SPDX-License-Identifier: MIT */
/* Snapshots enter a directory whole or not at all: temporary file, fsync, rename. */
#ifndef CW_SPOOL_WRITE_H
#define CW_SPOOL_WRITE_H

#include <jansson.h>
#include <stddef.h>

/* A random UUID (the kernel's), lowercase with dashes. */
void cw_new_uuid(char *out, size_t cap);

/*
 * Write doc as <dir>/<uuid>.json, mode 0600, atomically; its path in path.
 * 0 or -errno; err says what failed.
 */
int cw_write_json_atomic(json_t *doc, const char *dir, const char *uuid, char *path, size_t cap,
			 char *err, size_t err_cap);

#endif
