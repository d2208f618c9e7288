/* SPDX-License-Identifier: MIT */
/*
 * A spool file as the uploader may send it.  Nothing in the spool is taken
 * on trust: the file must be a regular file that only root can have written
 * (owned by root, not writable by group or others), of a bounded size, and
 * its document must follow docs/snapshot.md version 1 — every field the
 * uploads read of the type written there, arrays bounded.  Fields not in
 * the schema are let through (a newer writer of the same version).
 */
#ifndef CW_SPOOL_DOC_H
#define CW_SPOOL_DOC_H

#include <jansson.h>
#include <stddef.h>

/* No snapshot is this large: 128 threads of 256 frames are ~10 MiB. */
#define CW_SPOOL_DOC_MAX_BYTES	 (64u << 20)
#define CW_SPOOL_DOC_MAX_THREADS 65536
#define CW_SPOOL_DOC_MAX_FRAMES	 256   /* the unwinder's cap (unwind.h) */
#define CW_SPOOL_DOC_MAX_LIST	 65536 /* modules, classifiers, notes, attributes */

/*
 * doc against the schema; name: its file's name, which must be its uuid +
 * ".json" (NULL: not checked).  0, or -EINVAL with why.
 */
int cw_spool_doc_check(const json_t *doc, const char *name, char *why, size_t cap);

/*
 * Open dir/name without following links, check the file, read and check
 * the document: 0 and *doc; -ENOENT when it is gone; another -errno with
 * why when it must not be sent (to failed/ with why).
 */
int cw_spool_doc_read(const char *dir, const char *name, json_t **doc, char *why, size_t cap);

#endif
