// SPDX-License-Identifier: MIT
#include "cw_test.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"

/* The file's text through cw_config_read: its problems (err) and settings. */
static int read_text(const char *text, size_t len, struct cw_config *c, char **err)
{
	char path[] = "/tmp/cw-test-config-XXXXXX";
	int fd = mkstemp(path), n;
	size_t elen;
	FILE *e = open_memstream(err, &elen);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	n = cw_config_read(path, c, e);
	fclose(e);
	unlink(path);
	return n;
}

static void lines_are_counted_without_a_final_newline(void **state)
{
	static const char text[] = "[watch]\n\n; comment\njson = yes\nhold-timeout = 10";
	struct cw_config c;
	char *err;

	(void)state;
	assert_int_equal(read_text(text, sizeof(text) - 1, &c, &err), 0);
	assert_string_equal(err, "");
	assert_int_equal(c.n, 2);
	assert_string_equal(c.args[0], "--json");
	assert_string_equal(c.args[1], "--hold-timeout=10");
	cw_config_free(&c);
	free(err);
}

static void a_problem_names_its_line(void **state)
{
	static const char text[] = "[watch]\r\njson = yes\r\n\r\nhold = maybe\r\n";
	struct cw_config c;
	char *err;

	(void)state;
	assert_int_equal(read_text(text, sizeof(text) - 1, &c, &err), 1);
	assert_non_null(strstr(err, ":4: key 'hold': give yes or no"));
	cw_config_free(&c);
	free(err);
}

static void bounds_and_kinds(void **state)
{
	size_t big = CW_CONFIG_MAX_BYTES + 1;
	char *text = malloc(big), *err;
	struct cw_config c;

	(void)state;
	assert_non_null(text);
	memset(text, '\n', big);
	assert_int_equal(read_text(text, big, &c, &err), 1);
	assert_non_null(strstr(err, "more than a config file may have (1048576)"));
	cw_config_free(&c);
	free(err);
	/* Exactly at the bound: read. */
	assert_int_equal(read_text(text, big - 1, &c, &err), 0);
	cw_config_free(&c);
	free(err);
	free(text);
	assert_int_equal(read_text("[watch]\0x=1\n", 12, &c, &err), 1);
	assert_non_null(strstr(err, "holds a NUL byte"));
	cw_config_free(&c);
	free(err);
	assert_int_equal(cw_config_read("/nonexistent/crashwatch.conf", &c, stderr), -ENOENT);
	cw_config_free(&c);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(lines_are_counted_without_a_final_newline),
	cmocka_unit_test(a_problem_names_its_line),
	cmocka_unit_test(bounds_and_kinds),
};

CW_TEST_MAIN(tests)
