// SPDX-License-Identifier: MIT
/*
 * Why it died, in the program's own words (issue 14): C++ exception types
 * made readable, Rust's panic path found by its symbols, a caught Rust panic
 * told from an uncaught one by the stack, a terminate() told from a catch
 * block's abort(), and the cause lines they make.
 */
#include "cw_test.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cxx_exception.h"
#include "demangle.h"
#include "eh_catch.h"
#include "rust_elf.h"
#include "rust_panic.h"
#include "snapshot_doc.h"

static void type(const char *mangled, const char *want)
{
	char out[256];

	cw_cxx_type_name(mangled, out, sizeof(out));
	assert_string_equal(out, want);
}

static void cxx_type_names(void **state)
{
	(void)state;
	type("St13runtime_error", "std::runtime_error");
	type("St12system_error", "std::system_error");
	type("St12out_of_range", "std::out_of_range");
	type("N7billing8DeclinedE", "billing::Declined");
	type("i", "int");
	type("PKc", "char const*");
	/* A function-local type: the '*' only marks it unique. */
	type("*Z4mainE5Local", "main::Local");
	/* Not a mangled type: as it is. */
	type("", "");
}

static void cxx_tls_index(void **state)
{
	/* Debian 12's libstdc++.so.6.0.30 (GCC 12), __cxa_get_globals at 0xa80e0. */
	static const uint8_t debian12[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x83, 0xec, 0x08,
					   0x48, 0x8d, 0x3d, 0x71, 0xad, 0x16, 0x00, 0xe8,
					   0x3c, 0x2c, 0xff, 0xff, 0x48, 0x83, 0xc4, 0x08,
					   0x48, 0x05, 0x10, 0x00, 0x00, 0x00, 0xc3, 0x90};
	static const uint8_t other[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x31, 0xc0, 0xc3};
	uint64_t got, add;

	(void)state;
	assert_int_equal(cw_cxx_decode_get_globals(debian12, sizeof(debian12), 0xa80e0, &got, &add),
			 0);
	assert_int_equal(got, 0x212e60); /* as objdump says: lea 0x16ad71(%rip) */
	assert_int_equal(add, 0x10);	 /* the add to rax (0 in the real one; 16 here) */
	assert_int_equal(cw_cxx_decode_get_globals(other, sizeof(other), 0, &got, &add), -ENOEXEC);
	assert_int_equal(cw_cxx_decode_get_globals(debian12, 9, 0, &got, &add), -ENOEXEC);
}

static void eh_catch_clauses(void **state)
{
	/*
	 * One CIE (zPLR, absolute pointers), one FDE for [0x1000, 0x1100) whose
	 * LSDA at 0x10000 has one call site, [+0, +0x80), landing at +0x90 with a
	 * catch clause (filter 1: as Rust's `catch ptr null` or C++'s catch (...)).
	 */
	static const uint8_t frame[] = {
		0x19, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x7a, 0x50, 0x4c, 0x52, 0x00,
		0x01, 0x78, 0x10, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x1d, 0x00, 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
	static uint8_t lsda[] = {0xff, 0xff, 0x01, 0x06, 0x00, 0x80,
				 0x01, 0x90, 0x01, 0x01, 0x01, 0x00};
	struct cw_eh_section f = {frame, sizeof(frame), 0x1000}, t = {lsda, sizeof(lsda), 0x10000};

	(void)state;
	assert_int_equal(cw_eh_catches(&f, &t, 0x1010), 1);
	assert_int_equal(cw_eh_catches(&f, &t, 0x1090), 0); /* no call site there */
	assert_int_equal(cw_eh_catches(&f, &t, 0x2000), 0); /* no FDE */
	lsda[sizeof(lsda) - 2] = 0x00;			    /* filter 0: a cleanup */
	assert_int_equal(cw_eh_catches(&f, &t, 0x1010), 0);
	lsda[sizeof(lsda) - 2] = 0x01;
	t.size = 4; /* the call-site table cut short */
	assert_int_equal(cw_eh_catches(&f, &t, 0x1010), -EBADMSG);
}

static void cxx_terminate_path(void **state)
{
	const char *uncaught[] = {"__pthread_kill_implementation",
				  "raise",
				  "abort",
				  NULL,
				  "std::terminate()",
				  "__cxa_throw",
				  "fail(char const*)"};
	const char *handled[] = {"raise", "abort", "handle(std::exception const&)", "main"};
	const char *verbose[] = {"abort", "__gnu_cxx::__verbose_terminate_handler()"};

	(void)state;
	assert_true(cw_cxx_terminating(uncaught, 7));
	assert_true(cw_cxx_terminating(verbose, 2));
	assert_false(cw_cxx_terminating(handled, 4));
	assert_false(cw_cxx_terminating(NULL, 0));
}

static void rust_hook_symbols(void **state)
{
	(void)state;
	assert_true(cw_rust_is_panic_hook_symbol(
		"_ZN3std9panicking20rust_panic_with_hook17h57071e38e2bc223fE"));
	assert_true(
		cw_rust_is_panic_hook_symbol("_RNvNtCs1234_3std9panicking20rust_panic_with_hook"));
	/* Its closures and other functions of the module are not it. */
	assert_false(cw_rust_is_panic_hook_symbol(
		"_ZN3std9panicking20rust_panic_with_hook28_$u7b$$u7b$closure$u7d$$u7d$17h0E"));
	assert_false(cw_rust_is_panic_hook_symbol("_ZN3std9panicking11begin_panic17h0E"));
	assert_false(cw_rust_is_panic_hook_symbol("rust_panic"));
}

static void rust_caught_or_not(void **state)
{
	/* As the unwinder names them at rust_panic (rustc 1.63, -C opt-level=0). */
	const char *main_panic[] = {"rust_panic",
				    "std::panicking::rust_panic_with_hook",
				    "std::panicking::begin_panic_handler::{{closure}}",
				    "rust_begin_unwind",
				    "core::panicking::panic_bounds_check",
				    "rust_index::pick",
				    "rust_index::main",
				    "core::ops::function::FnOnce::call_once",
				    "std::sys_common::backtrace::__rust_begin_short_backtrace",
				    "std::rt::lang_start::{{closure}}",
				    "std::rt::lang_start_internal",
				    "std::rt::lang_start",
				    "main"};
	const char *caught[] = {"rust_panic",
				"std::panicking::rust_panic_with_hook",
				"rust_caught::charge",
				"rust_caught::main::{{closure}}",
				"std::panicking::try::do_call",
				"__rust_try",
				"std::panicking::try",
				"std::panic::catch_unwind",
				"rust_caught::main",
				"std::rt::lang_start_internal"};
	const char *unnamed[] = {NULL, NULL, NULL};

	(void)state;
	assert_false(cw_rust_panic_caught(main_panic, 13));
	assert_true(cw_rust_panic_caught(caught, 10));
	/* Nothing named: reported rather than lost. */
	assert_false(cw_rust_panic_caught(unnamed, 3));
}

static char *cause_of(const struct cw_snapshot_doc *d)
{
	json_t *j = cw_snapshot_doc_json(d);
	const json_t *c = json_object_get(j, "cause");
	char *s = json_is_string(c) ? strdup(json_string_value(c)) : NULL;

	json_decref(j);
	return s;
}

static void expect_cause(const struct cw_snapshot_doc *d, const char *want)
{
	char *got = cause_of(d);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void cause_lines(void **state)
{
	const char *abrt[] = {"SIGABRT", "abort", "cpp-exception"};
	const char *rust[] = {"rust-panic"};
	struct cw_doc_attribute cxx[] = {{"exception.type", "std::runtime_error"},
					 {"exception.message", "connection refused"}};
	struct cw_doc_attribute cxx_int[] = {{"exception.type", "int"}};
	struct cw_doc_attribute panic[] = {
		{"panic.message", "index out of bounds: the len is 3 but the index is 7"},
		{"panic.location", "src/main.rs:3:5"}};
	struct cw_doc_capture cap = {.method = "ptrace", .tool = "test"};
	struct cw_snapshot_doc d = {
		.uuid = "u", .has_signal = true, .signal = {.number = SIGABRT}, .capture = cap};

	(void)state;
	d.classifiers = abrt;
	d.n_classifiers = 3;
	d.attributes = cxx;
	d.n_attributes = 2;
	expect_cause(&d, "uncaught exception std::runtime_error: connection refused");
	d.attributes = cxx_int;
	d.n_attributes = 1;
	expect_cause(&d, "uncaught exception int");
	/* panic=unwind: held at rust_panic, no signal. */
	d = (struct cw_snapshot_doc){
		.uuid = "u", .classifiers = rust, .n_classifiers = 1, .capture = cap};
	d.attributes = panic;
	d.n_attributes = 2;
	expect_cause(&d, "panicked at 'index out of bounds: the len is 3 but the index is 7', "
			 "src/main.rs:3:5");
	d.n_attributes = 0;
	expect_cause(&d, "panicked (Rust)");
	d.attributes = &panic[1];
	d.n_attributes = 1;
	expect_cause(&d, "panicked at src/main.rs:3:5");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cxx_type_names),     cmocka_unit_test(cxx_tls_index),
		cmocka_unit_test(cxx_terminate_path), cmocka_unit_test(eh_catch_clauses),
		cmocka_unit_test(rust_hook_symbols),  cmocka_unit_test(rust_caught_or_not),
		cmocka_unit_test(cause_lines),
	};

	return cw_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "why");
}
