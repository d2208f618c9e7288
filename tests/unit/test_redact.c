// SPDX-License-Identifier: MIT
#include "cw_test.h"

#include <errno.h>
#include <stdlib.h>

#include "redact.h"

/* argv as /proc/PID/cmdline holds it: each argument NUL-terminated. */
static char *cmdline(const struct cw_redact *r, const char *const *argv)
{
	char buf[4096];
	size_t len = 0;

	for (; *argv; argv++) {
		size_t n = strlen(*argv) + 1;

		assert_true(len + n <= sizeof(buf));
		memcpy(buf + len, *argv, n);
		len += n;
	}
	return cw_redact_cmdline(r, buf, len);
}

#define A(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct {
	const char *const *argv;
	const char *want;
} defaults[] = {
	/* Options with a value after '=' or in the next argument. */
	{A("prog", "--password=hunter2"), "prog --password=<redacted>"},
	{A("prog", "--password", "hunter2", "x"), "prog --password <redacted> x"},
	{A("prog", "-password", "hunter2"), "prog -password <redacted>"},
	{A("prog", "--db-password=a b c"), "prog --db-password=<redacted>"},
	{A("prog", "--API_KEY=k", "--apiKey=k", "--api.key=k"),
	 "prog --API_KEY=<redacted> --apiKey=<redacted> --api.key=<redacted>"},
	{A("prog", "--token", "--verbose"), "prog --token <redacted>"},
	{A("prog", "--client-secret=s", "--auth-token=t", "--Cookie=c"),
	 "prog --client-secret=<redacted> --auth-token=<redacted> --Cookie=<redacted>"},
	{A("openssl", "-passin", "pass:x", "-pass", "y"),
	 "openssl -passin <redacted> -pass <redacted>"},
	{A("java", "-Djavax.net.ssl.keyStorePassword=changeit", "-Xmx1g"),
	 "java -Djavax.net.ssl.keyStorePassword=<redacted> -Xmx1g"},
	/* The last argument naming a secret has nothing after it. */
	{A("prog", "--password"), "prog --password"},
	{A("prog", "--password="), "prog --password="},
	/* Env-like assignments. */
	{A("env", "PASSWORD=x", "PGPASSWORD=y", "db.password=z", "prog"),
	 "env PASSWORD=<redacted> PGPASSWORD=<redacted> db.password=<redacted> prog"},
	{A("make", "CC=gcc", "V=1"), "make CC=gcc V=1"},
	/* URLs with a password, wherever they are; the last '@' ends the userinfo. */
	{A("curl", "https://user:pw@example.com/x"), "curl https://user:<redacted>@example.com/x"},
	{A("psql", "--dsn=postgres://u:p@ss@db:5432/app?sslmode=require"),
	 "psql --dsn=postgres://u:<redacted>@db:5432/app?sslmode=require"},
	{A("x", "DATABASE_URL=mysql://root:pw@h/db"),
	 "x DATABASE_URL=mysql://root:<redacted>@h/db"},
	{A("x", "a=http://u:1@h,b=ftp://v:2@i"),
	 "x a=http://u:<redacted>@h,b=ftp://v:<redacted>@i"},
	{A("git", "clone", "ssh://git@github.com/x.git"), "git clone ssh://git@github.com/x.git"},
	{A("x", "https://host/p@th:1"), "x https://host/p@th:1"},
	{A("x", "https://u:@h/"), "x https://u:@h/"},
	/* Secret query parameters. */
	{A("curl", "https://h/api?user=a&access_token=t&x=1#top"),
	 "curl https://h/api?user=a&access_token=<redacted>&x=1#top"},
	{A("curl", "https://h?token=t;sig=1"), "curl https://h?token=<redacted>;sig=1"},
	/* A command inside one argument. */
	{A("sh", "-c", "mysql --password=hunter2 -e 'select 1'"),
	 "sh -c mysql --password=<redacted> -e 'select 1'"},
	{A("sh", "-c", "exec prog --token abc --x"), "sh -c exec prog --token <redacted> --x"},
	{A("prog", "--message=use --token t"), "prog --message=use --token <redacted>"},
	/* Not secrets: -p is a port or a pid as often as a password. */
	{A("ssh", "-p", "22", "host"), "ssh -p 22 host"},
	{A("mysql", "-phunter2"), "mysql -phunter2"},
	{A("git", "commit", "--author=A <a@b>", "--passive"),
	 "git commit --author=A <a@b> --passive"},
	{A("prog", "--", "-", "", "x"), "prog -- -  x"},
	{A("prog"), "prog"},
};

static void defaults_redact_secret_looking_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		char *got = cmdline(NULL, defaults[i].argv);

		assert_non_null(got);
		if (strcmp(got, defaults[i].want))
			fail_msg("case %zu: got '%s', want '%s'", i, got, defaults[i].want);
		free(got);
	}
}

static void patterns_add_names_and_off_redacts_nothing(void **state)
{
	static const char *const patterns[] = {"p", "*PIN*", "user"};
	struct cw_redact more = {.patterns = patterns, .n_patterns = 3}, off = {.off = true};
	char *got;

	(void)state;
	got = cmdline(&more, A("mysql", "-phunter2", "-p", "x", "--user", "root", "--my-pin=1234",
			       "--password=y"));
	assert_string_equal(got, "mysql -p<redacted> -p <redacted> --user <redacted> "
				 "--my-pin=<redacted> --password=<redacted>");
	free(got);
	got = cmdline(&off, A("prog", "--password=hunter2", "https://u:p@h"));
	assert_string_equal(got, "prog --password=hunter2 https://u:p@h");
	free(got);
}

static void a_cmdline_without_a_final_nul_or_empty(void **state)
{
	char *got;

	(void)state;
	got = cw_redact_cmdline(NULL, "prog\0--token\0abc", 16);
	assert_string_equal(got, "prog --token <redacted>");
	free(got);
	got = cw_redact_cmdline(NULL, "", 0);
	assert_string_equal(got, "");
	free(got);
}

static void joined_lines_are_split_at_spaces(void **state)
{
	char *got = cw_redact_joined(NULL, "prog --password hunter2  --token=t x");

	(void)state;
	assert_string_equal(got, "prog --password <redacted>  --token=<redacted> x");
	free(got);
}

static void environments_keep_their_keys(void **state)
{
	static const char env[] =
		"HOME=/root\0GITHUB_TOKEN=ghp_x\0AWS_SECRET_ACCESS_KEY=s\0"
		"DATABASE_URL=postgres://u:pw@h/db\0PWD=/tmp\0NOEQUALS\0EMPTY_TOKEN=";
	static const char want[] = "HOME=/root\0GITHUB_TOKEN=<redacted>\0AWS_SECRET_ACCESS_KEY="
				   "<redacted>\0DATABASE_URL=postgres://u:<redacted>@h/db\0PWD=/"
				   "tmp\0NOEQUALS\0EMPTY_TOKEN=";
	size_t len;
	char *got = cw_redact_environ(NULL, env, sizeof(env) - 1, &len);

	(void)state;
	assert_non_null(got);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(got, want, sizeof(want));
	free(got);
}

static void patterns_are_checked(void **state)
{
	const char *why = NULL;
	char long_one[200];

	(void)state;
	assert_int_equal(cw_redact_check_pattern("*pin*", &why), 0);
	assert_int_equal(cw_redact_check_pattern("", &why), -EINVAL);
	assert_non_null(strstr(why, "give a name or glob"));
	assert_int_equal(cw_redact_check_pattern("-_.", &why), -EINVAL);
	memset(long_one, 'a', sizeof(long_one) - 1);
	long_one[sizeof(long_one) - 1] = '\0';
	assert_int_equal(cw_redact_check_pattern(long_one, &why), -EINVAL);
	assert_true(cw_redact_is_secret(NULL, "MYSQL_PASSWORD", 14));
	assert_false(cw_redact_is_secret(NULL, "PWD", 3));
	assert_false(cw_redact_is_secret(NULL, "author", 6));
	assert_false(cw_redact_is_secret(&(struct cw_redact){.off = true}, "password", 8));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(defaults_redact_secret_looking_values),
	cmocka_unit_test(patterns_add_names_and_off_redacts_nothing),
	cmocka_unit_test(a_cmdline_without_a_final_nul_or_empty),
	cmocka_unit_test(joined_lines_are_split_at_spaces),
	cmocka_unit_test(environments_keep_their_keys),
	cmocka_unit_test(patterns_are_checked),
};

CW_TEST_MAIN(tests)
