// SPDX-License-Identifier: MIT
/*
 * Issue 16, item 2: what GET /debug/timeline accepts, and how it refuses
 * the rest: fgtrace's 400 bodies (`bad hz: "x": <Go's reason>`), query
 * parameters decoded as Go's net/url decodes them, values quoted as %q.
 */
#include "cw_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"
#include "timeline_http_params.h"

static void query_parameters_are_decoded_as_go_does(void **state)
{
	char v[16];

	(void)state;
	assert_int_equal(cw_http_query_get("a=1&hz=%3199&b", "hz", v, sizeof(v)), 1);
	assert_string_equal(v, "199");
	assert_int_equal(cw_http_query_get("hz=a+b", "hz", v, sizeof(v)), 1);
	assert_string_equal(v, "a b");
	/* The first good one; a badly escaped pair is skipped, as url.ParseQuery does. */
	assert_int_equal(cw_http_query_get("hz=%zz&hz=2&hz=3", "hz", v, sizeof(v)), 1);
	assert_string_equal(v, "2");
	assert_int_equal(cw_http_query_get("h%7a=5", "hz", v, sizeof(v)), 1);
	assert_string_equal(v, "5");
	assert_int_equal(cw_http_query_get("hz", "hz", v, sizeof(v)), 1);
	assert_string_equal(v, "");
	assert_int_equal(cw_http_query_get("hzz=1&h=2&hz=%4", "hz", v, sizeof(v)), 0);
	assert_int_equal(cw_http_query_get("hz=1%002", "hz", v, sizeof(v)), 0);
	assert_int_equal(cw_http_query_get("hz=0123456789abcdef", "hz", v, sizeof(v)), -E2BIG);
}

static void values_are_quoted_as_go_quotes_them(void **state)
{
	char q[32];

	(void)state;
	cw_http_quote("x", q, sizeof(q));
	assert_string_equal(q, "\"x\"");
	cw_http_quote("a\"b\\c\n\t\x01\xff", q, sizeof(q));
	assert_string_equal(q, "\"a\\\"b\\\\c\\n\\t\\x01\\xff\"");
	cw_http_quote("0123456789", q, 8);
	assert_string_equal(q, "\"01234\"");
}

static void requests_keep_their_query_and_version(void **state)
{
	const char *head = "GET /debug/timeline?pid=1&hz=9#frag HTTP/1.0\r\n\r\n";
	struct cw_http_request r;

	(void)state;
	assert_int_equal(cw_http_request_parse(head, strlen(head), &r), 0);
	assert_string_equal(r.path, "/debug/timeline");
	assert_string_equal(r.query, "pid=1&hz=9");
	assert_int_equal(r.minor, 0);
}

static void good_queries_and_defaults(void **state)
{
	struct cw_tl_http_params p;
	char body[768];

	(void)state;
	assert_int_equal(cw_tl_http_params_parse("pid=42", &p, body, sizeof(body)), 0);
	assert_int_equal(p.pid, 42);
	assert_true(p.seconds == 30.0);
	assert_int_equal(p.hz, 99);
	assert_int_equal(p.frames, CW_TL_FRAMES_ROOT);
	/* An empty value is the default, as fgtrace's `val == ""`. */
	assert_int_equal(cw_tl_http_params_parse("pid=7&seconds=&hz=&seconds=0.25&hz=1000"
						 "&state-frames=leaf",
						 &p, body, sizeof(body)),
			 0);
	assert_true(p.seconds == 30.0);
	assert_int_equal(p.hz, 99);
	assert_int_equal(p.frames, CW_TL_FRAMES_LEAF);
	assert_int_equal(
		cw_tl_http_params_parse("pid=7&seconds=0.25&hz=1000", &p, body, sizeof(body)), 0);
	assert_true(p.seconds == 0.25);
	assert_int_equal(p.hz, 1000);
}

#define LONG65 "0123456789012345678901234567890123456789012345678901234567890123x"

static void bad_queries_get_fgtraces_bodies(void **state)
{
	static const struct {
		const char *query, *body;
	} cases[] = {
		{"pid=1&hz=x", "bad hz: \"x\": strconv.Atoi: parsing \"x\": invalid syntax\n"},
		{"pid=1&hz=0", "bad hz: \"0\": invalid value\n"},
		{"pid=1&hz=-1", "bad hz: \"-1\": invalid value\n"},
		{"pid=1&hz=%2B5x",
		 "bad hz: \"+5x\": strconv.Atoi: parsing \"+5x\": invalid syntax\n"},
		{"pid=1&hz=%201", "bad hz: \" 1\": strconv.Atoi: parsing \" 1\": invalid syntax\n"},
		{"pid=1&hz=1001", "bad hz: \"1001\": invalid value: at most 1000\n"},
		{"pid=1&hz=99999999999999999999",
		 "bad hz: \"99999999999999999999\": strconv.Atoi: parsing "
		 "\"99999999999999999999\": value out of range\n"},
		{"pid=1&seconds=abc",
		 "bad seconds: \"abc\": strconv.ParseFloat: parsing \"abc\": invalid syntax\n"},
		{"pid=1&seconds=0", "bad seconds: \"0\": invalid value\n"},
		{"pid=1&seconds=-2.5", "bad seconds: \"-2.5\": invalid value\n"},
		{"pid=1&seconds=nan", "bad seconds: \"nan\": invalid value\n"},
		{"pid=1&seconds=301", "bad seconds: \"301\": invalid value: at most 300\n"},
		{"pid=1&seconds=1e999",
		 "bad seconds: \"1e999\": strconv.ParseFloat: parsing \"1e999\": value out of "
		 "range\n"},
		/* fgtrace looks at seconds before hz. */
		{"hz=x&seconds=y",
		 "bad seconds: \"y\": strconv.ParseFloat: parsing \"y\": invalid syntax\n"},
		{"pid=1&state-frames=top", "bad state-frames: \"top\": invalid value: root, leaf "
					   "or no\n"},
		{"", "missing pid: give the process to record, e.g. "
		     "/debug/timeline?pid=1234&seconds=5\n"},
		{"pid=", "missing pid: give the process to record, e.g. "
			 "/debug/timeline?pid=1234&seconds=5\n"},
		{"pid=" LONG65, "bad pid: longer than 64 bytes\n"},
		{"pid=abc", "bad pid: \"abc\": strconv.Atoi: parsing \"abc\": invalid syntax\n"},
		{"pid=0", "bad pid: \"0\": invalid value\n"},
		{"pid=4294967296", "bad pid: \"4294967296\": invalid value\n"},
		{"pid=\"%0a", "bad pid: \"\\\"\\n\": strconv.Atoi: parsing \"\\\"\\n\": invalid "
			      "syntax\n"},
	};
	struct cw_tl_http_params p;
	char body[768];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cw_tl_http_params_parse(cases[i].query, &p, body, sizeof(body)) != -EINVAL)
			fail_msg("took \"%s\"", cases[i].query);
		if (strcmp(body, cases[i].body))
			fail_msg("\"%s\": said \"%s\", not \"%s\"", cases[i].query, body,
				 cases[i].body);
	}
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(query_parameters_are_decoded_as_go_does),
	cmocka_unit_test(values_are_quoted_as_go_quotes_them),
	cmocka_unit_test(requests_keep_their_query_and_version),
	cmocka_unit_test(good_queries_and_defaults),
	cmocka_unit_test(bad_queries_get_fgtraces_bodies),
};

CW_TEST_MAIN(tests)
