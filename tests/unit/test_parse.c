// SPDX-License-Identifier: MIT
#include "cw_test.h"

#include <errno.h>
#include <signal.h>

#include "parse.h"

static void u64_accepts_decimal_and_hex(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(cw_parse_u64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cw_parse_u64("0x10", 0, 100, &v), 0);
	assert_int_equal(v, 16);
}

static void u64_rejects_junk_sign_and_range(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(cw_parse_u64("12abc", 0, 100, &v), -EINVAL);
	assert_int_equal(cw_parse_u64("", 0, 100, &v), -EINVAL);
	assert_int_equal(cw_parse_u64("-1", 0, 100, &v), -EINVAL);
	assert_int_equal(cw_parse_u64(" 1", 0, 100, &v), -EINVAL);
	assert_int_equal(cw_parse_u64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(cw_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(v, 7); /* untouched on error */
}

static void size_takes_suffixes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(cw_parse_size("16K", 0, 1 << 20, &v), 0);
	assert_int_equal(v, 16384);
	assert_int_equal(cw_parse_size("4m", 0, 1 << 30, &v), 0);
	assert_int_equal(v, 4 << 20);
	assert_int_equal(cw_parse_size("512", 0, 1 << 20, &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(cw_parse_size("16KB", 0, 1 << 20, &v), -EINVAL);
	assert_int_equal(cw_parse_size("K", 0, 1 << 20, &v), -EINVAL);
	assert_int_equal(cw_parse_size("2G", 0, 1 << 30, &v), -ERANGE);
}

static void signal_list_by_name_and_number(void **state)
{
	const char *bad;
	uint64_t m;

	(void)state;
	assert_int_equal(cw_parse_signal_list("SEGV,sigbus,4", &m, &bad), 0);
	assert_true(m ==
		    ((1ULL << (SIGSEGV - 1)) | (1ULL << (SIGBUS - 1)) | (1ULL << (SIGILL - 1))));
	assert_null(bad);
}

static void signal_list_names_the_bad_item(void **state)
{
	const char *bad;
	uint64_t m = 0;

	(void)state;
	assert_int_equal(cw_parse_signal_list("SEGV,FOO", &m, &bad), -EINVAL);
	assert_string_equal(bad, "FOO");
	assert_int_equal(cw_parse_signal_list("SEGV,", &m, &bad), -EINVAL);
	assert_int_equal(cw_parse_signal_list("65", &m, &bad), -EINVAL);
	assert_string_equal(bad, "65");
	assert_int_equal(cw_parse_signal_list("", &m, &bad), -EINVAL);
	assert_int_equal(m, 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(u64_accepts_decimal_and_hex),
	cmocka_unit_test(u64_rejects_junk_sign_and_range),
	cmocka_unit_test(size_takes_suffixes),
	cmocka_unit_test(signal_list_by_name_and_number),
	cmocka_unit_test(signal_list_names_the_bad_item),
};

CW_TEST_MAIN(tests)
