// SPDX-License-Identifier: MIT
/*
 * A snapshot as a Backtrace JSON crash report, the object backtrace-go and
 * the Backtrace JavaScript SDKs post to coronerd's /post?format=json: uuid,
 * timestamp, lang, langVersion, agent, agentVersion, threads keyed by thread
 * id with frames {funcName, address, library, debug_identifier, line,
 * sourceCode}, mainThread, attributes, classifiers, sourceCode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upload_format.h"
#include "upload_snapshot.h"
#include "version.h"

int cw_backtrace_url(const char *endpoint, const char *token, char **url, char *err, size_t cap)
{
	static const char unreserved[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					 "0123456789-._~";
	size_t scheme_len, len, n;
	char *escaped, *o;

	*url = NULL;
	if (!endpoint ||
	    (strncmp(endpoint, "https://", 8) != 0 && strncmp(endpoint, "http://", 7) != 0)) {
		snprintf(err, cap,
			 "bad Backtrace endpoint: it must start with https:// or http:// (e.g. "
			 "https://UNIVERSE.sp.backtrace.io:6098)");
		return -EINVAL;
	}
	scheme_len = endpoint[4] == 's' ? 8 : 7;
	len = strlen(endpoint);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)endpoint[i] <= ' ' || endpoint[i] == 0x7f) {
			snprintf(err, cap,
				 "bad Backtrace endpoint: it contains a space or a control "
				 "character");
			return -EINVAL;
		}
	if (strpbrk(endpoint, "?#")) {
		snprintf(err, cap,
			 "bad Backtrace endpoint: it has a query or fragment ('?' or '#'); give "
			 "the server's URL only, the token separately");
		return -EINVAL;
	}
	/* "/post" is appended: a trailing slash would make it "//post". */
	while (len > scheme_len && endpoint[len - 1] == '/')
		len--;
	if (len == scheme_len || endpoint[scheme_len] == '/') {
		snprintf(err, cap, "bad Backtrace endpoint: it has no host after the scheme");
		return -EINVAL;
	}
	if (!token || !*token) {
		snprintf(err, cap,
			 "the Backtrace submission token is empty: give the project's "
			 "submission token");
		return -EINVAL;
	}
	n = strlen(token);
	escaped = o = malloc(3 * n + 1);
	if (!escaped)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)token[i];

		if (c && strchr(unreserved, c))
			*o++ = (char)c;
		else
			o += sprintf(o, "%%%02X", c);
	}
	*o = '\0';
	if (asprintf(url, "%.*s/post?format=json&token=%s", (int)len, endpoint, escaped) < 0) {
		*url = NULL;
		free(escaped);
		goto oom;
	}
	free(escaped);
	return 0;
oom:
	snprintf(err, cap, "failed to build the Backtrace URL: out of memory");
	return -ENOMEM;
}

static void set_default(json_t *attrs, const char *key, json_t *value)
{
	/* The user's --kv attributes win: they were given on purpose. */
	if (value && !json_object_get(attrs, key))
		json_object_set_new(attrs, key, value);
	else
		json_decref(value);
}

static json_t *str_or_nothing(const char *s)
{
	return s ? json_string(s) : NULL;
}

static json_t *attributes(const json_t *snap)
{
	json_t *given = json_object_get(snap, "attributes"), *v;
	json_t *host = json_object_get(snap, "host"), *proc = json_object_get(snap, "process");
	const char *kernel = cw_upload_str(host, "kernel"), *exe = cw_upload_str(proc, "exe");
	const char *key, *app = exe ? strrchr(exe, '/') : NULL;
	json_t *attrs = json_object();
	char *description = cw_upload_description(snap);

	/* Backtrace indexes scalars only. */
	json_object_foreach(given, key, v)
	{
		if (json_is_string(v) || json_is_number(v) || json_is_boolean(v))
			json_object_set(attrs, key, v);
	}
	app = app ? app + 1 : cw_upload_str(proc, "comm");
	set_default(attrs, "application", str_or_nothing(app));
	set_default(attrs, "hostname", str_or_nothing(cw_upload_str(host, "hostname")));
	if (json_is_integer(json_object_get(proc, "pid")))
		set_default(attrs, "process.id", json_deep_copy(json_object_get(proc, "pid")));
	set_default(attrs, "uname.sysname", json_string("Linux"));
	if (kernel) {
		size_t release = strcspn(kernel, " ");

		set_default(attrs, "uname.release", json_stringn(kernel, release));
		if (kernel[release])
			set_default(attrs, "uname.version", json_string(kernel + release + 1));
	}
	set_default(attrs, "uname.machine", str_or_nothing(cw_upload_str(host, "arch")));
	set_default(attrs, "error.message", str_or_nothing(description));
	if (json_is_object(json_object_get(snap, "signal")))
		set_default(attrs, "error.type", json_string("Crash"));
	/* Nothing crashed (docs/snapshot.md "Snapshots on request"): said so, not fatal. */
	if (!cw_upload_fatal(snap)) {
		const char *trigger = cw_upload_str(snap, "trigger");

		set_default(attrs, "crashwatch.trigger",
			    json_string(trigger ? trigger : "on-demand"));
		set_default(attrs, "crashwatch.fatal", json_false());
	}
	free(description);
	return attrs;
}

/* The id of file in the report's sourceCode map, added there when new. */
static json_t *source_id(json_t *source_code, json_t *ids, const char *file)
{
	json_t *id = json_object_get(ids, file);

	if (!id) {
		id = json_sprintf("%zu", json_object_size(ids) + 1);
		json_object_set_new(ids, file, id);
		json_object_set_new(source_code, json_string_value(id),
				    json_pack("{s:s}", "path", file));
	}
	return json_incref(id);
}

static json_t *frame(const json_t *f, json_t *source_code, json_t *ids)
{
	const char *function = cw_upload_str(f, "function"), *module = cw_upload_str(f, "module");
	const char *file = cw_upload_str(f, "file"), *pc = cw_upload_str(f, "pc");
	const char *offset = cw_upload_str(f, "module_offset");
	json_t *line = json_object_get(f, "line"), *o = json_object();

	/*
	 * Backtrace groups crashes by funcName: for a frame without a symbol the
	 * module and offset stay the same from one run to the next, the pc not.
	 */
	if (function)
		json_object_set_new(o, "funcName", json_string(function));
	else if (module && offset)
		json_object_set_new(
			o, "funcName",
			json_sprintf("%s+%s",
				     strrchr(module, '/') ? strrchr(module, '/') + 1 : module,
				     offset));
	else
		json_object_set_new(o, "funcName", json_string(pc ? pc : "??"));
	if (pc)
		json_object_set_new(o, "address", json_string(pc));
	if (module)
		json_object_set_new(o, "library", json_string(module));
	if (cw_upload_str(f, "build_id"))
		json_object_set_new(o, "debug_identifier",
				    json_string(cw_upload_str(f, "build_id")));
	if (file) {
		json_object_set_new(o, "sourceCode", source_id(source_code, ids, file));
		if (json_is_integer(line))
			json_object_set_new(o, "line", json_integer(json_integer_value(line)));
	}
	return o;
}

static json_t *thread(const json_t *t, const char *name, bool fault, json_t *source_code,
		      json_t *ids)
{
	json_t *stack = json_array(), *f;
	size_t i;

	/* Backtrace's stacks are innermost first, as the snapshot's are. */
	json_array_foreach(json_object_get(t, "frames"), i, f)
	{
		json_array_append_new(stack, frame(f, source_code, ids));
	}
	return json_pack("{s:s, s:b, s:o}", "name", name, "fault", fault, "stack", stack);
}

int cw_backtrace_report(const json_t *snap, json_t **report, char *err, size_t cap)
{
	const json_t *main, *t;
	json_t *threads, *source_code, *ids, *r, *classifiers;
	char main_id[96] = "";
	time_t when;
	size_t i;
	int rc = cw_upload_check(snap, err, cap);

	*report = NULL;
	if (rc)
		return rc;
	if (cw_upload_unix_time(cw_upload_str(snap, "timestamp"), &when) < 0) {
		snprintf(err, cap,
			 "the snapshot's timestamp '%.40s' is not of the form "
			 "2026-11-23T19:10:28.913915Z: take the snapshot again with "
			 "crashwatch-snapshot",
			 cw_upload_str(snap, "timestamp"));
		return -EINVAL;
	}
	main = cw_upload_main_thread(snap);
	threads = json_object();
	source_code = json_object();
	ids = json_object();
	json_array_foreach(json_object_get(snap, "threads"), i, t)
	{
		json_t *tid = json_object_get(t, "tid");
		const char *name = cw_upload_str(t, "name");
		char key[32];

		if (!json_is_integer(tid))
			continue;
		snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT, json_integer_value(tid));
		if (t == main)
			snprintf(main_id, sizeof(main_id), "%s", key);
		json_object_set_new(threads, key,
				    thread(t, name ? name : key,
					   json_is_true(json_object_get(t, "faulted")), source_code,
					   ids));
	}
	/* Goroutines beside the threads; a Go panic's goroutine is the main one. */
	json_array_foreach(json_object_get(snap, "goroutines"), i, t)
	{
		char name[96];
		bool fault = json_is_true(json_object_get(t, "faulted"));

		if (!cw_upload_goroutine_name(t, name, sizeof(name)))
			continue;
		if (fault && cw_upload_go_panic(snap))
			snprintf(main_id, sizeof(main_id), "%s", name);
		json_object_set_new(threads, name, thread(t, name, fault, source_code, ids));
	}
	if (!main_id[0]) {
		/*
		 * Nothing was captured (the process vanished): Backtrace still needs
		 * mainThread to name a thread, so the process stands in for it.
		 */
		json_t *proc = json_object_get(snap, "process");
		const char *comm = cw_upload_str(proc, "comm");

		snprintf(main_id, sizeof(main_id), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(proc, "pid")));
		json_object_set_new(
			threads, main_id,
			json_pack("{s:s, s:b, s:[]}", "name", comm ? comm : main_id, "fault",
				  json_is_object(json_object_get(snap, "signal")), "stack"));
	}
	classifiers = json_object_get(snap, "classifiers");
	r = json_object();
	json_object_set(r, "uuid", json_object_get(snap, "uuid"));
	json_object_set_new(r, "timestamp", json_integer((json_int_t)when));
	json_object_set_new(r, "lang", json_string(CW_BACKTRACE_LANG));
	json_object_set_new(r, "langVersion", json_string(CW_BACKTRACE_LANG_VERSION));
	json_object_set_new(r, "agent", json_string(CW_BACKTRACE_AGENT));
	json_object_set_new(r, "agentVersion", json_string(CW_VERSION));
	json_object_set_new(r, "threads", threads);
	json_object_set_new(r, "mainThread", json_string(main_id));
	json_object_set_new(r, "attributes", attributes(snap));
	json_object_set_new(r, "classifiers",
			    json_is_array(classifiers) ? json_deep_copy(classifiers)
						       : json_array());
	if (json_object_size(source_code))
		json_object_set_new(r, "sourceCode", source_code);
	else
		json_decref(source_code);
	json_decref(ids);
	*report = r;
	return 0;
}

int cw_backtrace_body(const json_t *snap, struct cw_upload_body *out, char *err, size_t cap)
{
	json_t *report;
	int r;

	memset(out, 0, sizeof(*out));
	r = cw_backtrace_report(snap, &report, err, cap);
	if (r)
		return r;
	return cw_upload_dump(report, CW_UPLOAD_CONTENT_JSON, out, err, cap);
}
