// SPDX-License-Identifier: MIT
/* crashwatch-snapshot's pure parts: options, /proc stat lines, crash causes. */
#include "cw_test.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "classify.h"
#include "proc_info.h"
#include "snapshot_options.h"

static int parse(int argc, char **argv, struct cw_snapshot_options *o, char **err)
{
	size_t len;
	FILE *e = open_memstream(err, &len), *out = fopen("/dev/null", "w");
	int r = cw_snapshot_options_parse(argc, argv, o, out, e);

	fclose(e);
	fclose(out);
	return r;
}

static void options_follow_the_ptrace_tool_convention(void **state)
{
	char a0[] = "snap", a1[] = "--fault-thread=12", a2[] = "--thread=13", a3[] = "--thread=14",
	     a4[] = "--classifier=oom", a5[] = "--kv=region:eu:west", a6[] = "--signal=SEGV",
	     a7[] = "--si-code=-6", a8[] = "--fault-addr=0x10", a9[] = "--timeout=5", a10[] = "42";
	char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, NULL};
	struct cw_snapshot_options o;
	char *err;

	(void)state;
	assert_int_equal(parse(11, argv, &o, &err), 0);
	assert_int_equal(o.pid, 42);
	assert_int_equal(o.fault_tid, 12);
	assert_int_equal(o.n_threads, 2);
	assert_int_equal(o.threads[1], 14);
	assert_string_equal(o.classifiers[0], "oom");
	assert_string_equal(o.kv[0].key, "region");
	assert_string_equal(o.kv[0].value, "eu:west"); /* split at the first colon */
	assert_int_equal(o.sig, SIGSEGV);
	assert_true(o.has_si_code && o.si_code == -6);
	assert_true(o.has_fault_addr && o.fault_addr == 0x10);
	assert_int_equal(o.timeout_s, 5);
	assert_string_equal(o.output, ".");
	free(err);
}

static void options_reject_with_one_line(void **state)
{
	char a0[] = "snap", bad_pid[] = "12abc", core[] = "--core=x", pid[] = "5",
	     at_exit[] = "--at-exit";
	char *no_pid[] = {a0, NULL}, *junk[] = {a0, bad_pid, NULL},
	     *core_pid[] = {a0, core, pid, NULL}, *core_at_exit[] = {a0, core, at_exit, NULL};
	struct cw_snapshot_options o;
	char *err;

	(void)state;
	assert_int_equal(parse(1, no_pid, &o, &err), -EINVAL);
	assert_non_null(strstr(err, "give one PID"));
	free(err);
	assert_int_equal(parse(2, junk, &o, &err), -EINVAL);
	assert_non_null(strstr(err, "bad PID '12abc'"));
	free(err);
	assert_int_equal(parse(3, core_pid, &o, &err), -EINVAL);
	free(err);
	assert_int_equal(parse(3, core_at_exit, &o, &err), -EINVAL);
	free(err);
}

static void die_with_parent_takes_a_strict_pid(void **state)
{
	char a0[] = "snap", good[] = "--die-with-parent=77", bad[] = "--die-with-parent=7x",
	     zero[] = "--die-with-parent=0", pid[] = "5";
	char *ok[] = {a0, good, pid, NULL}, *junk[] = {a0, bad, pid, NULL},
	     *none[] = {a0, zero, pid, NULL};
	struct cw_snapshot_options o;
	char *err;

	(void)state;
	assert_int_equal(parse(3, ok, &o, &err), 0);
	assert_int_equal(o.parent_pid, 77);
	free(err);
	assert_int_equal(parse(3, junk, &o, &err), -EINVAL);
	assert_non_null(strstr(err, "bad --die-with-parent '7x'"));
	free(err);
	assert_int_equal(parse(3, none, &o, &err), -EINVAL);
	free(err);
}

static void stat_line_with_spaces_and_parens_in_comm(void **state)
{
	const char line[] = "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 "
			    "98765 1000 10";
	char comm[64], st;
	unsigned flags;
	uint64_t start;
	pid_t ppid;

	(void)state;
	assert_int_equal(cw_parse_stat(line, &st, &ppid, &flags, &start, comm, sizeof(comm)), 0);
	assert_string_equal(comm, "a (b) c");
	assert_int_equal(st, 'S');
	assert_int_equal(ppid, 1);
	assert_int_equal(flags, 4194560);
	assert_true(start == 98765);
	assert_int_equal(cw_parse_stat("garbage", &st, &ppid, &flags, &start, NULL, 0), -EINVAL);
}

static const struct cw_mapping layout[] = {
	{0x400000, 0x401000, 0, "r-xp", NULL, 0},	      /* code */
	{0x600000, 0x601000, 0, "r--p", NULL, 0},	      /* rodata */
	{0x7f0000000000, 0x7f0000001000, 0, "---p", NULL, 0}, /* a thread's guard page */
	{0x7f0000001000, 0x7f0000100000, 0, "rw-p", NULL, 0}, /* its stack */
	{0x7ffd00100000, 0x7ffd00200000, 0, "rw-p", NULL, 0}, /* the main stack */
};

static const char *cause(int sig, int code, uint64_t addr, uint64_t pc, const char *const *fns,
			 size_t n)
{
	struct cw_maps maps = {(struct cw_mapping *)layout, sizeof(layout) / sizeof(layout[0])};

	return cw_crash_cause(&(struct cw_crash_facts){sig, code, addr, pc, &maps, fns, n});
}

static void causes(void **state)
{
	const char *assert_fns[] = {"raise", "abort", "__assert_fail", "main"};
	const char *ssp_fns[] = {"raise", "abort", "__stack_chk_fail"};

	(void)state;
	assert_string_equal(cause(SIGSEGV, SEGV_MAPERR, 0x8, 0x400010, NULL, 0),
			    "null-pointer-dereference");
	assert_string_equal(cause(SIGSEGV, SEGV_MAPERR, 0x7ffd000ffff8, 0x400010, NULL, 0),
			    "stack-overflow");
	assert_string_equal(cause(SIGSEGV, SEGV_ACCERR, 0x7f0000000ff8, 0x400010, NULL, 0),
			    "stack-overflow");
	assert_string_equal(cause(SIGSEGV, SEGV_ACCERR, 0x600010, 0x400010, NULL, 0),
			    "write-to-read-only-memory");
	assert_string_equal(cause(SIGSEGV, SEGV_ACCERR, 0x7f0000002000, 0x7f0000002000, NULL, 0),
			    "execute-non-executable-memory");
	assert_string_equal(cause(SIGSEGV, SEGV_MAPERR, 0x10000000, 0x400010, NULL, 0),
			    "invalid-memory-access");
	assert_null(cause(SIGSEGV, 0 /* SI_USER: kill -SEGV */, 0, 0, NULL, 0));
	assert_string_equal(cause(SIGABRT, -6, 0, 0, assert_fns, 4), "assertion-failure");
	assert_string_equal(cause(SIGABRT, -6, 0, 0, ssp_fns, 3), "stack-protector-failure");
	assert_string_equal(cause(SIGABRT, -6, 0, 0, NULL, 0), "abort");
	assert_string_equal(cause(SIGFPE, FPE_INTDIV, 0, 0, NULL, 0), "division-by-zero");
	assert_string_equal(cause(SIGILL, ILL_ILLOPN, 0, 0, NULL, 0), "illegal-instruction");
	assert_null(cause(0, 0, 0, 0, NULL, 0));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(options_follow_the_ptrace_tool_convention),
	cmocka_unit_test(options_reject_with_one_line),
	cmocka_unit_test(die_with_parent_takes_a_strict_pid),
	cmocka_unit_test(stat_line_with_spaces_and_parens_in_comm),
	cmocka_unit_test(causes),
};

CW_TEST_MAIN(tests)
