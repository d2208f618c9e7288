/* SPDX-License-Identifier: MIT */
/*
 * Reading a snapshot document for the upload formats (upload_*.c only).
 * Fields that are null or missing are normal (docs/snapshot.md): every
 * reader here answers NULL or false for them instead of failing.
 */
#ifndef CW_UPLOAD_SNAPSHOT_H
#define CW_UPLOAD_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "upload_format.h"

/* obj[key] when obj is an object and the value a string, else NULL. */
const char *cw_upload_str(const json_t *obj, const char *key);

/* An address string of the snapshot ("0x7f12..."), strictly. */
bool cw_upload_hex(const json_t *v, uint64_t *out);

/* An address as the snapshot writes one: a string, since JSON numbers stop at 2^53. */
json_t *cw_upload_hex_json(uint64_t v);

/* The 32 lowercase hex digits of a UUID ("95a9da7a-1d6e-..."), strictly. */
bool cw_upload_uuid_hex(const char *uuid, char out[33]);

/* The faulted thread, else the first one (an on-demand snapshot), else NULL. */
const json_t *cw_upload_main_thread(const json_t *snap);

/* Whether snap's classifiers name it (e.g. "rust-panic"). */
bool cw_upload_classified(const json_t *snap, const char *name);

/* A Go program's panic ({type, message, address}) as read at its hold, or NULL. */
const json_t *cw_upload_go_panic(const json_t *snap);

/* The goroutine that panicked, or NULL. */
const json_t *cw_upload_faulted_goroutine(const json_t *snap);

/*
 * A goroutine as backends show a thread: "goroutine 17 [chan receive]".
 * Into buf; NULL when g has no id.
 */
const char *cw_upload_goroutine_name(const json_t *g, char *buf, size_t cap);

/*
 * Whether a crash made the snapshot: "trigger" "crash" (docs/snapshot.md);
 * in a document without one, a signal or a Go panic or fatal error.
 */
bool cw_upload_fatal(const json_t *snap);

/* Whether it was asked for on the watcher's request socket (trigger "request"). */
bool cw_upload_requested(const json_t *snap);

/* The crash cause classifier ("null-pointer-dereference", ...), or NULL. */
const char *cw_upload_cause(const json_t *snap);

/* One line for a person: "null-pointer-dereference: SEGV_MAPERR at 0x0".  malloc'd or NULL. */
char *cw_upload_description(const json_t *snap);

/* The snapshot's timestamp ("2026-11-23T19:10:28.913915Z") in Unix seconds. */
int cw_upload_unix_time(const char *iso, time_t *out);

/* doc as compact JSON into out; takes the reference to doc whatever happens. */
int cw_upload_dump(json_t *doc, const char *content_type, struct cw_upload_body *out, char *err,
		   size_t cap);

#endif
