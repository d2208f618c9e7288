// SPDX-License-Identifier: MIT
#include "cw_test.h"

#include <string.h>

#include "scope.h"

static void the_scope_says_what_is_watched(void **state)
{
	struct cw_scope s = {.pidns = CW_HOST_PIDNS_INO, .n_cgroups = 2};
	char out[512];

	(void)state;
	strcpy(s.cgroup_paths[0], "/a");
	strcpy(s.cgroup_paths[1], "/b/c");
	cw_scope_describe(&s, out, sizeof(out));
	assert_string_equal(out, "every process on the host in cgroups /a, /b/c and below");
	s = (struct cw_scope){.pidns = 4026532178U, .sidecar = true};
	cw_scope_describe(&s, out, sizeof(out));
	assert_string_equal(out, "the processes of pid namespace 4026532178 (a sidecar: pids as it "
				 "numbers them)");
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(the_scope_says_what_is_watched),
};

CW_TEST_MAIN(tests)
