// SPDX-License-Identifier: MIT
#include "cw_test.h"

#include <errno.h>
#include <string.h>

#include "scope.h"

static int mount_of(const char *mountinfo, char *out, size_t cap)
{
	FILE *f = fmemopen((void *)mountinfo, strlen(mountinfo), "r");
	int r = cw_cgroup2_mount(f, out, cap);

	fclose(f);
	return r;
}

/* A hybrid host (v1 controllers, v2 at unified) and a pure v2 one, escapes undone. */
static void the_cgroup2_mount_is_found_in_mountinfo(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(
		mount_of(
			"25 1 0:23 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
			"30 25 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
			"31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 "
			"rw,nsdelegate\n"
			"33 30 0:29 / /sys/fs/cgroup/memory rw shared:12 - cgroup cgroup "
			"rw,memory\n",
			out, sizeof(out)),
		0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	assert_int_equal(
		mount_of("40 25 0:30 / /my\\040cgroups rw - cgroup2 none rw\n", out, sizeof(out)),
		0);
	assert_string_equal(out, "/my cgroups");
}

static void no_cgroup2_is_enoent(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(mount_of("33 30 0:29 / /sys/fs/cgroup/memory rw shared:12 - cgroup "
				  "cgroup rw,memory\nshort line\n\n",
				  out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(mount_of("", out, sizeof(out)), -ENOENT);
}

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
	cmocka_unit_test(the_cgroup2_mount_is_found_in_mountinfo),
	cmocka_unit_test(no_cgroup2_is_enoent),
	cmocka_unit_test(the_scope_says_what_is_watched),
};

CW_TEST_MAIN(tests)
