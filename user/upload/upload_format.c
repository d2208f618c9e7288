// SPDX-License-Identifier: MIT
/* The checks and readers every upload format shares, and the generic format. */
#include "upload_format.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot_json.h"
#include "upload_snapshot.h"

void cw_upload_body_free(struct cw_upload_body *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

int cw_upload_check(const json_t *snap, char *err, size_t cap)
{
	static const struct {
		const char *key;
		json_type type;
	} required[] = {{"uuid", JSON_STRING}, {"timestamp", JSON_STRING}, {"threads", JSON_ARRAY}};
	const json_t *v;

	if (!json_is_object(snap)) {
		snprintf(err, cap,
			 "the snapshot is not a JSON object: give a document written by "
			 "crashwatch-snapshot");
		return -EINVAL;
	}
	v = json_object_get(snap, "version");
	if (!json_is_integer(v)) {
		snprintf(err, cap,
			 "the snapshot has no integer 'version': it is not a crashwatch snapshot "
			 "(docs/snapshot.md)");
		return -EPROTO;
	}
	if (json_integer_value(v) != CW_SNAPSHOT_VERSION) {
		snprintf(
			err, cap,
			"snapshot version %" JSON_INTEGER_FORMAT " is not supported (this "
			"crashwatch reads version %d): upload it with the crashwatch that wrote it",
			json_integer_value(v), CW_SNAPSHOT_VERSION);
		return -EPROTO;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		v = json_object_get(snap, required[i].key);
		if (!v || json_typeof(v) != required[i].type) {
			snprintf(err, cap,
				 "the snapshot has no '%s' %s: it is truncated or was edited; take "
				 "it again with crashwatch-snapshot",
				 required[i].key,
				 required[i].type == JSON_ARRAY ? "array" : "string");
			return -EINVAL;
		}
	}
	return 0;
}

int cw_upload_generic(const json_t *snap, struct cw_upload_body *out, char *err, size_t cap)
{
	int r = cw_upload_check(snap, err, cap);

	memset(out, 0, sizeof(*out));
	if (r)
		return r;
	/* A copy, because the dump helper consumes the reference it is given. */
	return cw_upload_dump(json_deep_copy(snap), CW_UPLOAD_CONTENT_JSON, out, err, cap);
}

const char *cw_upload_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

bool cw_upload_hex(const json_t *v, uint64_t *out)
{
	const char *s = json_string_value(v);
	char *end;
	size_t n;

	if (!s || strncmp(s, "0x", 2) != 0)
		return false;
	n = strspn(s + 2, "0123456789abcdefABCDEF");
	if (n == 0 || n > 16 || s[2 + n])
		return false;
	*out = strtoull(s + 2, &end, 16);
	return *end == '\0';
}

json_t *cw_upload_hex_json(uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "0x%" PRIx64, v);
	return json_string(b);
}

bool cw_upload_uuid_hex(const char *uuid, char out[33])
{
	size_t o = 0;

	if (!uuid || strlen(uuid) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash) {
			if (uuid[i] != '-')
				return false;
			continue;
		}
		if (!isxdigit((unsigned char)uuid[i]))
			return false;
		out[o++] = (char)tolower((unsigned char)uuid[i]);
	}
	out[o] = '\0';
	return true;
}

const json_t *cw_upload_main_thread(const json_t *snap)
{
	const json_t *threads = json_object_get(snap, "threads"), *t;
	size_t i;

	json_array_foreach(threads, i, t)
	{
		if (json_is_true(json_object_get(t, "faulted")))
			return t;
	}
	t = json_array_get(threads, 0);
	return json_is_object(t) ? t : NULL;
}

bool cw_upload_classified(const json_t *snap, const char *name)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(snap, "classifiers"), i, c)
	{
		if (json_is_string(c) && strcmp(json_string_value(c), name) == 0)
			return true;
	}
	return false;
}

const json_t *cw_upload_go_panic(const json_t *snap)
{
	const json_t *p = json_object_get(json_object_get(snap, "go"), "panic");

	return json_is_object(p) ? p : NULL;
}

const json_t *cw_upload_faulted_goroutine(const json_t *snap)
{
	const json_t *g;
	size_t i;

	json_array_foreach(json_object_get(snap, "goroutines"), i, g)
	{
		if (json_is_true(json_object_get(g, "faulted")))
			return g;
	}
	return NULL;
}

const char *cw_upload_goroutine_name(const json_t *g, char *buf, size_t cap)
{
	const json_t *id = json_object_get(g, "id");
	const char *why = cw_upload_str(g, "wait_reason");

	if (!json_is_integer(id))
		return NULL;
	if (!why)
		why = cw_upload_str(g, "status");
	if (why)
		snprintf(buf, cap, "goroutine %" JSON_INTEGER_FORMAT " [%.64s]",
			 json_integer_value(id), why);
	else
		snprintf(buf, cap, "goroutine %" JSON_INTEGER_FORMAT, json_integer_value(id));
	return buf;
}

const char *cw_upload_cause(const json_t *snap)
{
	const json_t *sig = json_object_get(snap, "signal"),
		     *cls = json_object_get(snap, "classifiers");
	const char *last, *name, *code;

	/*
	 * docs/snapshot.md: the given classifiers, then the signal's name, its
	 * si_code's name and at most one cause, so a cause can only be the last
	 * one, and only when it is neither of the names before it.
	 */
	if (!json_is_object(sig) || !json_array_size(cls))
		return NULL;
	last = json_string_value(json_array_get(cls, json_array_size(cls) - 1));
	name = cw_upload_str(sig, "name");
	code = cw_upload_str(sig, "code_name");
	if (!last || (name && strcmp(last, name) == 0) || (code && strcmp(last, code) == 0))
		return NULL;
	return last;
}

bool cw_upload_fatal(const json_t *snap)
{
	const char *trigger = cw_upload_str(snap, "trigger");

	if (trigger)
		return strcmp(trigger, "crash") == 0;
	return json_is_object(json_object_get(snap, "signal")) || cw_upload_go_panic(snap) ||
	       cw_upload_str(json_object_get(snap, "go"), "fatal_error");
}

bool cw_upload_requested(const json_t *snap)
{
	const char *trigger = cw_upload_str(snap, "trigger");

	return trigger && strcmp(trigger, "request") == 0;
}

char *cw_upload_description(const json_t *snap)
{
	const json_t *sig = json_object_get(snap, "signal"),
		     *proc = json_object_get(snap, "process");
	const json_t *sender;
	const char *cause = cw_upload_cause(snap), *what, *addr;
	char number[32] = "", from[48] = "";
	const json_t *panic = cw_upload_go_panic(snap);
	const char *fatal = cw_upload_str(json_object_get(snap, "go"), "fatal_error");
	char *s = NULL;
	const char *line = cw_upload_str(snap, "cause");

	/* docs/snapshot.md "cause": the line a person reads first, made once by the writer. */
	if (line)
		return strdup(line);
	/* Documents without one: a Go fatal error, in the runtime's words. */
	if (fatal) {
		if (asprintf(&s, "fatal error: %s", fatal) < 0)
			return NULL;
		return s;
	}
	/* A Go panic says why in Go's own words (the message Go prints after "panic: "). */
	if (panic) {
		const char *msg = cw_upload_str(panic, "message"),
			   *type = cw_upload_str(panic, "type");

		if (asprintf(&s, "panic: %s", msg ? msg : type ? type : "(unknown value)") < 0)
			return NULL;
		return s;
	}
	if (!json_is_object(sig)) {
		const char *comm = cw_upload_str(proc, "comm");
		json_t *pid = json_object_get(proc, "pid");

		if (asprintf(&s, "snapshot of %s (pid %" JSON_INTEGER_FORMAT ")",
			     comm ? comm : "a process", json_integer_value(pid)) < 0)
			return NULL;
		return s;
	}
	what = cw_upload_str(sig, "code_name");
	if (!what)
		what = cw_upload_str(sig, "name");
	if (!what) {
		snprintf(number, sizeof(number), "signal %" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(sig, "number")));
		what = number;
	}
	addr = cw_upload_str(sig, "address");
	sender = json_object_get(sig, "sender_pid");
	if (json_is_integer(sender))
		snprintf(from, sizeof(from), " sent by pid %" JSON_INTEGER_FORMAT,
			 json_integer_value(sender));
	if (asprintf(&s, "%s%s%s%s%s%s", cause ? cause : "", cause ? ": " : "", what,
		     addr ? " at " : "", addr ? addr : "", from) < 0)
		return NULL;
	return s;
}

int cw_upload_unix_time(const char *iso, time_t *out)
{
	struct tm tm = {0};
	const char *rest;

	if (!iso)
		return -EINVAL;
	rest = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return -EINVAL;
	if (*rest == '.') {
		size_t digits = strspn(++rest, "0123456789");

		if (!digits)
			return -EINVAL;
		rest += digits;
	}
	if (strcmp(rest, "Z") != 0)
		return -EINVAL;
	*out = timegm(&tm);
	return 0;
}

int cw_upload_dump(json_t *doc, const char *content_type, struct cw_upload_body *out, char *err,
		   size_t cap)
{
	char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	if (!s) {
		snprintf(err, cap, "failed to build the upload body: out of memory");
		return -ENOMEM;
	}
	out->data = s;
	out->len = strlen(s);
	out->content_type = content_type;
	return 0;
}
