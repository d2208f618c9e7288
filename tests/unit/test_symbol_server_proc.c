// SPDX-License-Identifier: MIT
/*
 * The daemon's handle on a symbol server, against the real tool: the
 * sanitized crashwatch-snapshot beside this test's build directory.
 */
#include "cw_test.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "symbol_client.h"
#include "symbol_server_proc.h"

struct paths {
	char tool[PATH_MAX];
	char sock[64];
};

static void paths(struct paths *p)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = '\0';
	/* build/tests/unit/test_x → build/san/crashwatch-snapshot */
	snprintf(p->tool, sizeof(p->tool), "%s/../../san/crashwatch-snapshot", dirname(exe));
	assert_int_equal(access(p->tool, X_OK), 0);
	snprintf(p->sock, sizeof(p->sock), "/tmp/cw-symproc-%d.sock", (int)getpid());
}

static bool answers(const char *sock)
{
	struct cw_symbol_client c;
	struct cw_sym_stats st;
	bool ok;

	if (cw_symbol_client_connect(&c, sock, 2000) < 0)
		return false;
	ok = cw_symbol_client_stats(&c, &st) == 0 && st.cache_bytes > 0;
	cw_symbol_client_close(&c);
	return ok;
}

static void starts_answers_and_stops(void **state)
{
	struct cw_symbol_server s;
	struct paths p;
	struct stat st;
	pid_t pid;

	(void)state;
	paths(&p);
	assert_int_equal(cw_symbol_server_start(&s, p.tool, p.sock, 64 << 20, NULL, 0), 0);
	assert_true(s.pid > 0);
	assert_true(cw_symbol_server_alive(&s));
	assert_true(answers(p.sock));
	assert_int_equal(stat(p.sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	pid = s.pid;
	cw_symbol_server_stop(&s);
	assert_int_equal(s.pid, 0);
	assert_int_equal(s.lifeline, -1);
	assert_int_equal(kill(pid, 0), -1);	    /* reaped */
	assert_int_equal(access(p.sock, F_OK), -1); /* removed at exit */
}

static void a_killed_server_is_started_again_but_not_at_once(void **state)
{
	struct cw_symbol_server s;
	struct timespec wait = {1, 200 * 1000000L};
	struct paths p;
	pid_t first;

	(void)state;
	paths(&p);
	assert_int_equal(cw_symbol_server_start(&s, p.tool, p.sock, 0, NULL, 0), 0);
	first = s.pid;
	assert_int_equal(kill(first, SIGKILL), 0);
	/* A moment for the kernel to make it a zombie, which alive() reaps. */
	nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
	/* Reaped, and started less than a second ago: not yet. */
	assert_false(cw_symbol_server_alive(&s));
	assert_int_equal(s.pid, 0);
	nanosleep(&wait, NULL);
	assert_true(cw_symbol_server_alive(&s));
	assert_int_equal(s.restarts, 1);
	assert_true(s.pid > 0 && s.pid != first);
	assert_true(answers(p.sock));
	cw_symbol_server_stop(&s);
}

static void a_tool_that_is_not_there_fails_cleanly(void **state)
{
	struct cw_symbol_server s;

	(void)state;
	assert_true(cw_symbol_server_start(&s, "/nonexistent/crashwatch-snapshot",
					   "/tmp/cw-symproc-none.sock", 0, NULL, 0) < 0);
	assert_int_equal(s.pid, 0);
	assert_int_equal(s.lifeline, -1);
	assert_null(s.tool_path);
	cw_symbol_server_stop(&s); /* harmless after a failed start */
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(starts_answers_and_stops),
	cmocka_unit_test(a_killed_server_is_started_again_but_not_at_once),
	cmocka_unit_test(a_tool_that_is_not_there_fails_cleanly),
};

CW_TEST_MAIN(tests)
