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

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#define CW_UPLOAD_CONTENT_JSON	 "application/json"
#define CW_UPLOAD_CONTENT_SENTRY "application/x-sentry-envelope"
/* Sent with "; boundary=" and the body's boundary. */
#define CW_UPLOAD_CONTENT_MULTIPART "multipart/form-data"
#define CW_SENTRY_AUTH_HEADER	    "X-Sentry-Auth"
#define CW_SENTRY_DEBUG_ID_LEN	    36 /* 8-4-4-4-12 */
#define CW_BACKTRACE_AGENT	    "crashwatch"
#define CW_BACKTRACE_LANG	    "c"
/*
 * The crashed program's language and compiler are not known from outside
 * it, and the watcher's own C standard would describe the wrong program.
 */
#define CW_BACKTRACE_LANG_VERSION "native"

struct cw_upload_body {
	char *data; /* malloc'd; len bytes, then a NUL not counted */
	size_t len;
	const char *content_type; /* static */
	char boundary[64];	  /* multipart's, or "" */
};

/* A file sent with a snapshot (its timeline), where the backend takes one. */
struct cw_upload_attachment {
	const char *filename;
	const char *content_type;
	const char *data;
	size_t len;
};

/*
 * Add an attachment item to a Sentry envelope (develop.sentry.dev:
 * "Attachments": type attachment, its length, filename, content_type).
 * 0 or -ENOMEM (the body is left as it was).
 */
int cw_sentry_envelope_attach(struct cw_upload_body *b, const struct cw_upload_attachment *att);

/* One part of a multipart/form-data body. */
struct cw_upload_part {
	const char *name, *filename, *content_type;
	const char *data;
	size_t len;
};

/*
 * The parts as multipart/form-data (each with a filename and its type),
 * the boundary made from seed and found in no part.  0, -EINVAL (a name
 * with a quote or line break) or -ENOMEM; said in err.
 */
int cw_upload_multipart(const struct cw_upload_part *parts, size_t n, const char *seed,
			struct cw_upload_body *out, char *err, size_t cap);

/* Frees data; accepts a zeroed or already freed body. */
void cw_upload_body_free(struct cw_upload_body *b);

/*
 * 0 when snap is a snapshot document these formats can read: -EPROTO for a
 * version other than 1 (or none), -EINVAL when it is not an object or lacks
 * uuid, timestamp or threads.  Every builder below starts with it.
 */
int cw_upload_check(const json_t *snap, char *err, size_t cap);

/*
 * generic: the snapshot itself as compact JSON, CW_UPLOAD_CONTENT_JSON.  With
 * a timeline (cw_upload_with_attachment), multipart/form-data: the part
 * "snapshot" (<uuid>.json) and the part "timeline" (timeline.json).
 */
int cw_upload_generic(const json_t *snap, struct cw_upload_body *out, char *err, size_t cap);

/* ---- Sentry (envelope endpoint) ------------------------------------------ */

struct cw_sentry_dsn {
	char *dsn; /* as given: the envelope header repeats it */
	char *public_key;
	char *project_id;
	char *envelope_url; /* <scheme>://<host>[:port][/prefix]/api/<project>/envelope/ */
	char *auth;	    /* the value of the CW_SENTRY_AUTH_HEADER header */
};

/* https://KEY[:SECRET]@HOST[:PORT][/PREFIX]/PROJECT_ID (or http).  0, -EINVAL or -ENOMEM. */
int cw_sentry_dsn_parse(const char *dsn, struct cw_sentry_dsn *out, char *err, size_t cap);

/* Frees what parse allocated; accepts a zeroed struct. */
void cw_sentry_dsn_free(struct cw_sentry_dsn *d);

/*
 * Sentry's debug id of an ELF file from its GNU build-id (hex): the first 16
 * bytes (zero-padded when shorter) read as a little-endian GUID, so the first
 * three fields are byte-swapped.  0, or -EINVAL when build_id is not hex.
 */
int cw_sentry_debug_id(const char *build_id, char out[CW_SENTRY_DEBUG_ID_LEN + 1]);

/* The event (a new reference in *event). */
int cw_sentry_event(const json_t *snap, json_t **event, char *err, size_t cap);

/* The envelope: header line, item header line, the event; CW_UPLOAD_CONTENT_SENTRY. */
int cw_sentry_envelope(const json_t *snap, const struct cw_sentry_dsn *dsn, time_t sent_at,
		       struct cw_upload_body *out, char *err, size_t cap);

/* ---- Backtrace (coronerd JSON submission) -------------------------------- */

/* <endpoint>/post?format=json&token=<token, URL-escaped> in *url (malloc'd). */
int cw_backtrace_url(const char *endpoint, const char *token, char **url, char *err, size_t cap);

/* The report object (a new reference in *report). */
int cw_backtrace_report(const json_t *snap, json_t **report, char *err, size_t cap);

/*
 * body (generic or Backtrace JSON, built above) with att beside it, as
 * multipart/form-data: generic, parts "snapshot" and "timeline"; Backtrace,
 * its form fields "upload_file" (the report) and "attachment_<filename>".
 * body is replaced; 0 or -errno said in err (body left as it was).
 */
int cw_upload_with_attachment(struct cw_upload_body *body, bool backtrace, const char *uuid,
			      const struct cw_upload_attachment *att, char *err, size_t cap);

/* The report as compact JSON, CW_UPLOAD_CONTENT_JSON. */
int cw_backtrace_body(const json_t *snap, struct cw_upload_body *out, char *err, size_t cap);

#endif
