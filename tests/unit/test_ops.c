// SPDX-License-Identifier: MIT
/*
 * Issue 18: the crash index stays within its bounds, uploaded snapshots are
 * kept only up to theirs, the metrics endpoint reads request heads strictly,
 * and the counter sink writes the Prometheus text format.
 */
#include "cw_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "counter_sink.h"
#include "crash_index.h"
#include "http_request.h"

static char *make_spool(void)
{
	char *dir = strdup("/tmp/cw-test-ops-XXXXXX");

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_tree(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static off_t size_of(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void the_index_keeps_the_newest_within_its_bound(void **state)
{
	char *spool = make_spool(), cause[600];
	struct timespec now;
	json_t *all;
	size_t bad;
	int i;

	(void)state;
	clock_gettime(CLOCK_REALTIME, &now);
	memset(cause, 'c', sizeof(cause) - 1);
	cause[sizeof(cause) - 1] = '\0';
	/* ~700 bytes an entry: 3000 of them are twice the bound. */
	for (i = 0; i < 3000; i++) {
		struct cw_index_crash c = {.time = now.tv_sec - 3000 + i,
					   .pid = 1000 + i,
					   .tid = 1000 + i,
					   .comm = "x",
					   .exe = "/bin/x",
					   .sig = 11,
					   .cause = cause,
					   .snapshot = "full",
					   .held_at = "core"};

		assert_int_equal(cw_index_add_crash(spool, &c), 0);
		assert_true(size_of(spool, CW_INDEX_FILE) <= (off_t)CW_INDEX_MAX_BYTES + 1024);
	}
	assert_int_equal(cw_index_read(spool, &all, &bad), 0);
	assert_int_equal(bad, 0);
	assert_true(json_array_size(all) > 100 && json_array_size(all) <= CW_INDEX_MAX_ENTRIES);
	/* Newest first, and the newest is the last added. */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(all, 0), "pid")), 3999);
	json_decref(all);
	/* Older than the age bound: not listed. */
	assert_int_equal(cw_index_add_crash(spool,
					    &(struct cw_index_crash){
						    .time = now.tv_sec - CW_INDEX_MAX_AGE_S - 10,
						    .pid = 5,
						    .snapshot = "none",
						    .held_at = "none",
					    }),
			 0);
	assert_int_equal(cw_index_read(spool, &all, &bad), 0);
	for (size_t k = 0; k < json_array_size(all); k++)
		assert_int_not_equal(
			json_integer_value(json_object_get(json_array_get(all, k), "pid")), 5);
	json_decref(all);
	remove_tree(spool);
	free(spool);
}

static void uploaded_snapshots_are_kept_up_to_their_bound(void **state)
{
	char *spool = make_spool(), name[64], path[512];
	json_t *all;
	size_t bad, n = 0;
	struct dirent *de;
	DIR *d;

	(void)state;
	for (int i = 0; i < CW_UPLOADED_MAX + 5; i++) {
		int fd;

		snprintf(name, sizeof(name), "00000000-0000-0000-0000-%012d.json", i);
		snprintf(path, sizeof(path), "%s/%s", spool, name);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0 && write(fd, "{}", 2) == 2);
		close(fd);
		assert_int_equal(cw_index_uploaded(spool, name, "generic:http://h"), 0);
		assert_int_equal(access(path, F_OK), -1); /* left the spool */
	}
	snprintf(path, sizeof(path), "%s/%s", spool, CW_UPLOADED_DIR);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, CW_UPLOADED_MAX);
	/* Upload lines with no crash line are not crashes. */
	assert_int_equal(cw_index_read(spool, &all, &bad), 0);
	assert_int_equal(json_array_size(all), 0);
	assert_int_equal(bad, 0);
	json_decref(all);
	remove_tree(spool);
	free(spool);
}

static void where_uploads_went_says_no_secret(void **state)
{
	char out[256];

	(void)state;
	cw_index_where("sentry", "https://key:secret@o1.ingest.sentry.io/api/42/envelope/", out,
		       sizeof(out));
	assert_string_equal(out, "sentry:https://o1.ingest.sentry.io");
	cw_index_where("backtrace", "https://x.sp.backtrace.io:6098/post?token=t0k", out,
		       sizeof(out));
	assert_string_equal(out, "backtrace:https://x.sp.backtrace.io:6098");
}

static void request_heads_are_read_strictly(void **state)
{
	static const char *const bad[] = {
		"GET /metrics\r\n\r\n",
		"GET  /metrics HTTP/1.1\r\n\r\n",
		"GET metrics HTTP/1.1\r\n\r\n",
		"GET /metrics HTTP/2.0\r\n\r\n",
		"\r\n\r\n",
		"GET /a\x01 HTTP/1.1\r\n\r\n",
	};
	struct cw_http_request r;
	const char *ok = "GET /metrics?x=1 HTTP/1.1\r\nHost: h\r\n\r\nbody";

	(void)state;
	assert_int_equal(cw_http_head_end(ok, strlen(ok)), strlen(ok) - 4);
	assert_int_equal(cw_http_head_end(ok, 20), 0);
	assert_int_equal(cw_http_request_parse(ok, strlen(ok) - 4, &r), 0);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/metrics");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cw_http_request_parse(bad[i], strlen(bad[i]), &r) != -EINVAL)
			fail_msg("took \"%s\"", bad[i]);
}

static void the_sink_writes_one_family_per_name(void **state)
{
	static const double le[] = {0.001, 0.01};
	static const uint64_t counts[] = {1, 2, 3};
	char *text = NULL;
	size_t len = 0;
	struct cw_counter_sink s = {.format = CW_SINK_PROMETHEUS};

	(void)state;
	s.out = open_memstream(&text, &len);
	assert_non_null(s.out);
	cw_sink_emit(&s, &(struct cw_metric){"uploads", "h", CW_METRIC_COUNTER, "r=\"ok\"", "u"},
		     2);
	cw_sink_emit(&s, &(struct cw_metric){"uploads", "h", CW_METRIC_COUNTER, "r=\"no\"", "n"},
		     1);
	cw_sink_gauge(&s, "spool_files", "g", 4);
	cw_sink_histogram(&s, "hold_seconds", "x", le, counts, 2, 0.5);
	fclose(s.out);
	assert_string_equal(text, "# HELP crashwatch_uploads_total h\n"
				  "# TYPE crashwatch_uploads_total counter\n"
				  "crashwatch_uploads_total{r=\"ok\"} 2\n"
				  "crashwatch_uploads_total{r=\"no\"} 1\n"
				  "# HELP crashwatch_spool_files g\n"
				  "# TYPE crashwatch_spool_files gauge\n"
				  "crashwatch_spool_files 4\n"
				  "# HELP crashwatch_hold_seconds x\n"
				  "# TYPE crashwatch_hold_seconds histogram\n"
				  "crashwatch_hold_seconds_bucket{le=\"0.001\"} 1\n"
				  "crashwatch_hold_seconds_bucket{le=\"0.01\"} 3\n"
				  "crashwatch_hold_seconds_bucket{le=\"+Inf\"} 6\n"
				  "crashwatch_hold_seconds_sum 0.500000\n"
				  "crashwatch_hold_seconds_count 6\n");
	free(text);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(the_index_keeps_the_newest_within_its_bound),
	cmocka_unit_test(uploaded_snapshots_are_kept_up_to_their_bound),
	cmocka_unit_test(where_uploads_went_says_no_secret),
	cmocka_unit_test(request_heads_are_read_strictly),
	cmocka_unit_test(the_sink_writes_one_family_per_name),
};

CW_TEST_MAIN(tests)
