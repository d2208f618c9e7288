// SPDX-License-Identifier: MIT
/* The one writer of the snapshot document: every key of docs/snapshot.md, and its null rules. */
#include "cw_test.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "event_decode.h"
#include "partial_snapshot.h"
#include "snapshot_doc.h"

/* docs/snapshot.md, "Fields": the keys every document has ("environment", "cgroup_id" aside). */
static const char *const top_keys[] = {
	"version", "uuid",	  "timestamp",	"host",	   "process", "container",
	"signal",  "classifiers", "attributes", "threads", "modules", "capture",
};
static const char *const host_keys[] = {"hostname", "kernel", "arch"};
static const char *const process_keys[] = {
	"pid", "ppid", "uid", "gid", "comm", "exe", "cmdline", "cwd", "cgroup", "start_time",
};
static const char *const container_keys[] = {
	"cgroup", "runtime", "id", "pod_uid", "systemd_unit", "pid_ns", "mnt_ns",
};
static const char *const signal_keys[] = {
	"number", "name", "code", "code_name", "address", "sender_pid",
};
static const char *const thread_keys[] = {
	"tid",
	"name",
	"state",
	"faulted",
	"registers",
	"frames",
	"frames_truncated",
	"stack_truncated",
	"error",
};
static const char *const frame_keys[] = {
	"index",	 "pc",	     "function", "symbol", "function_offset", "module",
	"module_offset", "build_id", "file",	 "line",   "signal_frame",
};
static const char *const module_keys[] = {"path", "start", "end", "build_id"};
static const char *const capture_keys[] = {
	"method",	"partial",	    "pause_ms",		"total_ms", "tool",
	"tool_version", "vanished_threads", "process_vanished", "notes",
};

#define HAS_KEYS(o, keys) has_keys(o, keys, sizeof(keys) / sizeof(keys[0]), #keys)

/* Present, null or not: the format never leaves a key out. */
static void has_keys(json_t *o, const char *const *keys, size_t n, const char *what)
{
	assert_true(json_is_object(o));
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(o, keys[i]))
			fail_msg("%s: no \"%s\"", what, keys[i]);
}

static void has_every_key(json_t *doc)
{
	json_t *t, *f, *m;
	size_t i, j;

	HAS_KEYS(doc, top_keys);
	HAS_KEYS(json_object_get(doc, "host"), host_keys);
	HAS_KEYS(json_object_get(doc, "process"), process_keys);
	HAS_KEYS(json_object_get(doc, "container"), container_keys);
	if (!json_is_null(json_object_get(doc, "signal")))
		HAS_KEYS(json_object_get(doc, "signal"), signal_keys);
	HAS_KEYS(json_object_get(doc, "capture"), capture_keys);
	assert_true(json_array_size(json_object_get(doc, "threads")) > 0);
	json_array_foreach(json_object_get(doc, "threads"), i, t)
	{
		HAS_KEYS(t, thread_keys);
		if (json_is_object(json_object_get(t, "registers")))
			assert_int_equal(json_object_size(json_object_get(t, "registers")), 17);
		json_array_foreach(json_object_get(t, "frames"), j, f)
		{
			HAS_KEYS(f, frame_keys);
			assert_int_equal(json_integer_value(json_object_get(f, "index")), j);
		}
	}
	json_array_foreach(json_object_get(doc, "modules"), i, m) HAS_KEYS(m, module_keys);
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_t *first_frame(json_t *doc)
{
	return json_array_get(
		json_object_get(json_array_get(json_object_get(doc, "threads"), 0), "frames"), 0);
}

static bool is_null(json_t *o, const char *key)
{
	return json_is_null(json_object_get(o, key));
}

static const struct cw_doc_frame full_frames[] = {
	{.pc = 0x7f0000001010,
	 .pc_exact = true,
	 .function = "pause",
	 .function_offset = 16,
	 .module = "/lib/libc.so.6",
	 .has_module_offset = true,
	 .module_offset = 0xd3dd0,
	 .build_id = "93ac",
	 .file = "pause.c",
	 .line = 29},
	{.pc = 0x401234, .function = "main", .module = "/bin/t", .has_module_offset = true},
	{.pc = 0x401000, .pc_exact = true}, /* a signal frame: the interrupted context */
};

static const struct cw_doc_module full_modules[] = {
	{.path = "/lib/libc.so.6",
	 .has_range = true,
	 .start = 0x7f0000000000,
	 .end = 0x7f0000100000,
	 .build_id = "93ac"},
};

/* What crashwatch-snapshot knows of a live process, all of it. */
static void full_doc(struct cw_snapshot_doc *d, struct cw_doc_thread *t)
{
	static const char *const cls[] = {"SIGSEGV", "SEGV_MAPERR", "null-pointer-dereference"};
	static const char *const notes[] = {"a note"};
	static const struct cw_doc_attribute attrs[] = {{"build", "42"}, {"empty", ""}};
	static const pid_t vanished[] = {99};
	static const char env[] = "A=1\0B=x=y";

	*t = (struct cw_doc_thread){
		.tid = 10,
		.name = "t",
		.state = 'S',
		.faulted = true,
		.has_registers = true,
		.frames = full_frames,
		.n_frames = 3,
	};
	t->registers[16] = 0x401000;
	*d = (struct cw_snapshot_doc){
		.uuid = "u-full",
		.process = {.pid = 10,
			    .ppid = 1,
			    .comm = "t",
			    .exe = "/bin/t",
			    .cmdline = "t a",
			    .cwd = "/",
			    .cgroup = "/",
			    .has_start_time = true,
			    .start_time = {.tv_sec = 1700000000, .tv_nsec = 123456789},
			    .environment = env,
			    .environment_len = sizeof(env)},
		.has_signal = true,
		.signal = {.number = SIGSEGV,
			   .has_code = true,
			   .code = SEGV_MAPERR,
			   .has_address = true,
			   .has_sender = true,
			   .sender_pid = 7},
		.classifiers = cls,
		.n_classifiers = 3,
		.attributes = attrs,
		.n_attributes = 2,
		.threads = t,
		.n_threads = 1,
		.modules = full_modules,
		.n_modules = 1,
		.capture = {.method = "ptrace",
			    .pause_ms = 0.5,
			    .has_total_ms = true,
			    .total_ms = 6,
			    .tool = "crashwatch-snapshot",
			    .vanished_threads = vanished,
			    .n_vanished_threads = 1,
			    .notes = notes,
			    .n_notes = 1},
	};
}

static void full_document_has_every_key(void **state)
{
	struct cw_snapshot_doc d;
	struct cw_doc_thread t;
	json_t *doc, *p, *s, *th, *fr, *cap;

	(void)state;
	full_doc(&d, &t);
	doc = cw_snapshot_doc_json(&d);
	assert_non_null(doc);
	has_every_key(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), CW_SNAPSHOT_VERSION);
	assert_null(json_object_get(doc, "aggregate"));
	p = json_object_get(doc, "process");
	assert_string_equal(str(p, "start_time"), "2023-11-14T22:13:20.123456Z");
	assert_string_equal(str(json_object_get(p, "environment"), "B"), "x=y");
	s = json_object_get(doc, "signal");
	assert_string_equal(str(s, "name"), "SIGSEGV");
	assert_string_equal(str(s, "code_name"), "SEGV_MAPERR");
	assert_string_equal(str(s, "address"), "0x0");
	assert_int_equal(json_integer_value(json_object_get(s, "sender_pid")), 7);
	/* An attribute's value is what was given, "" included. */
	assert_string_equal(str(json_object_get(doc, "attributes"), "empty"), "");
	th = json_array_get(json_object_get(doc, "threads"), 0);
	assert_string_equal(str(th, "state"), "S");
	assert_string_equal(str(json_object_get(th, "registers"), "rip"), "0x401000");
	fr = json_object_get(th, "frames");
	assert_string_equal(str(json_array_get(fr, 0), "module_offset"), "0xd3dd0");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(fr, 0), "line")), 29);
	/* The first frame's exact pc is no signal frame; an exact one past it is. */
	assert_true(json_is_false(json_object_get(json_array_get(fr, 0), "signal_frame")));
	assert_true(json_is_false(json_object_get(json_array_get(fr, 1), "signal_frame")));
	assert_true(json_is_true(json_object_get(json_array_get(fr, 2), "signal_frame")));
	assert_true(is_null(json_array_get(fr, 1), "line"));
	assert_true(is_null(json_array_get(fr, 2), "function_offset"));
	assert_true(is_null(json_array_get(fr, 2), "module_offset"));
	assert_string_equal(str(json_array_get(json_object_get(doc, "modules"), 0), "start"),
			    "0x7f0000000000");
	cap = json_object_get(doc, "capture");
	assert_true(json_is_false(json_object_get(cap, "partial")));
	assert_int_equal(
		json_integer_value(json_array_get(json_object_get(cap, "vanished_threads"), 0)),
		99);
	json_decref(doc);
}

/* Nothing known: every key still there, as null; environment and aggregate left out. */
static void unknown_fields_are_null_not_left_out(void **state)
{
	static const struct cw_doc_frame bare = {.pc = 0x10, .function = "", .file = ""};
	struct cw_doc_thread t = {.tid = 1, .frames = &bare, .n_frames = 1};
	struct cw_doc_module m = {.path = "/x"};
	struct cw_snapshot_doc d = {
		.uuid = "u-none",
		.process = {.pid = 1, .comm = "", .exe = "", .cmdline = NULL},
		.threads = &t,
		.n_threads = 1,
		.modules = &m,
		.n_modules = 1,
		.capture = {.method = "core", .tool = "crashwatch-snapshot"},
	};
	json_t *doc = cw_snapshot_doc_json(&d), *p, *th, *f, *c;

	(void)state;
	has_every_key(doc);
	assert_true(is_null(doc, "signal"));
	p = json_object_get(doc, "process");
	assert_string_equal(str(p, "comm"), ""); /* comm is always known */
	for (size_t i = 5; i < sizeof(process_keys) / sizeof(process_keys[0]); i++)
		assert_true(is_null(p, process_keys[i]));
	assert_null(json_object_get(p, "environment"));
	c = json_object_get(doc, "container");
	for (size_t i = 0; i < sizeof(container_keys) / sizeof(container_keys[0]); i++)
		assert_true(is_null(c, container_keys[i]));
	assert_null(json_object_get(c, "cgroup_id"));
	th = json_array_get(json_object_get(doc, "threads"), 0);
	assert_true(is_null(th, "name") && is_null(th, "state") && is_null(th, "registers") &&
		    is_null(th, "error"));
	/* "" is a name not known (docs: not known is null), and then so is its offset or line. */
	f = first_frame(doc);
	assert_true(is_null(f, "function") && is_null(f, "function_offset") && is_null(f, "file") &&
		    is_null(f, "line") && is_null(f, "module") && is_null(f, "module_offset") &&
		    is_null(f, "build_id"));
	assert_true(is_null(json_array_get(json_object_get(doc, "modules"), 0), "start"));
	assert_true(is_null(json_object_get(doc, "capture"), "total_ms"));
	assert_null(json_object_get(doc, "aggregate"));
	json_decref(doc);
}

static void partial_document_has_every_key(void **state)
{
	static struct cw_partial_doc p;
	struct cw_signal_event ev;
	json_t *doc, *cap, *mod;

	(void)state;
	cw_clock_init();
	memset(&ev, 0, sizeof(ev));
	ev.hdr.kind = CW_EVENT_SIGNAL;
	ev.hdr.size = sizeof(ev);
	ev.task.pid = 4242;
	ev.task.tid = 4243;
	ev.task.start_boottime = 1;
	memcpy(ev.task.comm, "victim", 7);
	ev.sig = SIGSEGV;
	ev.si_code = SEGV_MAPERR;
	ev.flags = CW_SIG_REGS;
	ev.nr_ips = 2;
	ev.ips[0] = 0x401000;
	ev.ips[1] = 0x402000;
	ev.nr_build_ids = 1;
	ev.frames[0].status = CW_FRAME_BUILD_ID;
	ev.frames[0].addr = 0x1000;
	memset(ev.frames[0].build_id, 0xab, CW_BUILD_ID_SIZE);
	cw_partial_doc_fill(&p, &ev, NULL, "the snapshot tool failed", "u-partial");
	doc = cw_snapshot_doc_json(&p.doc);
	has_every_key(doc);
	cap = json_object_get(doc, "capture");
	assert_string_equal(str(cap, "method"), CW_METHOD_FIRST_CAPTURE);
	assert_true(json_is_true(json_object_get(cap, "partial")));
	assert_true(is_null(cap, "total_ms"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(cap, "notes"), 0)),
			    "the snapshot tool failed");
	/* A build-id frame: its offset is known without its path. */
	assert_string_equal(str(first_frame(doc), "module_offset"), "0x1000");
	assert_true(is_null(first_frame(doc), "module"));
	assert_true(is_null(json_object_get(doc, "process"), "cmdline"));
	mod = json_object_get(doc, "modules");
	assert_int_equal(json_array_size(mod), 0); /* no path, no module */
	assert_null(json_object_get(doc, "aggregate"));
	json_decref(doc);

	/* The aggregate extends the same description. */
	p.doc.aggregate = &(struct cw_doc_aggregate){.signature = 0xab,
						     .duplicates = 2,
						     .rate_limited = 1,
						     .first = {.tv_sec = 1},
						     .last = {.tv_sec = 2}};
	doc = cw_snapshot_doc_json(&p.doc);
	has_every_key(doc);
	assert_string_equal(str(json_object_get(doc, "aggregate"), "signature"),
			    "00000000000000ab");
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(doc, "aggregate"), "count")), 3);
	assert_true(is_null(json_object_get(doc, "aggregate"), "counted_on"));
	json_decref(doc);
	cw_partial_doc_free(&p);
}

static void text_that_is_not_utf8_keeps_its_key(void **state)
{
	struct cw_doc_thread t = {.tid = 1, .name = "a\xff"};
	struct cw_snapshot_doc d = {
		.uuid = "u-bytes",
		.process = {.comm = "w\xe9ird", .exe = "/tmp/\xff"},
		.threads = &t,
		.n_threads = 1,
		.capture = {.method = "ptrace", .tool = "crashwatch-snapshot"},
	};
	json_t *doc = cw_snapshot_doc_json(&d), *p;
	char *text;

	(void)state;
	p = json_object_get(doc, "process");
	assert_string_equal(str(p, "comm"), "w?ird");
	assert_string_equal(str(p, "exe"), "/tmp/?");
	text = json_dumps(doc, JSON_COMPACT);
	assert_non_null(text); /* and the document can be written */
	free(text);
	json_decref(doc);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(full_document_has_every_key),
	cmocka_unit_test(unknown_fields_are_null_not_left_out),
	cmocka_unit_test(partial_document_has_every_key),
	cmocka_unit_test(text_that_is_not_utf8_keeps_its_key),
};

CW_TEST_MAIN(tests)
