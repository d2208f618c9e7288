/* SPDX-License-Identifier: MIT */
/*
 * cmocka main for the unit tests: `test_x --list` names the tests, `test_x
 * NAME` runs one of them; the pytest suite runs each one as its own test.
 */
#ifndef CW_TEST_H
#define CW_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static inline int cw_test_main(int argc, char **argv, const struct CMUnitTest *tests, size_t n,
			       const char *group)
{
	if (argc > 1 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < n; i++)
			puts(tests[i].name);
		return 0;
	}
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}

#define CW_TEST_MAIN(tests)                                                                        \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		return cw_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), #tests);  \
	}

#endif
