/* SPDX-License-Identifier: MIT */
/*
 * The index of recent crashes, beside the spool (SPOOL/.index.jsonl): one
 * JSON object a line, appended when a crash's outcome is known and when its
 * snapshot is uploaded, read by `crashwatch list` and `show`.  It survives
 * uploads and restarts; it is bounded in size (rewritten with the newest
 * CW_INDEX_MAX_ENTRIES when it grows past CW_INDEX_MAX_BYTES) and in age
 * (entries older than CW_INDEX_MAX_AGE_S are left out).  Uploaded snapshots
 * move to SPOOL/uploaded/ (the newest CW_UPLOADED_MAX kept) so `show` still
 * finds them.  Writers (the watcher's loop, its uploader thread,
 * `crashwatch upload`) take SPOOL/.index.lock.
 *
 * A line: {"event":"crash","time","pid","tid","comm","exe","signal","cause",
 * "id","snapshot":"full|partial|suppressed|none","held_at"} or
 * {"event":"uploaded","time","id","to"}.
 */
#ifndef CW_CRASH_INDEX_H
#define CW_CRASH_INDEX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define CW_INDEX_FILE	     ".index.jsonl"
#define CW_INDEX_LOCK	     ".index.lock"
#define CW_INDEX_MAX_ENTRIES 1000
#define CW_INDEX_MAX_BYTES   (1u << 20)
#define CW_INDEX_MAX_AGE_S   (30 * 86400)
#define CW_INDEX_LINE_MAX    16384 /* a longer line is not one of ours */
#define CW_UPLOADED_DIR	     "uploaded"
#define CW_UPLOADED_MAX	     100

struct cw_index_crash {
	time_t time; /* CLOCK_REALTIME seconds */
	long nsec;
	pid_t pid, tid;
	const char *comm, *exe; /* NULL or "": not known */
	int sig;		/* 0: none (a Go panic) */
	const char *cause;	/* the snapshot's cause line, or NULL */
	const char *id;		/* the snapshot's uuid, or NULL: none written */
	const char *snapshot;	/* "full", "partial", "suppressed", "none" */
	const char *held_at;	/* "core", "handler", "abort", "sender", "go", "none" */
};

/* Append one crash.  0 or -errno. */
int cw_index_add_crash(const char *spool, const struct cw_index_crash *c);

/*
 * SPOOL/name was accepted by a backend (to: where, without secrets): it
 * moves to SPOOL/uploaded/ (removed when it cannot), and the index says so.
 * 0 or -errno (the file is gone from the spool either way).
 */
int cw_index_uploaded(const char *spool, const char *name, const char *to);

/*
 * The crashes in the index, newest first, each with "uploaded_to" and
 * "uploaded_at" (or null) merged in; lines that are not valid entries are
 * skipped and counted in *bad.  0 and *out (a JSON array), or -errno.
 */
int cw_index_read(const char *spool, json_t **out, size_t *bad);

/* The same from a buffer (the parser of the index file; fuzzed). */
json_t *cw_index_parse(const char *buf, size_t len, time_t now, size_t *bad);

/* "generic:https://host:port": a target's URL without user info, path or query. */
void cw_index_where(const char *kind, const char *url, char *out, size_t cap);

#endif
