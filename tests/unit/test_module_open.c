// SPDX-License-Identifier: MIT
/* Opening a mapped file as its process sees it: which path is tried, and what is refused. */
#include "cw_test.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "module_open.h"

#define NO_SUCH_PID 0x3ffffff0 /* above pid_max's limit: never a process */

static void own_executable_through_map_files(void **state)
{
	struct cw_module_source s;
	char exe[PATH_MAX], *name;
	struct stat a, b;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int fd;

	(void)state;
	assert_true(n > 0);
	exe[n] = '\0';
	assert_int_equal(cw_module_source_init(&s, getpid(), NULL), 0);
	assert_true(s.own_mnt_ns);
	fd = cw_module_open(&s, exe, &name);
	assert_true(fd >= 0);
	assert_string_equal(name, exe);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(exe, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	free(name);
	close(fd);
	cw_module_source_free(&s);
}

/* A file of ours, and maps text that says it is mapped (at a range map_files does not have). */
static char *mapped_file(char *path, size_t cap, uint64_t inode_delta)
{
	struct stat st;
	char *maps;
	int fd;

	snprintf(path, cap, "/tmp/cw-module-open-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	assert_true(asprintf(&maps, "1000-2000 r-xp 00000000 00:00 %llu    %s\n",
			     (unsigned long long)st.st_ino + inode_delta, path) > 0);
	return maps;
}

static void by_path_only_with_the_mapped_inode(void **state)
{
	struct cw_module_source s;
	char path[64], *maps, *name;
	int fd;

	(void)state;
	maps = mapped_file(path, sizeof(path), 0);
	assert_int_equal(cw_module_source_init(&s, getpid(), maps), 0);
	fd = cw_module_open(&s, path, &name);
	assert_true(fd >= 0);
	assert_string_equal(name, path);
	free(name);
	close(fd);
	cw_module_source_free(&s);
	free(maps);
	unlink(path);
	/* Another file at that path now: refused, not read for the wrong symbols. */
	maps = mapped_file(path, sizeof(path), 1);
	assert_int_equal(cw_module_source_init(&s, getpid(), maps), 0);
	assert_int_equal(cw_module_open(&s, path, &name), -ESTALE);
	assert_null(name);
	cw_module_source_free(&s);
	free(maps);
	unlink(path);
}

static void another_mount_namespace_never_opens_our_path(void **state)
{
	struct cw_module_source s;
	char path[64], *maps, *name;
	int fd;

	(void)state;
	maps = mapped_file(path, sizeof(path), 0);
	/* A process that is gone: its namespace cannot be told, our paths are used. */
	assert_int_equal(cw_module_source_init(&s, NO_SUCH_PID, maps), 0);
	assert_true(s.own_mnt_ns);
	fd = cw_module_open(&s, path, &name);
	assert_true(fd >= 0);
	free(name);
	close(fd);
	/* In another mount namespace our file at that path is not its file. */
	s.own_mnt_ns = false;
	assert_int_equal(cw_module_open(&s, path, &name), -ENOENT);
	cw_module_source_free(&s);
	/* Found through its root, it is named there (for its separate debug files). */
	assert_int_equal(cw_module_source_init(&s, getpid(), maps), 0);
	s.own_mnt_ns = false;
	fd = cw_module_open(&s, path, &name);
	assert_true(fd >= 0);
	assert_true(strncmp(name, "/proc/", 6) == 0 && strstr(name, "/root/tmp/cw-module-open-"));
	free(name);
	close(fd);
	cw_module_source_free(&s);
	free(maps);
	unlink(path);
}

static void only_regular_files(void **state)
{
	struct cw_module_source s;
	char *name;

	(void)state;
	assert_int_equal(
		cw_module_source_init(&s, getpid(), "1000-2000 rw-s 00000000 00:05 4 /dev/null\n"),
		0);
	assert_int_equal(cw_module_open(&s, "/dev/null", &name), -ENODEV);
	assert_int_equal(cw_module_open(&s, "/no/such/file", &name), -ENOENT);
	assert_null(name);
	cw_module_source_free(&s);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(own_executable_through_map_files),
	cmocka_unit_test(by_path_only_with_the_mapped_inode),
	cmocka_unit_test(another_mount_namespace_never_opens_our_path),
	cmocka_unit_test(only_regular_files),
};

CW_TEST_MAIN(tests)
