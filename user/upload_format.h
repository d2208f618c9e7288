/* SPDX-License-Identifier: MIT */
/*
 * What the uploader sends for one snapshot (docs/snapshot.md, version 1), in
 * each backend's format: URL, header and body, built with no network code so
 * that every byte can be checked by a unit test.
 *
 * Every function returns 0 or a negative errno and, on error, writes one line
 * into err (cap bytes) naming what is wrong and what to do about it.
 */
#ifndef CW_UPLOAD_FORMAT_H
#define CW_UPLOAD_FORMAT_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define CW_UPLOAD_CONTENT_JSON "application/json"

struct cw_upload_body {
	char *data; /* malloc'd; len bytes, then a NUL not counted */
	size_t len;
	const char *content_type; /* static */
};

/* Frees data; accepts a zeroed or already freed body. */
void cw_upload_body_free(struct cw_upload_body *b);

/*
 * 0 when snap is a snapshot document these formats can read: -EPROTO for a
 * version other than 1 (or none), -EINVAL when it is not an object or lacks
 * uuid, timestamp or threads.  Every builder below starts with it.
 */
int cw_upload_check(const json_t *snap, char *err, size_t cap);

/* generic: the snapshot itself as compact JSON, CW_UPLOAD_CONTENT_JSON. */
int cw_upload_generic(const json_t *snap, struct cw_upload_body *out, char *err, size_t cap);

#endif
