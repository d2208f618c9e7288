// SPDX-License-Identifier: MIT
/* The upload payloads built from a snapshot: generic, Sentry envelope, Backtrace report. */
#include "cw_test.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

#include "upload_format.h"
#include "version.h"

/*
 * A NULL dereference in a worker of a 2-thread process, as crashwatch-snapshot
 * writes it: the main thread parked in pause(), the faulted worker with its
 * frames innermost first; an anonymous mapping's module has no build-id.
 */
static const char snapshot_text[] =
	"{\"version\": 1,"
	" \"uuid\": \"95A9DA7A-1d6e-4f2e-8f15-96b4bb171933\","
	" \"timestamp\": \"2026-11-23T19:10:28.913915Z\","
	" \"host\": {\"hostname\": \"vm\", \"kernel\": \"6.18.44 #1 SMP PREEMPT_DYNAMIC\","
	"          \"arch\": \"x86_64\"},"
	" \"process\": {\"pid\": 3780, \"ppid\": 3779, \"uid\": 0, \"gid\": 0,"
	"   \"comm\": \"null_deref_thre\", \"exe\": \"/opt/app/null_deref_threads\","
	"   \"cmdline\": \"/opt/app/null_deref_threads\", \"cwd\": \"/\", \"cgroup\": \"/\","
	"   \"start_time\": \"2026-11-23T19:10:28.313915Z\"},"
	" \"signal\": {\"number\": 11, \"name\": \"SIGSEGV\", \"code\": 1,"
	"   \"code_name\": \"SEGV_MAPERR\", \"address\": \"0x0\", \"sender_pid\": null},"
	" \"classifiers\": [\"SIGSEGV\", \"SEGV_MAPERR\", \"null-pointer-dereference\"],"
	" \"attributes\": {\"release\": \"2.4.1\", \"region\": \"eu-west\","
	"   \"bad key!\": \"not a tag\"},"
	" \"threads\": ["
	"  {\"tid\": 3780, \"name\": \"null_deref_thre\", \"state\": \"S\", \"faulted\": false,"
	"   \"registers\": {\"rip\": \"0x7f9a0b126dd0\", \"rsp\": \"0x7ffc10002000\"},"
	"   \"frames\": ["
	"    {\"index\": 0, \"pc\": \"0x7f9a0b126dd0\", \"function\": \"pause\","
	"     \"function_offset\": 16, \"module\": \"/usr/lib/x86_64-linux-gnu/libc.so.6\","
	"     \"module_offset\": \"0xd3dd0\","
	"     \"build_id\": \"93ac61ec5a8eb1396f9fbd350e3169a558528a40\","
	"     \"file\": \"../sysdeps/unix/sysv/linux/pause.c\", \"line\": 29,"
	"     \"signal_frame\": false},"
	"    {\"index\": 1, \"pc\": \"0x55978e6d7300\", \"function\": \"main\","
	"     \"function_offset\": 64, \"module\": \"/opt/app/null_deref_threads\","
	"     \"module_offset\": \"0x1300\","
	"     \"build_id\": \"a3c5fd63ecd7adf7c4482369ce20d97fd70819ba\","
	"     \"file\": \"null_deref_threads.c\", \"line\": 40, \"signal_frame\": false}],"
	"   \"frames_truncated\": false, \"stack_truncated\": false, \"error\": null},"
	"  {\"tid\": 3783, \"name\": \"worker\", \"state\": \"R\", \"faulted\": true,"
	"   \"registers\": {\"rip\": \"0x55978e6d726c\", \"rsp\": \"0x7f9a0a7fee00\"},"
	"   \"frames\": ["
	"    {\"index\": 0, \"pc\": \"0x55978e6d726c\", \"function\": \"worker_crash\","
	"     \"function_offset\": 49, \"module\": \"/opt/app/null_deref_threads\","
	"     \"module_offset\": \"0x126c\","
	"     \"build_id\": \"a3c5fd63ecd7adf7c4482369ce20d97fd70819ba\","
	"     \"file\": \"null_deref_threads.c\", \"line\": 16, \"signal_frame\": false},"
	"    {\"index\": 1, \"pc\": \"0x55978e6d72a9\", \"function\": \"worker\","
	"     \"function_offset\": 52, \"module\": \"/opt/app/null_deref_threads\","
	"     \"module_offset\": \"0x12a9\","
	"     \"build_id\": \"a3c5fd63ecd7adf7c4482369ce20d97fd70819ba\","
	"     \"file\": \"null_deref_threads.c\", \"line\": 25, \"signal_frame\": true},"
	"    {\"index\": 2, \"pc\": \"0x7f9a0b0b91f5\", \"function\": null,"
	"     \"function_offset\": null, \"module\": \"/usr/lib/x86_64-linux-gnu/libc.so.6\","
	"     \"module_offset\": \"0x891f5\","
	"     \"build_id\": \"93ac61ec5a8eb1396f9fbd350e3169a558528a40\","
	"     \"file\": null, \"line\": null, \"signal_frame\": false}],"
	"   \"frames_truncated\": false, \"stack_truncated\": false, \"error\": null}],"
	" \"modules\": ["
	"  {\"path\": \"/opt/app/null_deref_threads\", \"start\": \"0x55978e6d6000\","
	"   \"end\": \"0x55978e6db000\", \"build_id\": "
	"\"a3c5fd63ecd7adf7c4482369ce20d97fd70819ba\"},"
	"  {\"path\": \"/usr/lib/x86_64-linux-gnu/libc.so.6\", \"start\": \"0x7f9a0b030000\","
	"   \"end\": \"0x7f9a0b205000\", \"build_id\": "
	"\"93ac61ec5a8eb1396f9fbd350e3169a558528a40\"},"
	"  {\"path\": \"/memfd:jit (deleted)\", \"start\": \"0x7f9a0c000000\","
	"   \"end\": \"0x7f9a0c001000\", \"build_id\": null}],"
	" \"capture\": {\"method\": \"ptrace\", \"pause_ms\": 0.47, \"total_ms\": 5.9,"
	"   \"tool\": \"crashwatch-snapshot\", \"tool_version\": \"0.1.0\","
	"   \"vanished_threads\": [], \"process_vanished\": false, \"notes\": []}}";

#define SNAPSHOT_UNIX_TIME 1795461028 /* 2026-11-23T19:10:28Z */

static json_t *snapshot(void)
{
	json_error_t e;
	json_t *doc = json_loads(snapshot_text, 0, &e);

	if (!doc)
		fail_msg("test snapshot: %s at line %d", e.text, e.line);
	return doc;
}

/* o["a"]["b"]... for a path "a/b/0/c" (a number indexes an array; keys may hold dots). */
static json_t *at(json_t *o, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, "/", &save); k && o; k = strtok_r(NULL, "/", &save))
		o = json_is_array(o) ? json_array_get(o, strtoul(k, NULL, 10))
				     : json_object_get(o, k);
	return o;
}

static const char *str_at(json_t *o, const char *path)
{
	const char *s = json_string_value(at(o, path));

	if (!s)
		fail_msg("no string at %s", path);
	return s;
}

static json_int_t int_at(json_t *o, const char *path)
{
	json_t *v = at(o, path);

	if (!json_is_integer(v))
		fail_msg("no integer at %s", path);
	return json_integer_value(v);
}

static void refuses_other_versions(void **state)
{
	json_t *doc = snapshot(), *out = NULL, *arr;
	struct cw_upload_body body = {0};
	struct cw_sentry_dsn dsn = {0};
	char err[256] = "";

	(void)state;
	assert_int_equal(cw_sentry_dsn_parse("https://k@h/1", &dsn, err, sizeof(err)), 0);
	json_object_set_new(doc, "version", json_integer(2));
	assert_int_equal(cw_upload_check(doc, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "snapshot version 2 is not supported"));
	assert_int_equal(cw_upload_generic(doc, &body, err, sizeof(err)), -EPROTO);
	assert_null(body.data);
	assert_int_equal(cw_sentry_event(doc, &out, err, sizeof(err)), -EPROTO);
	assert_null(out);
	assert_int_equal(cw_sentry_envelope(doc, &dsn, 0, &body, err, sizeof(err)), -EPROTO);
	assert_int_equal(cw_backtrace_report(doc, &out, err, sizeof(err)), -EPROTO);
	assert_int_equal(cw_backtrace_body(doc, &body, err, sizeof(err)), -EPROTO);
	assert_null(body.data);

	json_object_del(doc, "version");
	assert_int_equal(cw_upload_check(doc, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "no integer 'version'"));
	json_object_set_new(doc, "version", json_string("1"));
	assert_int_equal(cw_upload_check(doc, err, sizeof(err)), -EPROTO);

	json_object_set_new(doc, "version", json_integer(1));
	json_object_del(doc, "threads");
	assert_int_equal(cw_upload_check(doc, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no 'threads' array"));
	arr = json_array();
	assert_int_equal(cw_upload_check(arr, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a JSON object"));
	json_decref(arr);
	cw_sentry_dsn_free(&dsn);
	json_decref(doc);
}

static void generic_is_the_snapshot_compact(void **state)
{
	json_t *doc = snapshot(), *back;
	struct cw_upload_body body;
	char err[256];

	(void)state;
	assert_int_equal(cw_upload_generic(doc, &body, err, sizeof(err)), 0);
	assert_string_equal(body.content_type, "application/json");
	assert_int_equal(body.len, strlen(body.data));
	assert_null(strchr(body.data, '\n'));
	assert_null(strstr(body.data, "\": ")); /* compact: no space after a colon */
	back = json_loadb(body.data, body.len, 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(back, doc));
	assert_int_equal(int_at(back, "version"), 1);
	assert_string_equal(str_at(back, "threads/1/frames/0/function"), "worker_crash");
	json_decref(back);
	cw_upload_body_free(&body);
	cw_upload_body_free(&body); /* twice is harmless */
	json_decref(doc);
}

static void sentry_dsn_good(void **state)
{
	static const struct {
		const char *dsn, *url, *key, *project;
	} cases[] = {
		{"https://0123abcd@o447951.ingest.sentry.io/5401234",
		 "https://o447951.ingest.sentry.io/api/5401234/envelope/", "0123abcd", "5401234"},
		{"http://key@localhost:9000/2", "http://localhost:9000/api/2/envelope/", "key",
		 "2"},
		{"https://k@sentry.example.com/prefix/42",
		 "https://sentry.example.com/prefix/api/42/envelope/", "k", "42"},
		{"https://k@h.example/a/b/7/", "https://h.example/a/b/api/7/envelope/", "k", "7"},
		{"https://pub:secret@h.example/3", "https://h.example/api/3/envelope/", "pub", "3"},
		{"http://k@[::1]:8080/5", "http://[::1]:8080/api/5/envelope/", "k", "5"},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cw_sentry_dsn d;
		char auth[128];

		assert_int_equal(cw_sentry_dsn_parse(cases[i].dsn, &d, err, sizeof(err)), 0);
		assert_string_equal(d.dsn, cases[i].dsn);
		assert_string_equal(d.envelope_url, cases[i].url);
		assert_string_equal(d.public_key, cases[i].key);
		assert_string_equal(d.project_id, cases[i].project);
		snprintf(auth, sizeof(auth),
			 "Sentry sentry_version=7, sentry_key=%s, sentry_client=crashwatch/%s",
			 cases[i].key, CW_VERSION);
		assert_string_equal(d.auth, auth);
		cw_sentry_dsn_free(&d);
		assert_null(d.dsn);
	}
}

static void sentry_dsn_bad(void **state)
{
	static const struct {
		const char *dsn, *why;
	} cases[] = {
		{"", "it is empty"},
		{"ftp://k@h/1", "does not start with https:// or http://"},
		{"o1.ingest.sentry.io/1", "does not start with https:// or http://"},
		{"https://h.example/1", "no public key before '@'"},
		{"https://@h.example/1", "public key before '@' is empty"},
		{"https://k-y@h.example/1", "other than letters and digits"},
		{"https://k@j@h.example/1", "more than one '@'"},
		{"https://k@/1", "no host after '@'"},
		{"https://k@:80/1", "no host after '@'"},
		{"https://k@h.example", "no project id"},
		{"https://k@h.example/", "no project id after the last '/'"},
		{"https://k@h.example/prefix/", "project id 'prefix' is not a number"},
		{"https://k@h.example/4x2", "project id '4x2' is not a number"},
		{"https://k@h.example:0/1", "port is not from 1 to 65535"},
		{"https://k@h.example:65536/1", "port is not from 1 to 65535"},
		{"https://k@h.example:80a/1", "port is not a number"},
		{"https://k@h.example:/1", "port is not a number"},
		{"https://k@[::1/1", "no closing ']'"},
		{"https://k@h.example/1?x=1", "query or fragment"},
		{"https://k@h.example/1 ", "a space or a control character"},
	};
	char err[256];

	(void)state;
	assert_int_equal(cw_sentry_dsn_parse(NULL, &(struct cw_sentry_dsn){0}, err, sizeof(err)),
			 -EINVAL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cw_sentry_dsn d;

		err[0] = '\0';
		if (cw_sentry_dsn_parse(cases[i].dsn, &d, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' was accepted", cases[i].dsn);
		if (!strstr(err, "bad Sentry DSN: ") || !strstr(err, cases[i].why))
			fail_msg("'%s': message '%s' does not say '%s'", cases[i].dsn, err,
				 cases[i].why);
		assert_non_null(strstr(err, "https://KEY@HOST/PROJECT_ID"));
		assert_null(d.dsn);
		assert_null(d.envelope_url);
		assert_null(d.auth);
	}
}

static void sentry_debug_id_from_build_id(void **state)
{
	char id[CW_SENTRY_DEBUG_ID_LEN + 1];

	(void)state;
	/*
	 * By hand: bytes 93 ac 61 ec | 5a 8e | b1 39 | 6f 9f | bd 35 0e 31 69 a5,
	 * the first three groups reversed, the 4 bytes past 16 dropped.
	 */
	assert_int_equal(cw_sentry_debug_id("93ac61ec5a8eb1396f9fbd350e3169a558528a40", id), 0);
	assert_string_equal(id, "ec61ac93-8e5a-39b1-6f9f-bd350e3169a5");
	assert_int_equal(cw_sentry_debug_id("93AC61EC5A8EB1396F9FBD350E3169A5", id), 0);
	assert_string_equal(id, "ec61ac93-8e5a-39b1-6f9f-bd350e3169a5");
	/* shorter than 16 bytes: padded with zeros */
	assert_int_equal(cw_sentry_debug_id("0102030405", id), 0);
	assert_string_equal(id, "04030201-0005-0000-0000-000000000000");
	assert_int_equal(cw_sentry_debug_id("", id), -EINVAL);
	assert_int_equal(cw_sentry_debug_id(NULL, id), -EINVAL);
	assert_int_equal(cw_sentry_debug_id("abc", id), -EINVAL);
	assert_int_equal(cw_sentry_debug_id("93ac61zz", id), -EINVAL);
	assert_int_equal(cw_sentry_debug_id("93ac61ec5a8eb1396f9fbd350e3169a558528a4g", id),
			 -EINVAL);
}

static void sentry_event_required_fields(void **state)
{
	json_t *doc = snapshot(), *ev, *images, *threads;
	char err[256];

	(void)state;
	assert_int_equal(cw_sentry_event(doc, &ev, err, sizeof(err)), 0);
	assert_string_equal(str_at(ev, "event_id"), "95a9da7a1d6e4f2e8f1596b4bb171933");
	assert_string_equal(str_at(ev, "timestamp"), "2026-11-23T19:10:28.913915Z");
	assert_string_equal(str_at(ev, "platform"), "native");
	assert_string_equal(str_at(ev, "level"), "fatal");
	assert_string_equal(str_at(ev, "server_name"), "vm");
	assert_string_equal(str_at(ev, "release"), "2.4.1");
	assert_null(at(ev, "environment"));
	assert_string_equal(str_at(ev, "sdk/name"), "crashwatch");
	assert_string_equal(str_at(ev, "sdk/version"), CW_VERSION);

	assert_string_equal(str_at(ev, "tags/signal"), "SIGSEGV");
	assert_string_equal(str_at(ev, "tags/signal.code"), "SEGV_MAPERR");
	assert_string_equal(str_at(ev, "tags/cause"), "null-pointer-dereference");
	assert_string_equal(str_at(ev, "tags/region"), "eu-west");
	assert_null(json_object_get(at(ev, "tags"), "bad key!")); /* not a valid tag key */
	assert_string_equal(str_at(ev, "extra/attributes/bad key!"), "not a tag");
	assert_string_equal(str_at(ev, "extra/classifiers/2"), "null-pointer-dereference");
	assert_int_equal(int_at(ev, "extra/process/pid"), 3780);

	assert_int_equal(json_array_size(at(ev, "exception/values")), 1);
	assert_string_equal(str_at(ev, "exception/values/0/type"), "SIGSEGV");
	assert_string_equal(str_at(ev, "exception/values/0/value"),
			    "null-pointer-dereference: SEGV_MAPERR at 0x0");
	assert_string_equal(str_at(ev, "exception/values/0/mechanism/type"), "signalhandler");
	assert_true(json_is_false(at(ev, "exception/values/0/mechanism/handled")));
	assert_int_equal(int_at(ev, "exception/values/0/mechanism/meta/signal/number"), 11);
	assert_int_equal(int_at(ev, "exception/values/0/mechanism/meta/signal/code"), 1);
	assert_string_equal(str_at(ev, "exception/values/0/mechanism/meta/signal/name"), "SIGSEGV");
	assert_string_equal(str_at(ev, "exception/values/0/mechanism/meta/signal/code_name"),
			    "SEGV_MAPERR");
	assert_string_equal(str_at(ev, "exception/values/0/mechanism/data/fault_address"), "0x0");
	assert_int_equal(int_at(ev, "exception/values/0/thread_id"), 3783);

	threads = at(ev, "threads/values");
	assert_int_equal(json_array_size(threads), 2);
	assert_int_equal(int_at(threads, "0/id"), 3780);
	assert_string_equal(str_at(threads, "0/name"), "null_deref_thre");
	assert_true(json_is_false(at(threads, "0/crashed")));
	assert_true(json_is_false(at(threads, "0/current")));
	assert_int_equal(json_array_size(at(threads, "0/stacktrace/frames")), 2);
	assert_int_equal(int_at(threads, "1/id"), 3783);
	assert_true(json_is_true(at(threads, "1/crashed")));
	assert_true(json_is_true(at(threads, "1/current")));
	assert_int_equal(json_array_size(at(threads, "1/stacktrace/frames")), 3);

	images = at(ev, "debug_meta/images");
	assert_int_equal(json_array_size(images),
			 2); /* the module without a build-id is left out */
	assert_string_equal(str_at(images, "1/type"), "elf");
	assert_string_equal(str_at(images, "1/code_id"),
			    "93ac61ec5a8eb1396f9fbd350e3169a558528a40");
	assert_string_equal(str_at(images, "1/debug_id"), "ec61ac93-8e5a-39b1-6f9f-bd350e3169a5");
	assert_string_equal(str_at(images, "1/code_file"), "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_string_equal(str_at(images, "1/image_addr"), "0x7f9a0b030000");
	assert_int_equal(int_at(images, "1/image_size"), 0x7f9a0b205000 - 0x7f9a0b030000);
	assert_string_equal(str_at(images, "0/debug_id"), "63fdc5a3-d7ec-f7ad-c448-2369ce20d97f");

	assert_string_equal(str_at(ev, "contexts/os/name"), "Linux");
	assert_string_equal(str_at(ev, "contexts/os/version"), "6.18.44");
	assert_string_equal(str_at(ev, "contexts/os/kernel_version"),
			    "6.18.44 #1 SMP PREEMPT_DYNAMIC");
	assert_string_equal(str_at(ev, "contexts/device/arch"), "x86_64");
	json_decref(ev);

	/* "version" stands in for a missing "release" */
	json_object_del(at(doc, "attributes"), "release");
	json_object_set_new(at(doc, "attributes"), "version", json_string("9.9"));
	assert_int_equal(cw_sentry_event(doc, &ev, err, sizeof(err)), 0);
	assert_string_equal(str_at(ev, "release"), "9.9");
	json_decref(ev);
	json_object_del(at(doc, "attributes"), "version");
	assert_int_equal(cw_sentry_event(doc, &ev, err, sizeof(err)), 0);
	assert_null(at(ev, "release"));
	json_decref(ev);
	json_decref(doc);
}

static void sentry_frames_oldest_first(void **state)
{
	json_t *doc = snapshot(), *ev, *frames;
	char err[256];

	(void)state;
	assert_int_equal(cw_sentry_event(doc, &ev, err, sizeof(err)), 0);
	frames = at(ev, "exception/values/0/stacktrace/frames");
	assert_int_equal(json_array_size(frames), 3);
	/* outermost first: libc's start_thread area, worker, then the crash */
	assert_string_equal(str_at(frames, "0/package"), "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_null(at(frames, "0/function"));
	assert_null(at(frames, "0/filename"));
	assert_string_equal(str_at(frames, "1/function"), "worker");
	assert_string_equal(str_at(frames, "2/function"), "worker_crash");
	/* a return address is sent as the call's (pc - 1); exact pcs as they are */
	assert_string_equal(str_at(frames, "0/instruction_addr"), "0x7f9a0b0b91f4");
	assert_string_equal(str_at(frames, "1/instruction_addr"), "0x55978e6d72a9");
	assert_string_equal(str_at(frames, "2/instruction_addr"), "0x55978e6d726c");
	assert_string_equal(str_at(ev, "exception/values/0/stacktrace/instruction_addr_adjustment"),
			    "none");
	/* symbol_addr = pc - function_offset */
	assert_string_equal(str_at(frames, "2/symbol_addr"), "0x55978e6d723b");
	assert_string_equal(str_at(frames, "1/symbol_addr"), "0x55978e6d7275");
	assert_string_equal(str_at(frames, "2/package"), "/opt/app/null_deref_threads");
	assert_string_equal(str_at(frames, "2/filename"), "null_deref_threads.c");
	assert_int_equal(int_at(frames, "2/lineno"), 16);
	assert_string_equal(str_at(ev, "exception/values/0/stacktrace/registers/rip"),
			    "0x55978e6d726c");
	/* the thread's own stack trace is the same */
	assert_true(json_equal(frames, at(ev, "threads/values/1/stacktrace/frames")));
	assert_string_equal(str_at(ev, "threads/values/0/stacktrace/frames/0/function"), "main");
	assert_string_equal(str_at(ev, "threads/values/0/stacktrace/frames/1/function"), "pause");
	json_decref(ev);
	json_decref(doc);
}

static void sentry_envelope_lines(void **state)
{
	json_t *doc = snapshot(), *head, *item, *payload, *ev;
	struct cw_sentry_dsn dsn;
	struct cw_upload_body body;
	char err[256], *nl1, *nl2;

	(void)state;
	assert_int_equal(
		cw_sentry_dsn_parse("https://abc@o1.ingest.sentry.io/42", &dsn, err, sizeof(err)),
		0);
	assert_int_equal(
		cw_sentry_envelope(doc, &dsn, SNAPSHOT_UNIX_TIME + 2, &body, err, sizeof(err)), 0);
	assert_string_equal(body.content_type, "application/x-sentry-envelope");
	assert_int_equal(body.len, strlen(body.data));
	assert_true(body.data[body.len - 1] == '\n');
	nl1 = strchr(body.data, '\n');
	nl2 = strchr(nl1 + 1, '\n');
	assert_ptr_equal(strchr(nl2 + 1, '\n'), body.data + body.len - 1); /* three lines */
	head = json_loadb(body.data, (size_t)(nl1 - body.data), 0, NULL);
	item = json_loadb(nl1 + 1, (size_t)(nl2 - nl1 - 1), 0, NULL);
	payload = json_loadb(nl2 + 1, (size_t)(body.data + body.len - 1 - nl2 - 1), 0, NULL);
	assert_non_null(head);
	assert_non_null(item);
	assert_non_null(payload);
	assert_string_equal(str_at(head, "event_id"), "95a9da7a1d6e4f2e8f1596b4bb171933");
	assert_string_equal(str_at(head, "dsn"), "https://abc@o1.ingest.sentry.io/42");
	assert_string_equal(str_at(head, "sent_at"), "2026-11-23T19:10:30Z");
	assert_string_equal(str_at(item, "type"), "event");
	assert_int_equal(int_at(item, "length"), body.data + body.len - 1 - (nl2 + 1));
	assert_int_equal(cw_sentry_event(doc, &ev, err, sizeof(err)), 0);
	assert_true(json_equal(payload, ev));

	json_decref(ev);
	json_decref(head);
	json_decref(item);
	json_decref(payload);
	cw_upload_body_free(&body);
	assert_int_equal(
		cw_sentry_envelope(doc, &(struct cw_sentry_dsn){0}, 0, &body, err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "no Sentry DSN"));
	cw_sentry_dsn_free(&dsn);

	/* the event id comes from the uuid: one that is not a UUID is refused */
	json_object_set_new(doc, "uuid", json_string("not-a-uuid"));
	assert_int_equal(cw_sentry_event(doc, &ev, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'not-a-uuid' is not a UUID"));
	json_decref(doc);
}

static void backtrace_url(void **state)
{
	static const struct {
		const char *endpoint, *token, *why;
	} bad[] = {
		{"u.sp.backtrace.io:6098", "t", "must start with https:// or http://"},
		{"https://", "t", "no host"},
		{"https:///post", "t", "no host"},
		{"https://u.sp.backtrace.io/?x", "t", "query or fragment"},
		{"https://u.sp.backtrace.io", "", "token is empty"},
		{"https://u.sp.backtrace.io", NULL, "token is empty"},
		{NULL, "t", "must start with"},
	};
	char err[256], *url;

	(void)state;
	assert_int_equal(cw_backtrace_url("https://u.sp.backtrace.io:6098//", "ab+c/d= é", &url,
					  err, sizeof(err)),
			 0);
	assert_string_equal(url, "https://u.sp.backtrace.io:6098/post?format=json&token="
				 "ab%2Bc%2Fd%3D%20%C3%A9");
	free(url);
	assert_int_equal(
		cw_backtrace_url("http://127.0.0.1:8000/bt", "0f3a-_.~", &url, err, sizeof(err)),
		0);
	assert_string_equal(url, "http://127.0.0.1:8000/bt/post?format=json&token=0f3a-_.~");
	free(url);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		url = (char *)"untouched";
		err[0] = '\0';
		assert_int_equal(
			cw_backtrace_url(bad[i].endpoint, bad[i].token, &url, err, sizeof(err)),
			-EINVAL);
		assert_null(url);
		if (!strstr(err, bad[i].why))
			fail_msg("'%s': message '%s' does not say '%s'", bad[i].endpoint, err,
				 bad[i].why);
	}
}

static void backtrace_report_required_fields(void **state)
{
	json_t *doc = snapshot(), *r, *stack, *main_stack, *src;
	struct cw_upload_body body;
	char err[256];

	(void)state;
	json_object_set_new(at(doc, "attributes"), "hostname", json_string("given-by-kv"));
	assert_int_equal(cw_backtrace_report(doc, &r, err, sizeof(err)), 0);
	assert_string_equal(str_at(r, "uuid"), "95A9DA7A-1d6e-4f2e-8f15-96b4bb171933");
	assert_int_equal(int_at(r, "timestamp"), SNAPSHOT_UNIX_TIME);
	assert_string_equal(str_at(r, "lang"), "c");
	assert_string_equal(str_at(r, "langVersion"), CW_BACKTRACE_LANG_VERSION);
	assert_string_equal(str_at(r, "agent"), "crashwatch");
	assert_string_equal(str_at(r, "agentVersion"), CW_VERSION);
	assert_string_equal(str_at(r, "mainThread"), "3783");
	assert_int_equal(json_object_size(at(r, "threads")), 2);
	assert_true(json_is_true(at(r, "threads/3783/fault")));
	assert_string_equal(str_at(r, "threads/3783/name"), "worker");
	assert_true(json_is_false(at(r, "threads/3780/fault")));
	assert_string_equal(str_at(r, "threads/3780/name"), "null_deref_thre");

	stack = at(r, "threads/3783/stack");
	assert_int_equal(json_array_size(stack), 3);
	/* innermost first, as Backtrace shows stacks */
	assert_string_equal(str_at(stack, "0/funcName"), "worker_crash");
	assert_string_equal(str_at(stack, "0/address"), "0x55978e6d726c");
	assert_string_equal(str_at(stack, "0/library"), "/opt/app/null_deref_threads");
	assert_string_equal(str_at(stack, "0/debug_identifier"),
			    "a3c5fd63ecd7adf7c4482369ce20d97fd70819ba");
	assert_int_equal(int_at(stack, "0/line"), 16);
	/* a frame without a symbol is named by module and offset, stable across runs */
	assert_string_equal(str_at(stack, "2/funcName"), "libc.so.6+0x891f5");
	assert_null(at(stack, "2/sourceCode"));
	assert_null(at(stack, "2/line"));
	/* frames of one file share one sourceCode entry */
	assert_string_equal(str_at(stack, "0/sourceCode"), str_at(stack, "1/sourceCode"));
	src = json_object_get(at(r, "sourceCode"), str_at(stack, "0/sourceCode"));
	assert_non_null(src);
	assert_string_equal(json_string_value(json_object_get(src, "path")),
			    "null_deref_threads.c");
	main_stack = at(r, "threads/3780/stack");
	assert_string_equal(str_at(main_stack, "0/funcName"), "pause");
	assert_int_equal(json_object_size(at(r, "sourceCode")), 2);

	assert_string_equal(str_at(r, "attributes/release"), "2.4.1");
	assert_string_equal(str_at(r, "attributes/hostname"), "given-by-kv"); /* --kv wins */
	assert_int_equal(int_at(r, "attributes/process.id"), 3780);
	assert_string_equal(str_at(r, "attributes/application"), "null_deref_threads");
	assert_string_equal(str_at(r, "attributes/uname.sysname"), "Linux");
	assert_string_equal(str_at(r, "attributes/uname.release"), "6.18.44");
	assert_string_equal(str_at(r, "attributes/uname.version"), "#1 SMP PREEMPT_DYNAMIC");
	assert_string_equal(str_at(r, "attributes/uname.machine"), "x86_64");
	assert_string_equal(str_at(r, "attributes/error.message"),
			    "null-pointer-dereference: SEGV_MAPERR at 0x0");
	assert_string_equal(str_at(r, "attributes/error.type"), "Crash");
	assert_true(json_equal(at(r, "classifiers"), at(doc, "classifiers")));
	json_decref(r);

	assert_int_equal(cw_backtrace_body(doc, &body, err, sizeof(err)), 0);
	assert_string_equal(body.content_type, "application/json");
	r = json_loadb(body.data, body.len, 0, NULL);
	assert_non_null(r);
	assert_string_equal(str_at(r, "mainThread"), "3783");
	json_decref(r);
	cw_upload_body_free(&body);

	json_object_set_new(doc, "timestamp", json_string("23/11/2026"));
	assert_int_equal(cw_backtrace_report(doc, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "timestamp '23/11/2026' is not of the form"));
	json_decref(doc);
}

static void on_demand_snapshot(void **state)
{
	json_t *doc = snapshot(), *ev, *r;
	char err[256];

	(void)state;
	/* crashwatch-snapshot PID with no --signal: nothing faulted, no cause */
	json_object_set_new(doc, "signal", json_null());
	json_object_set_new(doc, "classifiers", json_array());
	json_object_set_new(json_array_get(at(doc, "threads"), 1), "faulted", json_false());

	assert_int_equal(cw_sentry_event(doc, &ev, err, sizeof(err)), 0);
	assert_string_equal(str_at(ev, "level"), "info");
	assert_string_equal(str_at(ev, "exception/values/0/type"), "Snapshot");
	assert_string_equal(str_at(ev, "exception/values/0/value"),
			    "snapshot of null_deref_thre (pid 3780)");
	assert_true(json_is_true(at(ev, "exception/values/0/mechanism/handled")));
	assert_int_equal(int_at(ev, "exception/values/0/thread_id"), 3780);
	assert_null(at(ev, "tags/signal"));
	assert_null(at(ev, "tags/cause"));
	assert_true(json_is_false(at(ev, "threads/values/1/crashed")));
	assert_true(json_is_true(at(ev, "threads/values/0/current")));
	json_decref(ev);

	assert_int_equal(cw_backtrace_report(doc, &r, err, sizeof(err)), 0);
	assert_string_equal(str_at(r, "mainThread"), "3780");
	assert_null(at(r, "attributes/error.type"));
	assert_int_equal(json_array_size(at(r, "classifiers")), 0);
	json_decref(r);

	/* nothing captured at all: Backtrace's mainThread still names a thread */
	json_object_set_new(doc, "threads", json_array());
	assert_int_equal(cw_backtrace_report(doc, &r, err, sizeof(err)), 0);
	assert_string_equal(str_at(r, "mainThread"), "3780");
	assert_non_null(at(r, "threads/3780/stack"));
	json_decref(r);
	assert_int_equal(cw_sentry_event(doc, &ev, err, sizeof(err)), 0);
	assert_null(at(ev, "exception/values/0/stacktrace"));
	assert_int_equal(json_array_size(at(ev, "threads/values")), 0);
	json_decref(ev);
	json_decref(doc);
}

static void requested_snapshot_is_not_fatal(void **state)
{
	json_t *doc = snapshot(), *ev, *r, *attrs;
	char err[256];

	(void)state;
	/* crashwatch snapshot / libcrashwatch with an error: docs/snapshot.md */
	json_object_set_new(doc, "signal", json_null());
	json_object_set_new(doc, "classifiers", json_pack("[s]", "manual"));
	json_object_set_new(doc, "trigger", json_string("request"));
	json_object_set_new(doc, "requested_by",
			    json_pack("{s:i, s:i, s:i, s:s}", "pid", 77, "uid", 1000, "gid", 1000,
				      "comm", "app"));
	json_object_set_new(doc, "cause", json_string("Stall: queue stalled"));
	attrs = at(doc, "attributes");
	json_object_set_new(attrs, "error", json_string("queue stalled"));
	json_object_set_new(attrs, "error.type", json_string("Stall"));

	assert_int_equal(cw_sentry_event(doc, &ev, err, sizeof(err)), 0);
	assert_string_equal(str_at(ev, "level"), "warning");
	assert_string_equal(str_at(ev, "exception/values/0/type"), "Stall");
	assert_string_equal(str_at(ev, "exception/values/0/value"), "Stall: queue stalled");
	assert_string_equal(str_at(ev, "exception/values/0/mechanism/type"), "crashwatch-request");
	assert_true(json_is_true(at(ev, "exception/values/0/mechanism/handled")));
	assert_string_equal(str_at(ev, "tags/trigger"), "request");
	assert_int_equal(int_at(ev, "extra/requested_by/uid"), 1000);
	json_decref(ev);

	assert_int_equal(cw_backtrace_report(doc, &r, err, sizeof(err)), 0);
	assert_string_equal(str_at(r, "attributes/crashwatch.trigger"), "request");
	assert_true(json_is_false(at(r, "attributes/crashwatch.fatal")));
	assert_string_equal(str_at(r, "attributes/error.type"), "Stall");
	assert_string_equal(str_at(r, "attributes/error.message"), "Stall: queue stalled");
	json_decref(r);

	/* Without an error: info. */
	json_object_del(attrs, "error");
	json_object_set_new(doc, "cause", json_null());
	assert_int_equal(cw_sentry_event(doc, &ev, err, sizeof(err)), 0);
	assert_string_equal(str_at(ev, "level"), "info");
	json_decref(ev);
	json_decref(doc);
}

static void cause_only_after_the_signal_names(void **state)
{
	json_t *doc = snapshot(), *ev;
	char err[256];

	(void)state;
	/* a kill -SEGV: signal name and si_code name, no cause; --classifier first */
	json_object_set_new(doc, "classifiers", json_pack("[s,s,s]", "oom", "SIGSEGV", "SI_USER"));
	json_object_set_new(at(doc, "signal"), "code", json_integer(0));
	json_object_set_new(at(doc, "signal"), "code_name", json_string("SI_USER"));
	json_object_set_new(at(doc, "signal"), "address", json_null());
	json_object_set_new(at(doc, "signal"), "sender_pid", json_integer(77));
	assert_int_equal(cw_sentry_event(doc, &ev, err, sizeof(err)), 0);
	assert_null(at(ev, "tags/cause"));
	assert_string_equal(str_at(ev, "exception/values/0/value"), "SI_USER sent by pid 77");
	assert_int_equal(int_at(ev, "exception/values/0/mechanism/data/sender_pid"), 77);
	json_decref(ev);
	json_decref(doc);
}

static void cpp_exception_and_rust_panic(void **state)
{
	json_t *doc = snapshot(), *ev, *r;
	char err[256];

	(void)state;
	/* An uncaught C++ exception held at abort(): its type, its cause line as the value. */
	json_object_set_new(doc, "classifiers",
			    json_pack("[s,s,s]", "SIGABRT", "abort", "cpp-exception"));
	json_object_set_new(doc, "signal",
			    json_pack("{s:i,s:s,s:n,s:n,s:n,s:n}", "number", 6, "name", "SIGABRT",
				      "code", "code_name", "address", "sender_pid"));
	json_object_set_new(doc, "attributes",
			    json_pack("{s:s,s:s}", "exception.type", "std::system_error",
				      "exception.message", "connect: Connection refused"));
	json_object_set_new(doc, "cause",
			    json_string("uncaught exception std::system_error: connect: "
					"Connection refused"));
	assert_int_equal(cw_sentry_event(doc, &ev, err, sizeof(err)), 0);
	assert_string_equal(str_at(ev, "exception/values/0/type"), "std::system_error");
	assert_string_equal(str_at(ev, "exception/values/0/value"),
			    "uncaught exception std::system_error: connect: Connection refused");
	assert_string_equal(str_at(ev, "exception/values/0/mechanism/type"), "cpp-exception");
	assert_true(json_is_false(at(ev, "exception/values/0/mechanism/handled")));
	assert_string_equal(str_at(ev, "exception/values/0/mechanism/meta/signal/name"), "SIGABRT");
	assert_string_equal(str_at(ev, "tags/exception.type"), "std::system_error");
	json_decref(ev);
	assert_int_equal(cw_backtrace_report(doc, &r, err, sizeof(err)), 0);
	assert_string_equal(str_at(r, "attributes/error.message"),
			    "uncaught exception std::system_error: connect: Connection refused");
	json_decref(r);

	/* A Rust panic held at rust_panic: no signal. */
	json_object_set_new(doc, "classifiers", json_pack("[s]", "rust-panic"));
	json_object_set_new(doc, "signal", json_null());
	json_object_set_new(doc, "attributes",
			    json_pack("{s:s,s:s}", "panic.message", "boom", "panic.location",
				      "src/main.rs:3:5"));
	json_object_set_new(doc, "cause", json_string("panicked at 'boom', src/main.rs:3:5"));
	assert_int_equal(cw_sentry_event(doc, &ev, err, sizeof(err)), 0);
	assert_string_equal(str_at(ev, "exception/values/0/type"), "panic");
	assert_string_equal(str_at(ev, "exception/values/0/value"),
			    "panicked at 'boom', src/main.rs:3:5");
	assert_string_equal(str_at(ev, "exception/values/0/mechanism/type"), "rust-panic");
	assert_null(at(ev, "exception/values/0/mechanism/meta"));
	json_decref(ev);
	assert_int_equal(cw_backtrace_report(doc, &r, err, sizeof(err)), 0);
	assert_string_equal(str_at(r, "attributes/error.message"),
			    "panicked at 'boom', src/main.rs:3:5");
	json_decref(r);
	json_decref(doc);
}

static void multipart_carries_the_timeline_intact(void **state)
{
	/* A timeline that holds the first boundary tried: the next one is used. */
	static const char trace[] = "[{\"name\":\"x\"}]\r\n--crashwatch-0a1b-0\r\n\x00\xff";
	struct cw_upload_attachment att = {.filename = "timeline.json",
					   .content_type = "application/json",
					   .data = trace,
					   .len = sizeof(trace) - 1};
	struct cw_upload_body b = {.data = strdup("{\"uuid\":\"0a1b\"}"),
				   .content_type = CW_UPLOAD_CONTENT_JSON};
	char err[256];
	const char *want_bt = "--crashwatch-0a1b-1\r\n"
			      "Content-Disposition: form-data; name=\"upload_file\"; "
			      "filename=\"upload_file.json\"\r\n"
			      "Content-Type: application/json\r\n\r\n"
			      "{\"uuid\":\"0a1b\"}\r\n"
			      "--crashwatch-0a1b-1\r\n"
			      "Content-Disposition: form-data; name=\"attachment_timeline.json\"; "
			      "filename=\"timeline.json\"\r\n"
			      "Content-Type: application/json\r\n\r\n";
	size_t head = strlen(want_bt);

	(void)state;
	b.len = strlen(b.data);
	assert_int_equal(cw_upload_with_attachment(&b, true, "0a1b", &att, err, sizeof(err)), 0);
	assert_string_equal(b.content_type, "multipart/form-data");
	assert_string_equal(b.boundary, "crashwatch-0a1b-1");
	assert_true(b.len == head + att.len + strlen("\r\n--crashwatch-0a1b-1--\r\n"));
	assert_memory_equal(b.data, want_bt, head);
	assert_memory_equal(b.data + head, trace, att.len);
	assert_string_equal(b.data + head + att.len, "\r\n--crashwatch-0a1b-1--\r\n");
	cw_upload_body_free(&b);

	b = (struct cw_upload_body){
		.data = strdup("{}"), .len = 2, .content_type = CW_UPLOAD_CONTENT_JSON};
	assert_int_equal(cw_upload_with_attachment(&b, false, "0a1b", &att, err, sizeof(err)), 0);
	assert_non_null(strstr(b.data, "name=\"snapshot\"; filename=\"0a1b.json\""));
	assert_non_null(strstr(b.data, "name=\"timeline\"; filename=\"timeline.json\""));
	cw_upload_body_free(&b);

	att.filename = "a\"b";
	b = (struct cw_upload_body){
		.data = strdup("{}"), .len = 2, .content_type = CW_UPLOAD_CONTENT_JSON};
	assert_int_equal(cw_upload_with_attachment(&b, true, "0a1b", &att, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(b.data, "{}");
	cw_upload_body_free(&b);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(refuses_other_versions),
	cmocka_unit_test(generic_is_the_snapshot_compact),
	cmocka_unit_test(sentry_dsn_good),
	cmocka_unit_test(sentry_dsn_bad),
	cmocka_unit_test(sentry_debug_id_from_build_id),
	cmocka_unit_test(sentry_event_required_fields),
	cmocka_unit_test(sentry_frames_oldest_first),
	cmocka_unit_test(sentry_envelope_lines),
	cmocka_unit_test(backtrace_url),
	cmocka_unit_test(backtrace_report_required_fields),
	cmocka_unit_test(on_demand_snapshot),
	cmocka_unit_test(requested_snapshot_is_not_fatal),
	cmocka_unit_test(cause_only_after_the_signal_names),
	cmocka_unit_test(cpp_exception_and_rust_panic),
	cmocka_unit_test(multipart_carries_the_timeline_intact),
};

CW_TEST_MAIN(tests)
