// SPDX-License-Identifier: MIT
/*
 * A snapshot as a Sentry event in an envelope (develop.sentry.dev: "Envelopes",
 * "Event Payloads"): the exception of the faulted thread, every thread, the
 * loaded ELF images for server-side symbolication.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upload_format.h"
#include "upload_snapshot.h"
#include "version.h"

#define DSN_FORM "https://KEY@HOST/PROJECT_ID"

static int dsn_error(struct cw_sentry_dsn *out, char *err, size_t cap, const char *what)
{
	cw_sentry_dsn_free(out);
	snprintf(err, cap,
		 "bad Sentry DSN: %s (expected %s, as the project's Client Keys page gives it)",
		 what, DSN_FORM);
	return -EINVAL;
}

/* NULL when [p, at) is KEY or KEY:SECRET, else why not; *len is KEY's length. */
static const char *key_problem(const char *p, const char *at, size_t *len)
{
	if (memchr(p, '@', (size_t)(at - p)))
		return "it has more than one '@'";
	/* KEY:SECRET is the old form; the secret is no longer sent anywhere. */
	*len = strcspn(p, ":@");
	if (*len == 0)
		return "its public key before '@' is empty";
	for (size_t i = 0; i < *len; i++)
		if (!isalnum((unsigned char)p[i]))
			return "its public key has characters other than letters and digits";
	return NULL;
}

/* NULL when [host, slash) is HOST[:PORT] or [IPV6][:PORT], else why not. */
static const char *host_problem(const char *host, const char *slash)
{
	const char *end = slash, *port = NULL;

	if (*host == '[') { /* an IPv6 literal holds colons of its own */
		const char *close = memchr(host, ']', (size_t)(slash - host));

		if (!close)
			return "its IPv6 host has no closing ']'";
		if (close + 1 < slash && close[1] != ':')
			return "its IPv6 host is followed by junk";
		if (close + 1 < slash)
			port = close + 2;
		end = close + 1;
	} else {
		port = memchr(host, ':', (size_t)(slash - host));
		if (port)
			end = port++;
	}
	if (end == host || (*host == '[' && end - host <= 2))
		return "it has no host after '@'";
	if (port) {
		size_t n = (size_t)(slash - port);
		long v;

		if (n == 0 || n > 5 || strspn(port, "0123456789") != n)
			return "its port is not a number";
		v = strtol(port, NULL, 10);
		if (v < 1 || v > 65535)
			return "its port is not from 1 to 65535";
	}
	return NULL;
}

/*
 * NULL when path is [/PREFIX]/PROJECT_ID (one trailing '/' forgiven), else
 * why not, in what; *id and *id_len locate PROJECT_ID.
 */
static const char *project_problem(const char *path, const char **id, size_t *id_len, char *what,
				   size_t cap)
{
	size_t len = strlen(path);

	if (len > 1 && path[len - 1] == '/')
		len--;
	*id = path + len;
	while (*id > path && (*id)[-1] != '/')
		(*id)--;
	*id_len = (size_t)(path + len - *id);
	if (*id_len == 0)
		return "it has no project id after the last '/'";
	if (strspn(*id, "0123456789") < *id_len) {
		snprintf(what, cap, "its project id '%.*s' is not a number", (int)*id_len, *id);
		return what;
	}
	return NULL;
}

int cw_sentry_dsn_parse(const char *dsn, struct cw_sentry_dsn *out, char *err, size_t cap)
{
	const char *scheme, *p, *slash, *at, *id, *why;
	size_t key_len = 0, id_len = 0;
	char what[160];

	memset(out, 0, sizeof(*out));
	if (!dsn || !*dsn)
		return dsn_error(out, err, cap, "it is empty");
	for (p = dsn; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return dsn_error(out, err, cap,
					 "it contains a space or a control character");
	if (strpbrk(dsn, "?#"))
		return dsn_error(out, err, cap, "it has a query or fragment ('?' or '#')");
	if (strncmp(dsn, "https://", 8) == 0)
		scheme = "https";
	else if (strncmp(dsn, "http://", 7) == 0)
		scheme = "http";
	else
		return dsn_error(out, err, cap, "it does not start with https:// or http://");
	p = dsn + strlen(scheme) + 3;
	slash = strchr(p, '/');
	if (!slash)
		return dsn_error(out, err, cap, "it has no project id");
	at = memrchr(p, '@', (size_t)(slash - p));
	if (!at)
		return dsn_error(out, err, cap, "it has no public key before '@'");
	why = key_problem(p, at, &key_len);
	if (!why)
		why = host_problem(at + 1, slash);
	if (!why)
		why = project_problem(slash, &id, &id_len, what, sizeof(what));
	if (why)
		return dsn_error(out, err, cap, why);

	out->dsn = strdup(dsn);
	out->public_key = strndup(p, key_len);
	out->project_id = strndup(id, id_len);
	/* [slash, id) is the prefix with both its slashes, or just "/". */
	if (asprintf(&out->envelope_url, "%s://%.*s%.*sapi/%.*s/envelope/", scheme,
		     (int)(slash - at - 1), at + 1, (int)(id - slash), slash, (int)id_len, id) < 0)
		out->envelope_url = NULL;
	if (asprintf(&out->auth,
		     "Sentry sentry_version=7, sentry_key=%.*s, sentry_client=crashwatch/%s",
		     (int)key_len, p, CW_VERSION) < 0)
		out->auth = NULL;
	if (!out->dsn || !out->public_key || !out->project_id || !out->envelope_url || !out->auth) {
		cw_sentry_dsn_free(out);
		snprintf(err, cap, "failed to parse the Sentry DSN: out of memory");
		return -ENOMEM;
	}
	return 0;
}

void cw_sentry_dsn_free(struct cw_sentry_dsn *d)
{
	if (!d)
		return;
	free(d->dsn);
	free(d->public_key);
	free(d->project_id);
	free(d->envelope_url);
	free(d->auth);
	memset(d, 0, sizeof(*d));
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int cw_sentry_debug_id(const char *build_id, char out[CW_SENTRY_DEBUG_ID_LEN + 1])
{
	unsigned char b[16] = {0};
	size_t n = build_id ? strlen(build_id) : 0;

	if (n == 0 || n % 2)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(build_id[2 * i]), lo = hex_digit(build_id[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (i < sizeof(b))
			b[i] = (unsigned char)(hi << 4 | lo);
	}
	/* A GUID's first three fields are little-endian numbers in the bytes. */
	snprintf(out, CW_SENTRY_DEBUG_ID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3], b[2],
		 b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return 0;
}

static void set_str(json_t *o, const char *key, const char *value)
{
	if (value)
		json_object_set_new(o, key, json_string(value));
}

static json_t *frame(const json_t *f, bool exact)
{
	const json_t *line = json_object_get(f, "line"),
		     *off = json_object_get(f, "function_offset");
	const char *function = cw_upload_str(f, "function");
	uint64_t pc;
	json_t *o;

	if (!cw_upload_hex(json_object_get(f, "pc"), &pc))
		return NULL;
	o = json_object();
	/*
	 * The stack trace says "no adjustment": the snapshot knows which pcs are
	 * return addresses (all but the first and the signal frames) and looks
	 * those up at pc - 1, so Sentry is given the same address, the call's.
	 */
	json_object_set_new(o, "instruction_addr", cw_upload_hex_json(exact ? pc : pc - 1));
	set_str(o, "function", function);
	if (function && json_is_integer(off))
		json_object_set_new(o, "symbol_addr",
				    cw_upload_hex_json(pc - (uint64_t)json_integer_value(off)));
	set_str(o, "package", cw_upload_str(f, "module"));
	set_str(o, "filename", cw_upload_str(f, "file"));
	if (cw_upload_str(f, "file") && json_is_integer(line))
		json_object_set_new(o, "lineno", json_integer(json_integer_value(line)));
	return o;
}

static json_t *stacktrace(const json_t *thread)
{
	const json_t *frames = json_object_get(thread, "frames"),
		     *regs = json_object_get(thread, "registers");
	json_t *st, *arr = json_array();

	/* Sentry lists frames oldest first; the snapshot innermost first. */
	for (size_t i = json_array_size(frames); i-- > 0;) {
		const json_t *f = json_array_get(frames, i);
		json_t *sf = frame(f, i == 0 || json_is_true(json_object_get(f, "signal_frame")));

		if (sf)
			json_array_append_new(arr, sf);
	}
	if (!json_array_size(arr)) { /* Sentry refuses a stack trace without frames */
		json_decref(arr);
		return NULL;
	}
	st = json_object();
	json_object_set_new(st, "frames", arr);
	json_object_set_new(st, "instruction_addr_adjustment", json_string("none"));
	if (json_is_object(regs))
		json_object_set_new(st, "registers", json_deep_copy(regs));
	return st;
}

/*
 * Goroutines listed beside the OS threads: their ids are offset so that
 * they never meet a thread id (tids are below 2^22, pid_max's bound).
 */
#define GOROUTINE_ID_BASE (1LL << 32)

static json_t *goroutine_thread_id(const json_t *g)
{
	return json_integer(GOROUTINE_ID_BASE + json_integer_value(json_object_get(g, "id")));
}

static json_t *exception(const json_t *snap, const json_t *main, const char *description)
{
	const json_t *sig = json_object_get(snap, "signal"), *panic = cw_upload_go_panic(snap),
		     *g = cw_upload_faulted_goroutine(snap);
	const json_t *attrs = json_object_get(snap, "attributes");
	const char *cxx_type = cw_upload_str(attrs, "exception.type");
	bool rust_panic = cw_upload_classified(snap, "rust-panic");
	json_t *ex = json_object(), *mech = json_object(), *st;

	/* A Go panic: the panicking goroutine's stack, not the OS thread's. */
	if (panic && g)
		main = g;
	st = main ? stacktrace(main) : NULL;
	if (cxx_type || rust_panic) {
		/*
		 * Why in the program's own terms: the C++ exception's type (its
		 * what() is in the value, the cause line), or a Rust panic.
		 */
		json_object_set_new(ex, "type", json_string(cxx_type ? cxx_type : "panic"));
		json_object_set_new(mech, "type",
				    json_string(cxx_type ? "cpp-exception" : "rust-panic"));
		json_object_set_new(mech, "handled", json_false());
		if (json_is_object(sig)) {
			json_t *meta_sig = json_object();

			json_object_set(meta_sig, "number", json_object_get(sig, "number"));
			set_str(meta_sig, "name", cw_upload_str(sig, "name"));
			json_object_set_new(mech, "meta", json_pack("{s:o}", "signal", meta_sig));
		}
	} else if (panic) {
		const char *type = cw_upload_str(panic, "type");

		json_object_set_new(ex, "type", json_string(type ? type : "panic"));
		json_object_set_new(mech, "type", json_string("go-panic"));
		json_object_set_new(mech, "handled", json_false());
	} else if (json_is_object(sig)) {
		static const char *const keys[] = {"number", "code", "name", "code_name"};
		json_t *meta_sig = json_object(), *data = json_object();
		const char *name = cw_upload_str(sig, "name");

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			json_t *v = json_object_get(sig, keys[i]);

			if (v && !json_is_null(v))
				json_object_set(meta_sig, keys[i], v);
		}
		if (name)
			set_str(ex, "type", name);
		else
			json_object_set_new(ex, "type", json_string("signal"));
		json_object_set_new(mech, "type", json_string("signalhandler"));
		json_object_set_new(mech, "handled", json_false());
		json_object_set_new(mech, "meta", json_pack("{s:o}", "signal", meta_sig));
		set_str(data, "fault_address", cw_upload_str(sig, "address"));
		if (json_is_integer(json_object_get(sig, "sender_pid")))
			json_object_set(data, "sender_pid", json_object_get(sig, "sender_pid"));
		if (json_object_size(data))
			json_object_set_new(mech, "data", data);
		else
			json_decref(data);
	} else {
		/*
		 * An on-demand snapshot or one asked for on the request socket:
		 * nothing crashed, the stack is the point.  The error's type when
		 * the requester gave one (docs/snapshot.md "Snapshots on request").
		 */
		const char *type = cw_upload_str(json_object_get(snap, "attributes"), "error.type");

		json_object_set_new(ex, "type", json_string(type ? type : "Snapshot"));
		json_object_set_new(mech, "type",
				    json_string(cw_upload_requested(snap) ? "crashwatch-request"
									  : "crashwatch-snapshot"));
		json_object_set_new(mech, "handled", json_true());
	}
	set_str(ex, "value", description);
	json_object_set_new(ex, "mechanism", mech);
	if (main && json_is_integer(json_object_get(main, "tid")))
		json_object_set(ex, "thread_id", json_object_get(main, "tid"));
	else if (main && json_is_integer(json_object_get(main, "id")))
		json_object_set_new(ex, "thread_id", goroutine_thread_id(main));
	if (st)
		json_object_set_new(ex, "stacktrace", st);
	return json_pack("{s:[o]}", "values", ex);
}

/* One entry of the event's threads: a thread, or a goroutine as one. */
static json_t *thread_value(json_t *id, const char *name, const json_t *t, const json_t *main)
{
	json_t *o = json_object(), *st;

	json_object_set_new(o, "id", id);
	set_str(o, "name", name);
	json_object_set_new(o, "crashed",
			    json_boolean(json_is_true(json_object_get(t, "faulted"))));
	json_object_set_new(o, "current", json_boolean(t == main));
	st = stacktrace(t);
	if (st)
		json_object_set_new(o, "stacktrace", st);
	return o;
}

static void goroutines(const json_t *snap, const json_t *main, json_t *values)
{
	const json_t *g;
	char name[96];
	size_t i;

	json_array_foreach(json_object_get(snap, "goroutines"), i, g)
	{
		if (cw_upload_goroutine_name(g, name, sizeof(name)))
			json_array_append_new(values,
					      thread_value(goroutine_thread_id(g), name, g, main));
	}
}

static json_t *threads(const json_t *snap, const json_t *main)
{
	const json_t *t;
	json_t *values = json_array();
	size_t i;

	json_array_foreach(json_object_get(snap, "threads"), i, t)
	{
		json_t *tid = json_object_get(t, "tid");

		if (json_is_integer(tid))
			json_array_append_new(
				values,
				thread_value(json_incref(tid), cw_upload_str(t, "name"), t, main));
	}
	goroutines(snap, main, values);
	return json_pack("{s:o}", "values", values);
}

static json_t *images(const json_t *snap)
{
	const json_t *m;
	json_t *arr = json_array();
	size_t i;

	json_array_foreach(json_object_get(snap, "modules"), i, m)
	{
		const char *path = cw_upload_str(m, "path"),
			   *build_id = cw_upload_str(m, "build_id");
		char debug_id[CW_SENTRY_DEBUG_ID_LEN + 1];
		uint64_t start, end;

		/* Sentry matches images by debug id: one without a build-id helps nothing. */
		if (!path || !build_id || cw_sentry_debug_id(build_id, debug_id) < 0 ||
		    !cw_upload_hex(json_object_get(m, "start"), &start) ||
		    !cw_upload_hex(json_object_get(m, "end"), &end) || end < start)
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:o, s:I}", "type",
						     "elf", "code_id", build_id, "debug_id",
						     debug_id, "code_file", path, "image_addr",
						     cw_upload_hex_json(start), "image_size",
						     (json_int_t)(end - start)));
	}
	return json_pack("{s:o}", "images", arr);
}

static json_t *contexts(const json_t *snap)
{
	const json_t *host = json_object_get(snap, "host");
	const char *kernel = cw_upload_str(host, "kernel"), *arch = cw_upload_str(host, "arch");
	json_t *c = json_object(), *os = json_pack("{s:s, s:s}", "type", "os", "name", "Linux");

	if (kernel) {
		json_object_set_new(os, "version", json_stringn(kernel, strcspn(kernel, " ")));
		json_object_set_new(os, "kernel_version", json_string(kernel));
	}
	json_object_set_new(c, "os", os);
	if (arch)
		json_object_set_new(c, "device",
				    json_pack("{s:s, s:s}", "type", "device", "arch", arch));
	return c;
}

/* Relay's rule for tag keys; a value longer than 200 characters is dropped there. */
static bool tag_key_ok(const char *k)
{
	size_t n = strlen(k);

	return n > 0 && n <= 200 &&
	       strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-") == n;
}

static void tags_and_extra(json_t *event, const json_t *snap)
{
	static const char *const extras[] = {"attributes", "classifiers", "process",
					     "signal",	   "capture",	  "requested_by"};
	json_t *sig = json_object_get(snap, "signal"), *attrs = json_object_get(snap, "attributes"),
	       *v;
	const char *cause = cw_upload_cause(snap), *key;
	json_t *tags = json_object(), *extra = json_object();

	json_object_foreach(attrs, key, v)
	{
		if (json_is_string(v) && tag_key_ok(key) && json_string_length(v) <= 200)
			json_object_set(tags, key, v);
	}
	/* Set after the attributes: these name the crash and must not be overridden. */
	set_str(tags, "signal", cw_upload_str(sig, "name"));
	set_str(tags, "signal.code", cw_upload_str(sig, "code_name"));
	set_str(tags, "cause", cause);
	set_str(tags, "trigger", cw_upload_str(snap, "trigger"));
	for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
		v = json_object_get(snap, extras[i]);
		if (v && !json_is_null(v))
			json_object_set_new(extra, extras[i], json_deep_copy(v));
	}
	json_object_set_new(event, "tags", tags);
	json_object_set_new(event, "extra", extra);
}

/*
 * A crash is fatal; a snapshot nothing crashed for is not: "warning" when
 * the requester gave an error, else "info".
 */
static const char *level(const json_t *snap)
{
	if (!cw_upload_fatal(snap))
		return cw_upload_str(json_object_get(snap, "attributes"), "error") ? "warning"
										   : "info";
	return "fatal";
}

int cw_sentry_event(const json_t *snap, json_t **event, char *err, size_t cap)
{
	const json_t *attrs, *main;
	const char *uuid, *release, *environment;
	char event_id[33], *description;
	json_t *e;
	int r = cw_upload_check(snap, err, cap);

	*event = NULL;
	if (r)
		return r;
	uuid = cw_upload_str(snap, "uuid");
	if (!cw_upload_uuid_hex(uuid, event_id)) {
		snprintf(err, cap,
			 "the snapshot's uuid '%.40s' is not a UUID: Sentry needs one as the "
			 "event id; take the snapshot again with crashwatch-snapshot",
			 uuid);
		return -EINVAL;
	}
	attrs = json_object_get(snap, "attributes");
	main = cw_upload_main_thread(snap);
	description = cw_upload_description(snap);
	release = cw_upload_str(attrs, "release");
	if (!release)
		release = cw_upload_str(attrs, "version");
	environment = cw_upload_str(attrs, "environment");

	e = json_object();
	json_object_set_new(e, "event_id", json_string(event_id));
	json_object_set(e, "timestamp", json_object_get(snap, "timestamp"));
	json_object_set_new(e, "platform", json_string("native"));
	json_object_set_new(e, "level", json_string(level(snap)));
	set_str(e, "server_name", cw_upload_str(json_object_get(snap, "host"), "hostname"));
	set_str(e, "release", release);
	set_str(e, "environment", environment);
	json_object_set_new(e, "sdk",
			    json_pack("{s:s, s:s}", "name", "crashwatch", "version", CW_VERSION));
	tags_and_extra(e, snap);
	json_object_set_new(e, "contexts", contexts(snap));
	json_object_set_new(e, "exception", exception(snap, main, description));
	json_object_set_new(
		e, "threads",
		threads(snap, cw_upload_go_panic(snap) && cw_upload_faulted_goroutine(snap)
				      ? cw_upload_faulted_goroutine(snap)
				      : main));
	json_object_set_new(e, "debug_meta", images(snap));
	free(description);
	*event = e;
	return 0;
}

int cw_sentry_envelope_attach(struct cw_upload_body *b, const struct cw_upload_attachment *att)
{
	json_t *h = json_pack("{s:s, s:I, s:s, s:s, s:s}", "type", "attachment", "length",
			      (json_int_t)att->len, "filename", att->filename, "content_type",
			      att->content_type, "attachment_type", "event.attachment");
	char *head = h ? json_dumps(h, JSON_COMPACT) : NULL;
	size_t hl = head ? strlen(head) : 0;
	char *nd = head ? realloc(b->data, b->len + hl + 1 + att->len + 2) : NULL;

	json_decref(h);
	if (!nd) {
		free(head);
		return -ENOMEM;
	}
	b->data = nd;
	memcpy(b->data + b->len, head, hl);
	b->data[b->len + hl] = '\n';
	memcpy(b->data + b->len + hl + 1, att->data, att->len);
	b->len += hl + 1 + att->len;
	b->data[b->len++] = '\n';
	b->data[b->len] = '\0';
	free(head);
	return 0;
}

int cw_sentry_envelope(const json_t *snap, const struct cw_sentry_dsn *dsn, time_t sent_at,
		       struct cw_upload_body *out, char *err, size_t cap)
{
	json_t *event = NULL;
	char *payload = NULL, *head = NULL, *item = NULL, at[32];
	struct tm tm;
	int r;

	memset(out, 0, sizeof(*out));
	if (!dsn || !dsn->dsn) {
		snprintf(err, cap, "no Sentry DSN to address the envelope to: parse one first");
		return -EINVAL;
	}
	r = cw_sentry_event(snap, &event, err, cap);
	if (r)
		return r;
	gmtime_r(&sent_at, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	payload = json_dumps(event, JSON_COMPACT);
	if (payload) {
		json_t *h =
			json_pack("{s:O, s:s, s:s}", "event_id", json_object_get(event, "event_id"),
				  "dsn", dsn->dsn, "sent_at", at);
		json_t *i = json_pack("{s:s, s:I, s:s}", "type", "event", "length",
				      (json_int_t)strlen(payload), "content_type",
				      CW_UPLOAD_CONTENT_JSON);

		head = h ? json_dumps(h, JSON_COMPACT) : NULL;
		item = i ? json_dumps(i, JSON_COMPACT) : NULL;
		json_decref(h);
		json_decref(i);
	}
	r = -ENOMEM;
	if (head && item && asprintf(&out->data, "%s\n%s\n%s\n", head, item, payload) >= 0) {
		out->len = strlen(out->data);
		out->content_type = CW_UPLOAD_CONTENT_SENTRY;
		r = 0;
	} else {
		out->data = NULL;
		snprintf(err, cap, "failed to build the Sentry envelope: out of memory");
	}
	json_decref(event);
	free(payload);
	free(head);
	free(item);
	return r;
}
