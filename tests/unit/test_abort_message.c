// SPDX-License-Identifier: MIT
#include "cw_test.h"

#include <stdlib.h>

#include "abort_message.h"

static struct cw_assert a;

static void glibc_format_parses(void **state)
{
	(void)state;
	assert_true(cw_assert_parse(
		"prog: src/buf.c:88: buf_push: Assertion `len <= cap' failed.\n", &a));
	assert_string_equal(a.expression, "len <= cap");
	assert_string_equal(a.file, "src/buf.c");
	assert_int_equal(a.line, 88);
	assert_string_equal(a.function, "buf_push");
}

static void parts_may_be_missing_or_odd(void **state)
{
	(void)state;
	/* No program name (empty __progname), no function. */
	assert_true(cw_assert_parse("x.c:3: Assertion `p' failed.\n", &a));
	assert_string_equal(a.file, "x.c");
	assert_int_equal(a.line, 3);
	assert_string_equal(a.function, "");
	/* An expression with quotes, colons and its own "failed.". */
	assert_true(cw_assert_parse(
		"p: a.c:1: int f(int): Assertion `s[0] == ':' && \"' failed.\\n\"' failed.\n", &a));
	assert_string_equal(a.expression, "s[0] == ':' && \"' failed.\\n\"");
	assert_string_equal(a.function, "int f(int)");
}

static void other_messages_do_not_parse(void **state)
{
	(void)state;
	assert_false(cw_assert_parse("malloc(): corrupted top size\n", &a));
	assert_false(cw_assert_parse("*** stack smashing detected ***: terminated\n", &a));
	/* __assert_perror_fail's format. */
	assert_false(cw_assert_parse("p: a.c:1: f: Unexpected error: No such file.\n", &a));
	/* No trailing newline, no line number, an empty expression. */
	assert_false(cw_assert_parse("p: a.c:1: f: Assertion `x' failed.", &a));
	assert_false(cw_assert_parse("p: a.c: f: Assertion `x' failed.\n", &a));
	assert_false(cw_assert_parse("p: a.c:1: f: Assertion `' failed.\n", &a));
	assert_false(cw_assert_parse("p: a.c:99999999999: f: Assertion `x' failed.\n", &a));
	assert_false(cw_assert_parse("", &a));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(glibc_format_parses),
	cmocka_unit_test(parts_may_be_missing_or_odd),
	cmocka_unit_test(other_messages_do_not_parse),
};

CW_TEST_MAIN(tests)
