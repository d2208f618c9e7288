// SPDX-License-Identifier: MIT
#include "spool_doc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot_doc.h"
#include "upload_snapshot.h"

/* What a field must be; the *_NULL kinds may also be null (or, leniently, missing). */
enum kind { INT, INT_NULL, NUM, NUM_NULL, BOOL, STR, STR_NULL, HEX, HEX_NULL, OBJ, OBJ_NULL, ARR };

struct field {
	const char *key;
	enum kind kind;
};

static const char *const kind_names[] = {
	[INT] = "an integer",
	[INT_NULL] = "an integer or null",
	[NUM] = "a number",
	[NUM_NULL] = "a number or null",
	[BOOL] = "true or false",
	[STR] = "a string",
	[STR_NULL] = "a string or null",
	[HEX] = "an address string (\"0x...\")",
	[HEX_NULL] = "an address string or null",
	[OBJ] = "an object",
	[OBJ_NULL] = "an object or null",
	[ARR] = "an array",
};

static bool is_kind(const json_t *v, enum kind k)
{
	uint64_t x;

	switch (k) {
	case INT_NULL:
		return !v || json_is_null(v) || json_is_integer(v);
	case INT:
		return json_is_integer(v);
	case NUM_NULL:
		return !v || json_is_null(v) || json_is_number(v);
	case NUM:
		return json_is_number(v);
	case BOOL:
		return json_is_boolean(v);
	case STR_NULL:
		return !v || json_is_null(v) || json_is_string(v);
	case STR:
		return json_is_string(v);
	case HEX_NULL:
		return !v || json_is_null(v) || cw_upload_hex(v, &x);
	case HEX:
		return cw_upload_hex(v, &x);
	case OBJ_NULL:
		return !v || json_is_null(v) || json_is_object(v);
	case OBJ:
		return json_is_object(v);
	case ARR:
		return json_is_array(v);
	}
	return false;
}

static int bad(char *why, size_t cap, const char *where, const char *what)
{
	snprintf(why, cap, "%s is not %s", where, what);
	return -EINVAL;
}

/* Each field of o (at where) of its kind. */
static int fields(const json_t *o, const char *where, const struct field *f, size_t n, char *why,
		  size_t cap)
{
	char at[160];

	if (!json_is_object(o))
		return bad(why, cap, where, "an object");
	for (size_t i = 0; i < n; i++) {
		if (is_kind(json_object_get(o, f[i].key), f[i].kind))
			continue;
		snprintf(at, sizeof(at), "%s.%s", where, f[i].key);
		return bad(why, cap, at, kind_names[f[i].kind]);
	}
	return 0;
}

/* An array of at most max items, each of kind k (OBJ: checked by the caller). */
static int list(const json_t *a, const char *where, size_t max, enum kind k, char *why, size_t cap)
{
	char at[160];
	size_t i;
	json_t *v;

	if (!json_is_array(a))
		return bad(why, cap, where, "an array");
	if (json_array_size(a) > max) {
		snprintf(why, cap, "%s has %zu items, more than %zu", where, json_array_size(a),
			 max);
		return -EINVAL;
	}
	json_array_foreach(a, i, v)
	{
		if (is_kind(v, k))
			continue;
		snprintf(at, sizeof(at), "%s[%zu]", where, i);
		return bad(why, cap, at, kind_names[k]);
	}
	return 0;
}

/* An object of at most max members, each of kind k. */
static int map(const json_t *o, const char *where, size_t max, enum kind k, char *why, size_t cap)
{
	const char *key;
	char at[160];
	json_t *v;

	if (!json_is_object(o))
		return bad(why, cap, where, "an object");
	if (json_object_size(o) > max) {
		snprintf(why, cap, "%s has %zu members, more than %zu", where, json_object_size(o),
			 max);
		return -EINVAL;
	}
	json_object_foreach((json_t *)o, key, v)
	{
		if (is_kind(v, k))
			continue;
		snprintf(at, sizeof(at), "%s.%.64s", where, key);
		return bad(why, cap, at, kind_names[k]);
	}
	return 0;
}

static const struct field top[] = {
	{"version", INT},	 {"uuid", STR},	     {"timestamp", STR},   {"host", OBJ},
	{"process", OBJ},	 {"container", OBJ}, {"signal", OBJ_NULL}, {"classifiers", ARR},
	{"attributes", OBJ},	 {"threads", ARR},   {"modules", ARR},	   {"capture", OBJ},
	{"aggregate", OBJ_NULL},
};
static const struct field host[] = {
	{"hostname", STR_NULL}, {"kernel", STR_NULL}, {"arch", STR_NULL}};
static const struct field process[] = {
	{"pid", INT},
	{"ppid", INT},
	{"uid", INT},
	{"gid", INT},
	{"comm", STR},
	{"exe", STR_NULL},
	{"cmdline", STR_NULL},
	{"cwd", STR_NULL},
	{"cgroup", STR_NULL},
	{"start_time", STR_NULL},
	{"environment", OBJ_NULL},
};
static const struct field container[] = {
	{"cgroup", STR_NULL}, {"cgroup_id", INT_NULL}, {"runtime", STR_NULL},
	{"id", STR_NULL},     {"pod_uid", STR_NULL},   {"systemd_unit", STR_NULL},
	{"pid_ns", INT_NULL}, {"mnt_ns", INT_NULL},
};
static const struct field sig[] = {
	{"number", INT},	 {"name", STR_NULL},	{"code", INT_NULL},
	{"code_name", STR_NULL}, {"address", HEX_NULL}, {"sender_pid", INT_NULL},
};
static const struct field thread[] = {
	{"tid", INT},
	{"name", STR_NULL},
	{"state", STR_NULL},
	{"faulted", BOOL},
	{"registers", OBJ_NULL},
	{"frames", ARR},
	{"frames_truncated", BOOL},
	{"stack_truncated", BOOL},
	{"error", STR_NULL},
};
static const struct field frame[] = {
	{"index", INT},
	{"pc", HEX},
	{"function", STR_NULL},
	{"symbol", STR_NULL},
	{"function_offset", INT_NULL},
	{"module", STR_NULL},
	{"module_offset", HEX_NULL},
	{"build_id", STR_NULL},
	{"file", STR_NULL},
	{"line", INT_NULL},
	{"signal_frame", BOOL},
};
static const struct field module[] = {
	{"path", STR_NULL}, {"start", HEX_NULL}, {"end", HEX_NULL}, {"build_id", STR_NULL}};
static const struct field capture[] = {
	{"method", STR},
	{"partial", BOOL},
	{"pause_ms", NUM},
	{"total_ms", NUM_NULL},
	{"tool", STR},
	{"tool_version", STR},
	{"vanished_threads", ARR},
	{"process_vanished", BOOL},
	{"notes", ARR},
};
static const struct field aggregate[] = {
	{"signature", STR},	  {"count", INT}, {"duplicates", INT}, {"rate_limited", INT},
	{"counted_on", STR_NULL}, {"first", STR}, {"last", STR},
};

#define FIELDS(o, where, t) fields(o, where, t, sizeof(t) / sizeof(t[0]), why, cap)

static int check_threads(const json_t *threads, char *why, size_t cap)
{
	char at[96], fat[128];
	size_t i, j;
	json_t *t, *f;
	int r;

	if ((r = list(threads, "threads", CW_SPOOL_DOC_MAX_THREADS, OBJ, why, cap)) < 0)
		return r;
	json_array_foreach(threads, i, t)
	{
		const json_t *regs;

		snprintf(at, sizeof(at), "threads[%zu]", i);
		if ((r = FIELDS(t, at, thread)) < 0)
			return r;
		regs = json_object_get(t, "registers");
		snprintf(fat, sizeof(fat), "%s.registers", at);
		if (json_is_object(regs) && (r = map(regs, fat, 64, HEX, why, cap)) < 0)
			return r;
		snprintf(fat, sizeof(fat), "%s.frames", at);
		if ((r = list(json_object_get(t, "frames"), fat, CW_SPOOL_DOC_MAX_FRAMES, OBJ, why,
			      cap)) < 0)
			return r;
		json_array_foreach(json_object_get(t, "frames"), j, f)
		{
			snprintf(fat, sizeof(fat), "%s.frames[%zu]", at, j);
			if ((r = FIELDS(f, fat, frame)) < 0)
				return r;
		}
	}
	return 0;
}

int cw_spool_doc_check(const json_t *doc, const char *name, char *why, size_t cap)
{
	const json_t *v, *env;
	const char *uuid;
	char hex[33], at[96];
	time_t t;
	size_t i;
	json_t *m;
	int r;

	if ((r = FIELDS(doc, "the document", top)) < 0)
		return r;
	if (json_integer_value(json_object_get(doc, "version")) != CW_SNAPSHOT_VERSION) {
		snprintf(why, cap, "version %" JSON_INTEGER_FORMAT " is not %d (docs/snapshot.md)",
			 json_integer_value(json_object_get(doc, "version")), CW_SNAPSHOT_VERSION);
		return -EINVAL;
	}
	uuid = json_string_value(json_object_get(doc, "uuid"));
	if (!cw_upload_uuid_hex(uuid, hex))
		return bad(why, cap, "uuid", "a UUID");
	if (name && (strncmp(name, uuid, strlen(uuid)) || strcmp(name + strlen(uuid), ".json"))) {
		snprintf(why, cap, "its uuid %s is not its file's name", uuid);
		return -EINVAL;
	}
	if (cw_upload_unix_time(json_string_value(json_object_get(doc, "timestamp")), &t) < 0)
		return bad(why, cap, "timestamp", "a time (\"2026-11-23T19:10:28.913915Z\")");
	if ((r = FIELDS(json_object_get(doc, "host"), "host", host)) < 0 ||
	    (r = FIELDS(json_object_get(doc, "process"), "process", process)) < 0 ||
	    (r = FIELDS(json_object_get(doc, "container"), "container", container)) < 0 ||
	    (r = list(json_object_get(doc, "classifiers"), "classifiers", CW_SPOOL_DOC_MAX_LIST,
		      STR, why, cap)) < 0 ||
	    (r = map(json_object_get(doc, "attributes"), "attributes", CW_SPOOL_DOC_MAX_LIST, STR,
		     why, cap)) < 0)
		return r;
	env = json_object_get(json_object_get(doc, "process"), "environment");
	if (json_is_object(env) &&
	    (r = map(env, "process.environment", CW_SPOOL_DOC_MAX_LIST, STR, why, cap)) < 0)
		return r;
	v = json_object_get(doc, "signal");
	if (json_is_object(v) && (r = FIELDS(v, "signal", sig)) < 0)
		return r;
	if ((r = check_threads(json_object_get(doc, "threads"), why, cap)) < 0)
		return r;
	v = json_object_get(doc, "modules");
	if ((r = list(v, "modules", CW_SPOOL_DOC_MAX_LIST, OBJ, why, cap)) < 0)
		return r;
	json_array_foreach(v, i, m)
	{
		snprintf(at, sizeof(at), "modules[%zu]", i);
		if ((r = FIELDS(m, at, module)) < 0)
			return r;
	}
	v = json_object_get(doc, "capture");
	if ((r = FIELDS(v, "capture", capture)) < 0 ||
	    (r = list(json_object_get(v, "vanished_threads"), "capture.vanished_threads",
		      CW_SPOOL_DOC_MAX_THREADS, INT, why, cap)) < 0 ||
	    (r = list(json_object_get(v, "notes"), "capture.notes", CW_SPOOL_DOC_MAX_LIST, STR, why,
		      cap)) < 0)
		return r;
	v = json_object_get(doc, "aggregate");
	if (json_is_object(v) && (r = FIELDS(v, "aggregate", aggregate)) < 0)
		return r;
	return 0;
}

int cw_spool_doc_read(const char *dir, const char *name, json_t **doc, char *why, size_t cap)
{
	char path[4096], *buf = NULL;
	size_t len = 0, bound;
	json_error_t jerr;
	struct stat st;
	int fd, r;

	*doc = NULL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		snprintf(why, cap, "its path is too long");
		return -ENAMETOOLONG;
	}
	/* O_NONBLOCK: a FIFO planted there must not stop the uploader. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			return r; /* gone meanwhile (the spool bound dropped it) */
		if (r == -ELOOP)
			snprintf(why, cap, "a symbolic link, not a snapshot crashwatch wrote");
		else
			snprintf(why, cap, "failed to open it: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(why, cap, "failed to look at it: %s", strerror(-r));
		goto out;
	}
	r = -EPERM;
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, cap, "not a regular file, not a snapshot crashwatch wrote");
		goto out;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(why, cap,
			 "owned by uid %u, mode %04o: only a file of root's that no one else can "
			 "write is sent",
			 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	r = -EFBIG;
	if (st.st_size > (off_t)CW_SPOOL_DOC_MAX_BYTES) {
		snprintf(why, cap, "%lld bytes, more than a snapshot may have (%u)",
			 (long long)st.st_size, CW_SPOOL_DOC_MAX_BYTES);
		goto out;
	}
	/* Read within a bound whatever the size said: the file may grow meanwhile. */
	bound = (size_t)st.st_size + 4096;
	if (bound > CW_SPOOL_DOC_MAX_BYTES + 1u)
		bound = CW_SPOOL_DOC_MAX_BYTES + 1u;
	buf = malloc(bound);
	if (!buf) {
		r = -ENOMEM;
		snprintf(why, cap, "out of memory reading it");
		goto out;
	}
	for (;;) {
		ssize_t n = len < bound ? read(fd, buf + len, bound - len) : 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(why, cap, "failed to read it: %s", strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > (size_t)st.st_size) {
		r = -EFBIG;
		snprintf(why, cap, "it grew while it was read: not a finished snapshot");
		goto out;
	}
	*doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*doc) {
		r = -EINVAL;
		snprintf(why, cap, "not a JSON document: %s (line %d)", jerr.text, jerr.line);
		goto out;
	}
	r = cw_spool_doc_check(*doc, name, why, cap);
	if (r < 0) {
		json_decref(*doc);
		*doc = NULL;
	}
out:
	free(buf);
	close(fd);
	return r;
}
