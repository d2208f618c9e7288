// SPDX-License-Identifier: MIT
/* The upload payloads built from a snapshot: generic, Sentry envelope, Backtrace report. */
#include "cw_test.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

#include "upload_format.h"

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
	json_t *doc = snapshot(), *arr;
	struct cw_upload_body body = {0};
	char err[256] = "";

	(void)state;
	json_object_set_new(doc, "version", json_integer(2));
	assert_int_equal(cw_upload_check(doc, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "snapshot version 2 is not supported"));
	assert_int_equal(cw_upload_generic(doc, &body, err, sizeof(err)), -EPROTO);
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

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(refuses_other_versions),
	cmocka_unit_test(generic_is_the_snapshot_compact),
};

CW_TEST_MAIN(tests)
