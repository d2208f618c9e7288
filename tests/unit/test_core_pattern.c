// SPDX-License-Identifier: MIT
#include "cw_test.h"

#include <errno.h>

#include "core_pattern.h"

static const struct cw_core_info info = {
	.pid = 7,
	.global_pid = 1007,
	.tid = 8,
	.global_tid = 1008,
	.uid = 1000,
	.gid = 100,
	.sig = 11,
	.time = 1700000000,
	.limit = 0,
	.host = "vm",
	.comm = "my prog",
};

static void file_patterns_expand_every_specifier(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(cw_core_expand("core.%e.%p.%P.%i.%I.%u.%g.%s.%t.%c.%h.%%.%z", &info, out,
					sizeof(out)),
			 0);
	assert_string_equal(out, "core.my prog.7.1007.8.1008.1000.100.11.1700000000.0.vm.%.");
	assert_int_equal(cw_core_expand("core", &info, out, sizeof(out)), 0);
	assert_string_equal(out, "core");
	assert_int_equal(cw_core_expand("trailing%", &info, out, sizeof(out)), 0);
	assert_string_equal(out, "trailing%");
	assert_int_equal(cw_core_expand("%e%e%e", &info, out, 10), -ENAMETOOLONG);
}

static void pipe_patterns_split_before_expanding(void **state)
{
	char buf[512], *argv[CW_CORE_MAX_ARGS + 1];

	(void)state;
	assert_int_equal(
		cw_core_pipe_argv("|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h %e",
				  &info, buf, sizeof(buf), argv),
		9);
	assert_string_equal(argv[0], "/usr/lib/systemd/systemd-coredump");
	assert_string_equal(argv[1], "1007");
	assert_string_equal(argv[8], "my prog"); /* one argument, space and all */
	assert_null(argv[9]);
	assert_int_equal(cw_core_pipe_argv("|  /bin/x   %p  ", &info, buf, sizeof(buf), argv), 2);
	assert_string_equal(argv[1], "7");
	assert_int_equal(cw_core_pipe_argv("core", &info, buf, sizeof(buf), argv), -EINVAL);
	assert_int_equal(cw_core_pipe_argv("|", &info, buf, sizeof(buf), argv), -EINVAL);
}

/* %F is "3" where the consumer gets a pidfd on fd 3 (the kernel's convention), else dropped. */
static void pidfd_specifier_only_with_a_pidfd(void **state)
{
	struct cw_core_info with = info;
	char out[64];

	(void)state;
	assert_int_equal(cw_core_expand("x%Fy", &info, out, sizeof(out)), 0);
	assert_string_equal(out, "xy");
	with.pidfd = true;
	assert_int_equal(cw_core_expand("x%Fy", &with, out, sizeof(out)), 0);
	assert_string_equal(out, "x3y");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(file_patterns_expand_every_specifier),
	cmocka_unit_test(pidfd_specifier_only_with_a_pidfd),
	cmocka_unit_test(pipe_patterns_split_before_expanding),
};

CW_TEST_MAIN(tests)
