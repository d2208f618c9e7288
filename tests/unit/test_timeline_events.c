// SPDX-License-Identifier: MIT
#include "cw_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "timeline_json.h"
#include "usdt_tracer.h"

static void events_lists_add_up_once_each(void **state)
{
	struct cw_usdt_trace_list l = {.n = 0};

	(void)state;
	assert_int_equal(cw_usdt_trace_list_add(&l, "shop:order,shop:tick", "--events"), 0);
	assert_int_equal(cw_usdt_trace_list_add(&l, "shop:tick,db:query", "--events"), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[2].provider, "db");
	assert_string_equal(l.v[2].name, "query");
	assert_int_equal(cw_usdt_trace_list_add(&l, "nocolon", "--events"), -EINVAL);
	assert_int_equal(cw_usdt_trace_list_add(&l, "a:b@prog", "--events"), -EINVAL);
	assert_int_equal(cw_usdt_trace_list_add(&l, "", "--events"), -EINVAL);
	assert_int_equal(cw_usdt_trace_list_add(&l, ",", "--events"), -EINVAL);
}

static void at_most_64_events(void **state)
{
	struct cw_usdt_trace_list l = {.n = 0};
	char spec[32];

	(void)state;
	for (int i = 0; i < CW_USDT_TRACE_MAX_SPECS; i++) {
		snprintf(spec, sizeof(spec), "p:e%d", i);
		assert_int_equal(cw_usdt_trace_list_add(&l, spec, "--events"), 0);
	}
	assert_int_equal(cw_usdt_trace_list_add(&l, "p:one_more", "--events"), -EINVAL);
	assert_int_equal(l.n, CW_USDT_TRACE_MAX_SPECS);
}

static void arguments_as_an_object_named_with_strings_and_big_unsigned(void **state)
{
	struct cw_usdt_attachment a = {.probe = {.n_args = 3}};
	struct cw_usdt_event ev = {.nargs = 3,
				   .cookie = CW_USDT_COOKIE(0, 1U << 1),
				   .args = {(__u64)-5, 0x1234, UINT64_MAX}};
	json_t *o;
	char *text;

	(void)state;
	a.probe.args[0] = (struct cw_usdt_arg){.size = 8, .is_signed = true, .name = "delta"};
	a.probe.args[1] = (struct cw_usdt_arg){.size = 8, .name = "who", .string = true};
	a.probe.args[2] = (struct cw_usdt_arg){.size = 8};
	snprintf(ev.strings[0], sizeof(ev.strings[0]), "bob");
	o = cw_usdt_args_json(&ev, &a, true);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text,
			    "{\"arg2\":\"18446744073709551615\",\"delta\":-5,\"who\":\"bob\"}");
	free(text);
	json_decref(o);
	/* Not UTF-8: its bytes past ASCII as '?', JSON that can be written. */
	snprintf(ev.strings[0], sizeof(ev.strings[0]), "b\xffo\xc3\xa9");
	o = cw_usdt_args_json(&ev, &a, true);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	assert_non_null(text);
	assert_string_equal(text,
			    "{\"arg2\":\"18446744073709551615\",\"delta\":-5,\"who\":\"b?o??\"}");
	free(text);
	json_decref(o);
	snprintf(ev.strings[0], sizeof(ev.strings[0]), "bob");
	o = cw_usdt_args_json(&ev, NULL, false); /* not known: arg0..., signed */
	text = json_dumps(o, JSON_COMPACT);
	assert_string_equal(text, "[{\"name\":\"arg0\",\"value\":-5},{\"name\":\"arg1\",\"value\":"
				  "\"bob\"},{\"name\":\"arg2\",\"value\":-1}]");
	free(text);
	json_decref(o);
}

/*
 * Instants alone (no record, of a process that is gone): each thread's in
 * time order after its thread_name, named by its comm; those outside the
 * window left out.
 */
static void instants_of_threads_without_records_are_written_in_time_order(void **state)
{
	char n1[] = "\"p:a\"", n2[] = "\"p:b\"", args[] = "{\"i\":1}", empty[] = "{}";
	struct cw_tl_instant in[] = {
		{.ts_ns = 3000,
		 .pid = 4000000,
		 .tid = 4000001,
		 .comm = "worker",
		 .name = n2,
		 .args = empty},
		{.ts_ns = 2500,
		 .pid = 4000000,
		 .tid = 4000000,
		 .comm = "main",
		 .name = n1,
		 .args = args},
		{.ts_ns = 2000,
		 .pid = 4000000,
		 .tid = 4000001,
		 .comm = "worker",
		 .name = n1,
		 .args = args},
		{.ts_ns = 9000,
		 .pid = 4000000,
		 .tid = 4000000,
		 .comm = "main",
		 .name = n1,
		 .args = args},
	};
	struct cw_tl_json_options o = {
		.hz = 99, .start_ns = 1000, .end_ns = 5000, .instants = in, .n_instants = 4};
	struct cw_tl_json_stats st;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(cw_tl_write_json(f, NULL, 0, &o, &st), 0);
	fclose(f);
	assert_string_equal(
		buf,
		"[{\"name\":\"hz\",\"ph\":\"M\",\"ts\":0,\"args\":{\"hz\":99}}\n"
		",{\"name\":\"process_name\",\"ph\":\"M\",\"ts\":0,\"pid\":4000000,\"args\":{"
		"\"name\":"
		"\"main\"}}\n"
		",{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":4000000,\"tid\":4000000,"
		"\"args\":{\"name\":\"main\"}}\n"
		",{\"name\":\"thread_name\",\"ph\":\"M\",\"ts\":0,\"pid\":4000000,\"tid\":4000001,"
		"\"args\":{\"name\":\"worker\"}}\n"
		",{\"name\":\"p:a\",\"cat\":\"usdt\",\"ph\":\"I\",\"s\":\"t\",\"ts\":1.500,\"pid\":"
		"4000000,\"tid\":4000000,\"args\":{\"i\":1}}\n"
		",{\"name\":\"p:a\",\"cat\":\"usdt\",\"ph\":\"I\",\"s\":\"t\",\"ts\":1.000,\"pid\":"
		"4000000,\"tid\":4000001,\"args\":{\"i\":1}}\n"
		",{\"name\":\"p:b\",\"cat\":\"usdt\",\"ph\":\"I\",\"s\":\"t\",\"ts\":2.000,\"pid\":"
		"4000000,\"tid\":4000001,\"args\":{}}\n"
		"]\n");
	assert_int_equal(st.instants, 3);
	assert_int_equal(st.threads, 2);
	assert_int_equal(st.processes, 1);
	free(buf);
}

/* A record of process 4000000 (none: frames named by address) on the CPU at ts. */
static struct cw_tl_record *on_cpu(uint64_t ts, uint32_t tid, uint64_t goid, uint64_t ip)
{
	struct cw_tl_record *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->hdr.kind = CW_TL_ON_CPU;
	r->hdr.ts_ns = r->end_ns = ts;
	r->pid = 4000000;
	r->tid = tid;
	strcpy(r->comm, "gothread");
	r->goid = goid;
	r->ip = ip;
	return r;
}

static void goroutines_on_tracks_of_their_own_across_threads(void **state)
{
	/* Goroutine 7 on one M, then another; the first M's own stack between. */
	const struct cw_tl_record *recs[] = {on_cpu(1000000, 4000001, 7, 0x7000),
					     on_cpu(2000000, 4000001, 0, 0x1000),
					     on_cpu(3000000, 4000002, 7, 0x7000),
					     on_cpu(4000000, 4000002, (1ULL << 30) + 1, 0x2000)};
	struct cw_tl_json_options o = {
		.hz = 1000, .start_ns = 0, .end_ns = 10000000, .state_frames = CW_TL_FRAMES_NO};
	struct cw_tl_json_stats st;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(cw_tl_write_json(f, recs, 4, &o, &st), 0);
	fclose(f);
	/* The threads keep their tracks for what ran on no goroutine (goid 0, or past 2^30). */
	assert_non_null(strstr(buf, "\"tid\":4000001,\"args\":{\"name\":\"gothread\"}"));
	assert_non_null(strstr(buf, "\"tid\":4000002,\"args\":{\"name\":\"gothread\"}"));
	assert_non_null(strstr(buf, "\"name\":\"0x1000\",\"ph\":\"B\",\"ts\":2000.000,\"pid\":"
				    "4000000,\"tid\":4000001}"));
	assert_non_null(strstr(buf, "\"name\":\"0x2000\",\"ph\":\"B\",\"ts\":4000.000,\"pid\":"
				    "4000000,\"tid\":4000002}"));
	/*
	 * Goroutine 7: one track, 2^30 + 7, whichever thread ran it: one slice from
	 * its first sample to two periods past its second.
	 */
	assert_non_null(strstr(buf, "\"tid\":1073741831,\"args\":{\"name\":\"goroutine 7\"}"));
	assert_non_null(strstr(buf, "\"name\":\"0x7000\",\"ph\":\"B\",\"ts\":1000.000,\"pid\":"
				    "4000000,\"tid\":1073741831}"));
	assert_non_null(strstr(buf, "\"name\":\"0x7000\",\"ph\":\"E\",\"ts\":5000.000,\"pid\":"
				    "4000000,\"tid\":1073741831}"));
	assert_int_equal(st.threads, 2);
	assert_int_equal(st.goroutines, 1);
	free(buf);
	for (size_t i = 0; i < 4; i++)
		free((void *)recs[i]);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(goroutines_on_tracks_of_their_own_across_threads),
	cmocka_unit_test(events_lists_add_up_once_each),
	cmocka_unit_test(at_most_64_events),
	cmocka_unit_test(arguments_as_an_object_named_with_strings_and_big_unsigned),
	cmocka_unit_test(instants_of_threads_without_records_are_written_in_time_order),
};

CW_TEST_MAIN(tests)
