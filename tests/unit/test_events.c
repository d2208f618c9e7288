// SPDX-License-Identifier: MIT
/* Records from the ring buffer: validation, exe path, and how they are printed. */
#include "cw_test.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>

#include "event_decode.h"
#include "event_format.h"

static struct cw_signal_event *make_signal(void)
{
	struct cw_signal_event *ev = calloc(1, sizeof(*ev));
	static const char parts[] = "null_deref\0targets\0tests";

	assert_non_null(ev);
	ev->hdr.kind = CW_EVENT_SIGNAL;
	ev->hdr.version = CW_EVENT_VERSION;
	ev->hdr.size = (__u32)sizeof(*ev);
	ev->task.pid = 1234;
	ev->task.tid = 1236;
	memcpy(ev->task.comm, "null_deref", 11);
	ev->sig = SIGSEGV;
	ev->si_code = 1;
	ev->fault_addr = 0;
	ev->flags = CW_SIG_REGS;
	ev->regs[CW_REG_RIP] = 0x55d1c2a1b139;
	ev->nr_ips = 2;
	ev->ips[0] = 0x55d1c2a1b139;
	ev->ips[1] = 0x55d1c2a1b150;
	ev->nr_build_ids = 1;
	ev->frames[0].status = CW_FRAME_BUILD_ID;
	memset(ev->frames[0].build_id, 0xab, CW_BUILD_ID_SIZE);
	ev->frames[0].addr = 0x1139;
	memcpy(ev->exe_parts, parts, sizeof(parts));
	ev->exe_len = sizeof(parts);
	return ev;
}

static void check_accepts_well_formed(void **state)
{
	struct cw_signal_event *ev = make_signal();
	struct cw_exit_event ex = {.hdr = {CW_EVENT_EXIT, CW_EVENT_VERSION, sizeof(ex), 0}};

	(void)state;
	assert_int_equal(cw_event_check(ev, ev->hdr.size), CW_EVENT_SIGNAL);
	assert_int_equal(cw_event_check(&ex, sizeof(ex)), CW_EVENT_EXIT);
	free(ev);
}

static void check_rejects_malformed(void **state)
{
	struct cw_signal_event *ev = make_signal();
	struct cw_exit_event ex = {.hdr = {CW_EVENT_EXIT, CW_EVENT_VERSION, sizeof(ex), 0}};

	(void)state;
	assert_int_equal(cw_event_check(ev, 8), -EBADMSG); /* shorter than a header */
	assert_int_equal(cw_event_check(ev, ev->hdr.size - 1), -EBADMSG); /* cut short */
	ev->hdr.size += 64; /* a version 1 record: a stack copy followed */
	assert_int_equal(cw_event_check(ev, ev->hdr.size), -EBADMSG);
	ev->hdr.size -= 64;
	ev->nr_ips = CW_MAX_FRAMES + 1;
	assert_int_equal(cw_event_check(ev, ev->hdr.size), -EBADMSG);
	ev->nr_ips = 2;
	ev->hdr.version = CW_EVENT_VERSION + 1;
	assert_int_equal(cw_event_check(ev, ev->hdr.size), -EBADMSG);
	ex.hdr.kind = 77;
	assert_int_equal(cw_event_check(&ex, sizeof(ex)), -EBADMSG);
	free(ev);
}

static void exec_record_is_checked_for_size(void **state)
{
	struct cw_exec_event ex = {.hdr = {CW_EVENT_EXEC, CW_EVENT_VERSION, sizeof(ex), 0}};

	(void)state;
	assert_int_equal(cw_event_check(&ex, sizeof(ex)), CW_EVENT_EXEC);
	ex.hdr.size = sizeof(ex) - 8; /* a record of another layout */
	assert_int_equal(cw_event_check(&ex, sizeof(ex)), -EBADMSG);
}

static void exe_path_joins_leaf_first_parts(void **state)
{
	struct cw_signal_event *ev = make_signal();
	char path[64];

	(void)state;
	cw_exe_path(ev, path, sizeof(path));
	assert_string_equal(path, "/tests/targets/null_deref");
	/* A part cut off by the capture (no terminator within exe_len) is dropped. */
	ev->exe_len = 13;
	cw_exe_path(ev, path, sizeof(path));
	assert_string_equal(path, "/null_deref");
	ev->exe_len = 0;
	cw_exe_path(ev, path, sizeof(path));
	assert_string_equal(path, "");
	free(ev);
}

static char *render_signal(const struct cw_signal_event *ev, bool json)
{
	struct cw_format_options o = {.json = json, .show_stack = true};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cw_format_signal(f, ev, NULL, &o);
	fclose(f);
	return buf;
}

static void text_line_names_the_crash(void **state)
{
	struct cw_signal_event *ev = make_signal();
	char *out;

	(void)state;
	cw_clock_init();
	out = render_signal(ev, false);
	assert_non_null(strstr(out, " signal pid=1234 tid=1236 comm=null_deref sig=SIGSEGV "
				    "code=SEGV_MAPERR addr=0x0 handler=default"));
	assert_non_null(strstr(out, "exe=/tests/targets/null_deref"));
	assert_non_null(
		strstr(out, "\n    #0  0x000055d1c2a1b139 ?? at offset 0x1139 build-id=abab"));
	assert_non_null(strstr(out, "\n    #1  0x000055d1c2a1b150 ??\n"));
	free(out);
	free(ev);
}

static void text_collapses_repeated_frames(void **state)
{
	struct cw_signal_event *ev = make_signal();
	char *out;

	(void)state;
	ev->nr_ips = 5;
	for (int i = 1; i < 5; i++)
		ev->ips[i] = 0x7f00000010e0;
	out = render_signal(ev, false);
	assert_non_null(strstr(out, "#1  0x00007f00000010e0"));
	assert_non_null(strstr(out, "#2..#4 repeat the frame above"));
	assert_null(strstr(out, "#3 "));
	free(out);
	free(ev);
}

static void json_holds_every_field(void **state)
{
	struct cw_signal_event *ev = make_signal();
	json_error_t jerr;
	json_t *j, *frames;
	char *out;

	(void)state;
	ev->flags |= CW_SIG_FROM_PROCESS | CW_SIG_SENDER_SEEN;
	ev->sender_pid = 99;
	memcpy(ev->sender_comm, "killer", 7);
	out = render_signal(ev, true);
	assert_non_null(strchr(out, '\n'));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1); /* one line */
	j = json_loads(out, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "signal");
	assert_int_equal(json_integer_value(json_object_get(j, "pid")), 1234);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "signal"), "code_name")),
		"SEGV_MAPERR");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "signal"), "addr")), "0x0");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "sender"), "comm")), "killer");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "regs"), "rip")),
			    "0x55d1c2a1b139");
	frames = json_object_get(j, "frames");
	assert_int_equal(json_array_size(frames), 2);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(frames, 0), "module_offset")),
		"0x1139");
	json_decref(j);
	free(out);
	free(ev);
}

static void exit_text_and_json(void **state)
{
	struct cw_exit_event ex = {
		.hdr = {CW_EVENT_EXIT, CW_EVENT_VERSION, sizeof(ex), 0},
		.task = {.pid = 7, .comm = "victim"},
		.status = SIGSEGV | 0x80,
		.term_sig = SIGSEGV,
		.flags = CW_EXIT_SIGNALED | CW_EXIT_CORE_DUMPED | CW_EXIT_SEEN_AT_DELIVERY,
		.flagged_sig = SIGSEGV,
	};
	struct cw_format_options o = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *j;

	(void)state;
	cw_format_exit(f, &ex, &o);
	o.json = true;
	cw_format_exit(f, &ex, &o);
	fclose(f);
	assert_non_null(
		strstr(buf, " exit pid=7 comm=victim status=killed:SIGSEGV core=yes seen=SIGSEGV"));
	j = json_loads(strchr(buf, '\n') + 1, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "killed_by")), "SIGSEGV");
	assert_true(json_is_true(json_object_get(j, "core_dumped")));
	assert_true(json_is_null(json_object_get(j, "exit_code")));
	json_decref(j);
	free(buf);
}

/* A record's timestamp is not trusted: the largest ones saturate instead of overflowing. */
static void time_of_any_timestamp_is_formatted(void **state)
{
	char t[48];

	(void)state;
	cw_clock_init();
	assert_true(cw_boot_to_realtime(UINT64_MAX) == INT64_MAX);
	assert_true(cw_boot_to_realtime((uint64_t)INT64_MAX) == INT64_MAX);
	cw_format_time(UINT64_MAX, t, sizeof(t));
	assert_string_equal(t, "2262-04-11T23:47:16.854775Z");
	cw_format_time(0x7600000000000000ull, t, sizeof(t)); /* found by fuzz_event */
	assert_string_equal(t, "2262-04-11T23:47:16.854775Z");
	cw_format_time(1000, t, sizeof(t));
	assert_int_equal(strlen(t), strlen("2026-11-23T18:40:01.123456Z"));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(check_accepts_well_formed),
	cmocka_unit_test(check_rejects_malformed),
	cmocka_unit_test(exec_record_is_checked_for_size),
	cmocka_unit_test(exe_path_joins_leaf_first_parts),
	cmocka_unit_test(text_line_names_the_crash),
	cmocka_unit_test(text_collapses_repeated_frames),
	cmocka_unit_test(json_holds_every_field),
	cmocka_unit_test(exit_text_and_json),
	cmocka_unit_test(time_of_any_timestamp_is_formatted),
};

CW_TEST_MAIN(tests)
