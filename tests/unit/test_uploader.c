// SPDX-License-Identifier: MIT
/* The uploader's pure parts: waits asked by the backend, backoff, the spool's bounds. */
#include "cw_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "upload_target.h"
#include "uploader.h"

static void waits_the_backend_asks_for(void **state)
{
	(void)state;
	assert_true(cw_retry_after_header("120") == 120);
	assert_true(cw_retry_after_header("7\r\n") == 7);
	assert_true(cw_retry_after_header("Wed, 21 Oct 2015 07:28:00 GMT") == 0); /* past */
	assert_true(cw_sentry_rate_limits("60:error;transaction:organization") == 60);
	assert_true(cw_sentry_rate_limits("30:transaction:key, 2700::organization") == 2700);
	assert_true(cw_sentry_rate_limits("99:transaction:key") == 0); /* not our events */
	assert_true(cw_sentry_rate_limits("garbage") == 0);
	/* Found by fuzz_retry_after: an endless wait stopped every upload until restart. */
	assert_true(cw_retry_after_header("inf") == CW_RETRY_AFTER_MAX_S);
	assert_true(cw_retry_after_header("1e999") == CW_RETRY_AFTER_MAX_S);
	assert_true(cw_retry_after_header("nan") == 0);
	assert_true(cw_retry_after_header("-5") == 0);
	assert_true(cw_retry_after_header("Fri, 31 Dec 9999 23:59:59 GMT") <= CW_RETRY_AFTER_MAX_S);
	assert_true(cw_sentry_rate_limits("60:error, 10e653:default:project") ==
		    CW_RETRY_AFTER_MAX_S);
	assert_true(cw_sentry_rate_limits("nan:error, 30:error") == 30);
}

static void backoff_doubles_to_a_ceiling_with_jitter(void **state)
{
	(void)state;
	assert_true(cw_backoff_s(1, 1.0) == 1.0);
	assert_true(cw_backoff_s(1, 0.0) == 0.5);
	assert_true(cw_backoff_s(4, 1.0) == 8.0);
	assert_true(cw_backoff_s(40, 1.0) == CW_BACKOFF_MAX_S);
}

static void upload_targets_say_what_is_wrong(void **state)
{
	struct cw_upload_target t;
	char err[512];

	(void)state;
	assert_int_equal(cw_upload_target_parse("generic:http://h/x", NULL, &t, err, sizeof(err)),
			 0);
	assert_string_equal(t.url, "http://h/x");
	cw_upload_target_free(&t);
	assert_int_equal(cw_upload_target_parse("nothing", NULL, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "generic:URL"));
	assert_int_equal(cw_upload_target_parse("backtrace:https://b", NULL, &t, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "--upload-token"));
	assert_int_equal(cw_upload_target_parse("generic:ftp://h", NULL, &t, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(cw_upload_target_parse("sentry:https://k@h/1", NULL, &t, err, sizeof(err)),
			 0);
	assert_string_equal(t.url, "https://h/api/1/envelope/");
	cw_upload_target_free(&t);
}

static void spool_drops_the_oldest_first(void **state)
{
	char dir[] = "/tmp/cw-spool-XXXXXX", path[256];
	struct cw_spool_file *v;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 4; i++) {
		struct timespec t[2] = {{.tv_sec = 1000 + i}, {.tv_sec = 1000 + i}};
		FILE *f;

		snprintf(path, sizeof(path), "%s/%c.json", dir, 'd' - i); /* names in reverse age */
		f = fopen(path, "w");
		fputs("{}", f);
		fclose(f);
		utimensat(AT_FDCWD, path, t, 0);
	}
	snprintf(path, sizeof(path), "%s/.x.json.tmp", dir); /* not a snapshot yet */
	fclose(fopen(path, "w"));
	assert_int_equal(cw_spool_enforce(dir, 2, 0), 2);
	assert_int_equal(cw_spool_list(dir, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "b.json"); /* the two youngest, oldest first */
	assert_string_equal(v[1].name, "a.json");
	free(v);
	assert_int_equal(cw_spool_enforce(dir, 0, 2), 1); /* 2 bytes: one file of 2 */
	assert_int_equal(cw_spool_fail(dir, "a.json", "HTTP 400: no"), 0);
	snprintf(path, sizeof(path), "%s/failed/a.json.reason", dir);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(waits_the_backend_asks_for),
	cmocka_unit_test(backoff_doubles_to_a_ceiling_with_jitter),
	cmocka_unit_test(upload_targets_say_what_is_wrong),
	cmocka_unit_test(spool_drops_the_oldest_first),
};

CW_TEST_MAIN(tests)
