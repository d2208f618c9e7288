// SPDX-License-Identifier: MIT
/* Frames of this very test binary, symbolized as the watcher would. */
#include "cw_test.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "elf_info.h"
#include "proc_info.h"
#include "proc_maps.h"
#include "symbolize.h"

__attribute__((noinline, used)) int known_function(int x)
{
	return x * 3 + 1;
}

struct self {
	char exe[PATH_MAX];
	struct cw_frame frame; /* build-id + file offset of known_function */
	uint64_t ip;
	uint64_t start_boottime;
};

static void describe_self(struct self *me)
{
	struct cw_maps maps;
	const struct cw_mapping *m;
	uint8_t id[CW_BUILD_ID_MAX];
	int fd, n;
	uint64_t ticks = 0;
	unsigned flags;
	char *stat, state;
	pid_t ppid;

	assert_non_null(realpath("/proc/self/exe", me->exe));
	fd = open(me->exe, O_RDONLY);
	assert_true(fd >= 0);
	n = cw_elf_build_id_fd(fd, id, sizeof(id));
	close(fd);
	assert_int_equal(n, CW_BUILD_ID_SIZE);
	me->ip = (uint64_t)(uintptr_t)&known_function;
	assert_int_equal(cw_maps_read(getpid(), &maps), 0);
	m = cw_maps_find(&maps, me->ip);
	assert_non_null(m);
	me->frame.status = CW_FRAME_BUILD_ID;
	memcpy(me->frame.build_id, id, CW_BUILD_ID_SIZE);
	me->frame.addr = me->ip - m->start + m->pgoff;
	cw_maps_free(&maps);

	stat = cw_proc_read_file(AT_FDCWD, "/proc/self/stat", NULL);
	assert_non_null(stat);
	assert_int_equal(cw_parse_stat(stat, &state, &ppid, &flags, &ticks, NULL, 0), 0);
	free(stat);
	me->start_boottime = ticks * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

static void build_id_frame_after_the_process_is_gone(void **state)
{
	struct cw_symbolizer *s = cw_symbolizer_new();
	struct cw_symbol sym;
	struct self me;

	(void)state;
	describe_self(&me);
	/* pid 0 never names a live process: only the build-id and exe path remain. */
	cw_symbolizer_begin(s, 0, 0, me.exe);
	assert_int_equal(cw_symbolize(s, &me.frame, 0, false, &sym), 0);
	assert_string_equal(sym.module, me.exe);
	assert_true(sym.has_offset);
	assert_true(sym.module_offset == me.frame.addr);
	assert_non_null(sym.function);
	assert_string_equal(sym.function, "known_function");
	assert_true(sym.function_offset == 0);
	assert_non_null(sym.file);
	assert_non_null(strstr(sym.file, "test_symbolize.c"));
	assert_true(sym.line > 0);
	cw_symbolizer_free(s);
}

static void ip_frame_of_a_live_process(void **state)
{
	struct cw_symbolizer *s = cw_symbolizer_new();
	struct cw_symbol sym;
	struct self me;

	(void)state;
	describe_self(&me);
	assert_true(cw_proc_is_same(getpid(), me.start_boottime));
	cw_symbolizer_begin(s, getpid(), me.start_boottime, NULL);
	assert_int_equal(cw_symbolize(s, NULL, me.ip + 1, true, &sym), 0);
	assert_string_equal(sym.function, "known_function");
	assert_true(sym.function_offset == 1); /* looked up at ip - 1, shown at ip */
	assert_string_equal(sym.module, me.exe);
	cw_symbolizer_free(s);
}

static void unknown_build_id_is_reported_not_guessed(void **state)
{
	struct cw_symbolizer *s = cw_symbolizer_new();
	struct cw_frame f = {.status = CW_FRAME_BUILD_ID, .addr = 0x1000};
	struct cw_symbol sym;

	(void)state;
	memset(f.build_id, 0x5a, sizeof(f.build_id));
	cw_symbolizer_begin(s, 0, 0, NULL);
	assert_int_equal(cw_symbolize(s, &f, 0, false, &sym), -ENOENT);
	assert_null(sym.module);
	assert_null(sym.function);
	assert_true(sym.has_offset);
	cw_symbolizer_free(s);
}

static void a_reused_pid_is_not_the_same_process(void **state)
{
	struct self me;

	(void)state;
	describe_self(&me);
	assert_false(cw_proc_is_same(getpid(), me.start_boottime + 5000000000ULL));
	assert_false(cw_proc_is_same(0, 0));
}

static void maps_parse_keeps_file_mappings(void **state)
{
	static const char text[] = "55d1c2a1a000-55d1c2a1b000 r--p 00000000 fe:01 123 /usr/bin/x\n"
				   "55d1c2a1b000-55d1c2a1c000 r-xp 00001000 fe:01 123 /usr/bin/x\n"
				   "7ffd36000000-7ffd36021000 rw-p 00000000 00:00 0 [stack]\n"
				   "7f0000000000-7f0000001000 rw-p 00000000 00:00 0\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct cw_maps m;
	const struct cw_mapping *hit;

	(void)state;
	assert_int_equal(cw_maps_parse(f, &m), 0);
	fclose(f);
	assert_int_equal(m.n, 4);
	hit = cw_maps_find(&m, 0x55d1c2a1b139);
	assert_non_null(hit);
	assert_string_equal(hit->path, "/usr/bin/x");
	assert_true(hit->pgoff == 0x1000);
	assert_null(cw_maps_find(&m, 0x7ffd36000010)->path);
	assert_null(cw_maps_find(&m, 0x10));
	cw_maps_free(&m);
}

/* Where a uprobe on abort() goes: the file offset this process runs abort() at. */
static void exported_function_is_found_at_its_file_offset(void **state)
{
	uint64_t ip = (uint64_t)(uintptr_t)&abort, offset = 0, unused;
	const struct cw_mapping *m;
	char text[] = "/tmp/cw-not-elf-XXXXXX";
	struct cw_maps maps;
	int fd;

	(void)state;
	assert_int_equal(cw_maps_read(getpid(), &maps), 0);
	m = cw_maps_find(&maps, ip);
	assert_non_null(m);
	assert_non_null(strstr(m->path, "/libc.so."));
	fd = open(m->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(cw_elf_exported_function(fd, "abort", &offset), 0);
	assert_true(offset == ip - m->start + m->pgoff);
	/* An import, a variable, a name it lacks: no function to probe. */
	assert_int_equal(cw_elf_exported_function(fd, "_rtld_global", &unused), -ENOENT);
	assert_int_equal(cw_elf_exported_function(fd, "environ", &unused), -ENOENT);
	assert_int_equal(cw_elf_exported_function(fd, "no_such_function", &unused), -ENOENT);
	close(fd);
	cw_maps_free(&maps);

	fd = open("/proc/self/exe", O_RDONLY);
	assert_int_equal(cw_elf_exported_function(fd, "abort", &unused), -ENOENT);
	close(fd);
	fd = mkstemp(text);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	assert_int_equal(cw_elf_exported_function(fd, "abort", &unused), -ENOEXEC);
	close(fd);
	unlink(text);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(build_id_frame_after_the_process_is_gone),
	cmocka_unit_test(ip_frame_of_a_live_process),
	cmocka_unit_test(unknown_build_id_is_reported_not_guessed),
	cmocka_unit_test(a_reused_pid_is_not_the_same_process),
	cmocka_unit_test(maps_parse_keeps_file_mappings),
	cmocka_unit_test(exported_function_is_found_at_its_file_offset),
};

CW_TEST_MAIN(tests)
