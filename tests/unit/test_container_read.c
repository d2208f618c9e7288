// SPDX-License-Identifier: MIT
/* The container object: /proc/PID/cgroup and mountinfo texts, and this very process. */
#include "cw_test.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container_read.h"
#include "proc_info.h"

#define ID "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"

static void v2_line_gives_path_and_name(void **state)
{
	struct cw_container_info ci = {0};

	(void)state;
	assert_int_equal(
		cw_container_from_cgroup_file("0::/system.slice/docker-" ID ".scope\n", &ci), 0);
	assert_string_equal(ci.cgroup, "/system.slice/docker-" ID ".scope");
	assert_string_equal(ci.name.runtime, "docker");
	assert_string_equal(ci.name.id, ID);
	cw_container_info_free(&ci);
}

static void hybrid_host_names_it_from_a_v1_line(void **state)
{
	struct cw_container_info ci = {0};

	(void)state;
	/* runc's cgroupfs driver on a hybrid host: v2 says nothing of the container. */
	assert_int_equal(cw_container_from_cgroup_file("12:pids:/docker/" ID "\n"
						       "4:memory:/docker/" ID "\n"
						       "1:name=systemd:/docker/" ID "\n"
						       "0::/system.slice/containerd.service",
						       &ci),
			 0);
	assert_string_equal(ci.cgroup, "/system.slice/containerd.service");
	assert_string_equal(ci.name.runtime, "docker");
	assert_string_equal(ci.name.id, ID);
	assert_string_equal(ci.name.systemd_unit, "");
	cw_container_info_free(&ci);
	/* No v2 line at all (a v1-only host): no path, the name from v1. */
	assert_int_equal(cw_container_from_cgroup_file("4:memory:/docker/" ID "\n", &ci), 0);
	assert_null(ci.cgroup);
	assert_string_equal(ci.name.id, ID);
	cw_container_info_free(&ci);
	/* Garbage lines are skipped. */
	assert_int_equal(cw_container_from_cgroup_file("junk\n\n:\n0::/a\n", &ci), 0);
	assert_string_equal(ci.cgroup, "/a");
	assert_string_equal(ci.name.id, "");
	cw_container_info_free(&ci);
}

static void mountinfo_finds_cgroup2(void **state)
{
	static const char hybrid[] =
		"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n";
	static const char escaped[] = "50 1 0:40 /sub /mnt/my\\040cg rw - cgroup2 none rw\n";
	static const char v1_only[] = "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
				      "33 31 0:30 / /x rw - cgroup2fake x rw\n";
	char mount[64], root[64], tiny[8];

	(void)state;
	assert_int_equal(cw_mountinfo_cgroup2(hybrid, mount, sizeof(mount), root, sizeof(root)), 0);
	assert_string_equal(mount, "/sys/fs/cgroup/unified");
	assert_string_equal(root, "/");
	assert_int_equal(cw_mountinfo_cgroup2(escaped, mount, sizeof(mount), root, sizeof(root)),
			 0);
	assert_string_equal(mount, "/mnt/my cg");
	assert_string_equal(root, "/sub");
	assert_int_equal(cw_mountinfo_cgroup2(v1_only, mount, sizeof(mount), root, sizeof(root)),
			 -ENOENT);
	assert_int_equal(cw_mountinfo_cgroup2("", mount, sizeof(mount), root, sizeof(root)),
			 -ENOENT);
	assert_int_equal(cw_mountinfo_cgroup2(hybrid, tiny, sizeof(tiny), root, sizeof(root)),
			 -ENAMETOOLONG);
}

static void this_process_is_read(void **state)
{
	struct cw_container_info ci;
	struct stat pid_ns, mnt_ns;
	char *text = cw_proc_read_file(AT_FDCWD, "/proc/self/cgroup", NULL), *v2, *path;
	int dir = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	json_t *j;

	(void)state;
	assert_true(dir >= 0);
	assert_non_null(text);
	assert_int_equal(cw_container_info_read(dir, &ci), 0);
	assert_int_equal(stat("/proc/self/ns/pid", &pid_ns), 0);
	assert_int_equal(stat("/proc/self/ns/mnt", &mnt_ns), 0);
	assert_int_equal(ci.pid_ns, pid_ns.st_ino);
	assert_int_equal(ci.mnt_ns, mnt_ns.st_ino);
	v2 = strstr(text, "0::");
	if (v2) {
		v2[strcspn(v2, "\n")] = '\0';
		assert_string_equal(ci.cgroup, v2 + 3);
		/* Where cgroup2 is mounted (as on every systemd host), the id is known. */
		assert_true(ci.cgroup_id > 0);
		assert_int_equal(cw_cgroup_id(ci.cgroup), ci.cgroup_id);
		/* And back: the path of that id. */
		path = cw_cgroup_path_of_id(ci.cgroup_id);
		assert_non_null(path);
		assert_string_equal(path, ci.cgroup);
		free(path);
	}
	j = cw_container_json(&ci);
	assert_int_equal(json_integer_value(json_object_get(j, "pid_ns")), pid_ns.st_ino);
	assert_int_equal(json_integer_value(json_object_get(j, "cgroup_id")), ci.cgroup_id);
	json_decref(j);
	cw_container_info_free(&ci);
	free(text);
	close(dir);
	/* A directory that is no process. */
	dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(cw_container_info_read(dir, &ci), -ENOENT);
	assert_null(ci.cgroup);
	close(dir);
}

static void unknown_is_null_and_no_cgroup_id(void **state)
{
	struct cw_container_info ci = {0};
	json_t *j;

	(void)state;
	assert_int_equal(cw_cgroup_id("/no/such/cgroup/cw-test"), 0);
	assert_int_equal(cw_cgroup_id("relative"), 0);
	assert_int_equal(cw_cgroup_id(NULL), 0);
	assert_null(cw_cgroup_path_of_id(0));
	assert_null(cw_cgroup_path_of_id(1ULL << 60));
	j = cw_container_json(&ci);
	assert_null(json_object_get(j, "cgroup_id"));
	assert_int_equal(json_object_size(j), 7);
	assert_true(json_is_null(json_object_get(j, "cgroup")));
	assert_true(json_is_null(json_object_get(j, "runtime")));
	assert_true(json_is_null(json_object_get(j, "id")));
	assert_true(json_is_null(json_object_get(j, "pod_uid")));
	assert_true(json_is_null(json_object_get(j, "systemd_unit")));
	assert_true(json_is_null(json_object_get(j, "pid_ns")));
	assert_true(json_is_null(json_object_get(j, "mnt_ns")));
	json_decref(j);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(v2_line_gives_path_and_name),
	cmocka_unit_test(hybrid_host_names_it_from_a_v1_line),
	cmocka_unit_test(mountinfo_finds_cgroup2),
	cmocka_unit_test(this_process_is_read),
	cmocka_unit_test(unknown_is_null_and_no_cgroup_id),
};

CW_TEST_MAIN(tests)
