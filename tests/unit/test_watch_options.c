// SPDX-License-Identifier: MIT
#include "cw_test.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "watch_options.h"

struct parsed {
	int r;
	struct cw_watch_options o;
	char *out, *err;
};

static struct parsed parse(int argc, char **argv)
{
	struct parsed p = {0};
	size_t olen, elen;
	FILE *out = open_memstream(&p.out, &olen), *err = open_memstream(&p.err, &elen);

	p.r = cw_watch_options_parse(argc, argv, &p.o, out, err);
	fclose(out);
	fclose(err);
	return p;
}

static void release(struct parsed *p)
{
	free(p->out);
	free(p->err);
}

#define ARGV(...)  ((char *[]){"watch", __VA_ARGS__, NULL})
#define ARGC(...)  ((int)(sizeof((char *[]){"watch", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(...) parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void defaults_watch_the_crash_signals(void **state)
{
	char *argv[] = {"watch", NULL};
	struct parsed p = parse(1, argv);
	char text[256];

	(void)state;
	assert_int_equal(p.r, 0);
	cw_signal_mask_text(p.o.signals, text, sizeof(text));
	assert_string_equal(text, "SIGILL,SIGTRAP,SIGABRT,SIGBUS,SIGFPE,SIGSEGV,SIGSYS");
	assert_int_equal(p.o.stack_bytes, 256 << 10);
	assert_int_equal(p.o.ringbuf_bytes, 4 << 20);
	assert_true(p.o.show_stack);
	assert_false(p.o.json);
	assert_int_equal(p.o.max_libcs, 256);
	release(&p);
}

static void every_option_is_taken(void **state)
{
	struct parsed p =
		PARSE("--signals=SEGV,TERM", "--stack-bytes=32K", "--ringbuf-size=8M", "--json",
		      "--no-stack", "--nonzero-exit", "--signal-deaths", "-v", "--max-libcs=1024");

	(void)state;
	assert_int_equal(p.r, 0);
	assert_true(p.o.signals == ((1ULL << (SIGSEGV - 1)) | (1ULL << (SIGTERM - 1))));
	assert_int_equal(p.o.stack_bytes, 32768);
	assert_int_equal(p.o.ringbuf_bytes, 8 << 20);
	assert_true(p.o.json && !p.o.show_stack && p.o.nonzero_exit && p.o.signal_deaths &&
		    p.o.verbose);
	assert_int_equal(p.o.max_libcs, 1024);
	release(&p);
}

static void bad_values_say_what_and_how(void **state)
{
	struct parsed p;

	(void)state;
	p = PARSE("--signals=SEGV,NOPE");
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "'NOPE' is not a signal name"));
	release(&p);
	p = PARSE("--stack-bytes=12abc");
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "bad --stack-bytes '12abc'"));
	release(&p);
	p = PARSE("--stack-bytes=128M");
	assert_int_equal(p.r, -EINVAL);
	release(&p);
	p = PARSE("--ringbuf-size=3M");
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "power of two"));
	release(&p);
	p = PARSE("--max-libcs=0");
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "bad --max-libcs '0': give a number from 1 to 1024"));
	release(&p);
	p = PARSE("--max-libcs=1025");
	assert_int_equal(p.r, -EINVAL);
	release(&p);
	p = PARSE("--max-libcs=12abc");
	assert_int_equal(p.r, -EINVAL);
	release(&p);
	p = PARSE("--frobnicate");
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "unknown option '--frobnicate'"));
	release(&p);
	p = PARSE("--signals");
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "needs a value"));
	release(&p);
	p = PARSE("extra");
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "unexpected argument 'extra'"));
	release(&p);
}

static void signals_that_must_not_be_watched_are_refused(void **state)
{
	static const struct {
		const char *arg, *says;
	} table[] = {
		{"--signals=STOP", "bad --signals 'STOP': SIGSTOP cannot be watched: it stops, "
				   "it does not kill"},
		{"--signals=SEGV,kill", "SIGKILL cannot be watched: it cannot be caught"},
		{"--signals=19", "SIGSTOP cannot be watched"},
		{"--signals=SIGCONT", "SIGCONT cannot be watched: it is job control"},
		{"--signals=TSTP", "SIGTSTP cannot be watched: it is job control (a stop)"},
		{"--signals=TTIN", "SIGTTIN cannot be watched"},
		{"--signals=TTOU", "SIGTTOU cannot be watched"},
		{"--signals=CHLD", "SIGCHLD cannot be watched: it is ignored by default"},
		{"--signals=WINCH", "SIGWINCH cannot be watched"},
		{"--signals=URG", "SIGURG cannot be watched"},
		{"--signals=32", "SIGRTMIN+0 cannot be watched: glibc uses it to cancel threads"},
		{"--signals=RTMIN+1", "SIGRTMIN+1 cannot be watched: glibc uses it for setuid()"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct parsed p = parse(2, (char *[]){"watch", (char *)table[i].arg, NULL});

		assert_int_equal(p.r, -EINVAL);
		if (!strstr(p.err, table[i].says))
			fail_msg("%s: said '%s', not '%s'", table[i].arg, p.err, table[i].says);
		release(&p);
	}
	/* Fatal by default: a user may want them (a hold each). */
	struct parsed p = PARSE("--signals=TERM,HUP,USR1,PIPE,ALRM,34,64,XCPU");

	assert_int_equal(p.r, 0);
	release(&p);
}

static void cgroups_repeat_up_to_the_bound(void **state)
{
	char *argv[CW_MAX_SCOPE_CGROUPS + 3] = {"watch"};
	char args[CW_MAX_SCOPE_CGROUPS + 1][32];
	struct parsed p = PARSE("--cgroup=/a", "--cgroup", "/sys/fs/cgroup/b",
				"--host-core-handler=/var/lib/crashwatch/crashwatch-core-handler");

	(void)state;
	assert_int_equal(p.r, 0);
	assert_int_equal(p.o.n_cgroups, 2);
	assert_string_equal(p.o.cgroups[0], "/a");
	assert_string_equal(p.o.cgroups[1], "/sys/fs/cgroup/b");
	assert_string_equal(p.o.host_core_handler, "/var/lib/crashwatch/crashwatch-core-handler");
	release(&p);

	for (int i = 0; i <= CW_MAX_SCOPE_CGROUPS; i++) {
		snprintf(args[i], sizeof(args[i]), "--cgroup=/c%d", i);
		argv[i + 1] = args[i];
	}
	p = parse(CW_MAX_SCOPE_CGROUPS + 2, argv);
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "bad --cgroup '/c64': give a cgroup's path, at most 64"));
	release(&p);
	p = PARSE("--cgroup=");
	assert_int_equal(p.r, -EINVAL);
	release(&p);
	p = PARSE("--host-core-handler=bin/crashwatch-core-handler");
	assert_int_equal(p.r, -EINVAL);
	assert_non_null(strstr(p.err, "give an absolute path ending in /crashwatch-core-handler"));
	release(&p);
	p = PARSE("--host-core-handler=/var/lib/crashwatch/handler");
	assert_int_equal(p.r, -EINVAL);
	release(&p);
}

static void help_goes_to_stdout(void **state)
{
	struct parsed p = PARSE("--help");

	(void)state;
	assert_int_equal(p.r, 1);
	assert_non_null(strstr(p.out, "Usage: crashwatch watch"));
	assert_non_null(strstr(p.out, "Exit status"));
	assert_string_equal(p.err, "");
	release(&p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(defaults_watch_the_crash_signals),
	cmocka_unit_test(every_option_is_taken),
	cmocka_unit_test(bad_values_say_what_and_how),
	cmocka_unit_test(signals_that_must_not_be_watched_are_refused),
	cmocka_unit_test(cgroups_repeat_up_to_the_bound),
	cmocka_unit_test(help_goes_to_stdout),
};

CW_TEST_MAIN(tests)
