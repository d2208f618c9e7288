// SPDX-License-Identifier: MIT
#include "cw_test.h"

#include <errno.h>

#include "usdt_attach.h"
#include "usdt_notes.h"

/* A probe as its note would give it: -8@..., 8@..., -4@... */
static struct cw_usdt_probe three_args(void)
{
	struct cw_usdt_probe p = {.n_args = 3};

	p.args[0] = (struct cw_usdt_arg){.size = 8, .is_signed = true};
	p.args[1] = (struct cw_usdt_arg){.size = 8};
	p.args[2] = (struct cw_usdt_arg){.size = 4, .is_signed = true};
	return p;
}

static void trace_h_list_names_arguments_and_strings(void **state)
{
	struct cw_usdt_probe p = three_args();

	(void)state;
	assert_int_equal(cw_usdt_describe_args(&p, "id,customer:str,cents"), 0);
	assert_true(p.described);
	assert_string_equal(p.args[0].name, "id");
	assert_string_equal(p.args[1].name, "customer");
	assert_string_equal(p.args[2].name, "cents");
	assert_false(p.args[0].string);
	assert_true(p.args[1].string);
	assert_false(p.args[2].string);
}

static void a_string_is_only_an_8_byte_argument(void **state)
{
	struct cw_usdt_probe p = three_args();

	(void)state;
	assert_int_equal(cw_usdt_describe_args(&p, "a,b,c:str"), 0);
	assert_false(p.args[2].string); /* 4 bytes: not a pointer */
}

static void a_bad_list_is_refused_whole(void **state)
{
	struct cw_usdt_probe p = three_args();

	(void)state;
	assert_int_equal(cw_usdt_describe_args(&p, "a,,b"), -EINVAL);
	assert_int_equal(cw_usdt_describe_args(&p, "a,"), -EINVAL);
	assert_int_equal(cw_usdt_describe_args(&p, "bad-name"), -EINVAL);
	assert_int_equal(cw_usdt_describe_args(&p, ":str"), -EINVAL);
	assert_int_equal(cw_usdt_describe_args(&p, "a,b,c,d,e,f,g,h,i,j,k,l,m"), -EINVAL);
	assert_int_equal(cw_usdt_describe_args(&p, "a_name_longer_than_thirty_one_chars"), -EINVAL);
	assert_false(p.described);
	assert_int_equal(cw_usdt_describe_args(&p, ""), 0);
	assert_string_equal(p.args[0].name, "");
}

static void spec_is_provider_name_and_maybe_program(void **state)
{
	struct cw_usdt_spec s;
	const char *why;

	(void)state;
	assert_int_equal(cw_usdt_spec_parse("shop:order", true, &s, &why), 0);
	assert_string_equal(s.provider, "shop");
	assert_string_equal(s.name, "order");
	assert_null(s.program);
	assert_int_equal(
		cw_usdt_spec_parse("libstdcxx:throw@/usr/lib/x/libstdc++.so.6", true, &s, &why), 0);
	assert_string_equal(s.program, "/usr/lib/x/libstdc++.so.6");
	assert_int_equal(cw_usdt_spec_parse("a:b@prog", false, &s, &why), -EINVAL);
	assert_int_equal(cw_usdt_spec_parse("a:b@", true, &s, &why), -EINVAL);
	assert_int_equal(cw_usdt_spec_parse(":b", true, &s, &why), -EINVAL);
	assert_int_equal(cw_usdt_spec_parse("a:", true, &s, &why), -EINVAL);
	assert_int_equal(cw_usdt_spec_parse("ab", true, &s, &why), -EINVAL);
	assert_int_equal(cw_usdt_spec_parse("a@x:b", true, &s, &why), -EINVAL);
	assert_int_equal(cw_usdt_spec_parse("a b:c", true, &s, &why), -EINVAL);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(trace_h_list_names_arguments_and_strings),
	cmocka_unit_test(a_string_is_only_an_8_byte_argument),
	cmocka_unit_test(a_bad_list_is_refused_whole),
	cmocka_unit_test(spec_is_provider_name_and_maybe_program),
};

CW_TEST_MAIN(tests)
