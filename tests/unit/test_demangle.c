// SPDX-License-Identifier: MIT
/* Demangled names: C++ (Itanium), Rust legacy and v0 by libiberty; C names untouched. */
#include "cw_test.h"

#include <stdlib.h>
#include <string.h>

#include "demangle.h"

static void expect(const char *sym, const char *want)
{
	char *got = cw_demangle(sym);

	if (want) {
		assert_non_null(got);
		assert_string_equal(got, want);
	} else {
		assert_null(got);
	}
	free(got);
}

static void test_cplusplus(void **state)
{
	(void)state;
	expect("_ZN3foo3barEv", "foo::bar()");
	expect("_ZN2ns6Parked4parkEi", "ns::Parked::park(int)");
	expect("_ZNSt6vectorIiSaIiEE9push_backERKi",
	       "std::vector<int, std::allocator<int> >::push_back(int const&)");
}

static void test_rust_legacy(void **state)
{
	(void)state;
	/* The trailing hash goes, as rustc's own demangler does without {:#}. */
	expect("_ZN4core9panicking5panic17h0123456789abcdefE", "core::panicking::panic");
	expect("_ZN3std2rt10lang_start17h2c1f9b5e1d3a8f42E", "std::rt::lang_start");
}

static void test_rust_v0(void **state)
{
	(void)state;
	/* Examples of the v0 mangling's specification (rust-lang RFC 2603). */
	expect("_RNvCsbmNqQUJIY6D_4core4main", "core::main");
	expect("_RNvNtCs1234_7mycrate3foo3bar", "mycrate::foo::bar");
	expect("_RNvMsr_NtCs3ssYzQotkvD_3std4pathNtB5_7PathBuf3newCs15kBYyAo9fc_7mycrate",
	       "<std::path::PathBuf>::new");
}

static void test_c_names_untouched(void **state)
{
	(void)state;
	expect("main", NULL);
	expect("__libc_start_main", NULL);
	expect("_start", NULL);
	expect("_Zfoo", NULL); /* looks mangled, is not */
	expect("", NULL);
	expect(NULL, NULL);
}

static void test_cache(void **state)
{
	struct cw_demangle_cache c = {0};
	static char names[300][24];
	const char *raw, *name;

	(void)state;
	assert_null(cw_demangle_cached(&c, NULL, &raw));
	assert_null(raw);
	/* Enough entries to grow the table several times; keyed by the string's address. */
	for (int i = 0; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), i % 2 ? "_ZN3foo4f%03dEv" : "cfunc%03d", i);
		name = cw_demangle_cached(&c, names[i], &raw);
		if (i % 2) {
			char want[32];

			snprintf(want, sizeof(want), "foo::f%03d()", i);
			assert_string_equal(name, want);
			assert_ptr_equal(raw, names[i]);
		} else {
			assert_ptr_equal(name, names[i]);
			assert_null(raw);
		}
	}
	name = cw_demangle_cached(&c, names[1], &raw);
	assert_ptr_equal(name, cw_demangle_cached(&c, names[1], &raw));
	assert_string_equal(name, "foo::f001()");
	assert_ptr_equal(raw, names[1]);
	assert_ptr_equal(cw_demangle_cached(&c, names[0], &raw), names[0]);
	assert_null(raw);
	assert_int_equal(c.n, 300);
	cw_demangle_cache_free(&c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cplusplus), cmocka_unit_test(test_rust_legacy),
		cmocka_unit_test(test_rust_v0),	  cmocka_unit_test(test_c_names_untouched),
		cmocka_unit_test(test_cache),
	};

	return cw_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "demangle");
}
