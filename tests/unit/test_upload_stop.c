// SPDX-License-Identifier: MIT
/*
 * A request that never gets an answer: bounded by --upload-timeout, ended at
 * once by a stop; and what may go into the Idempotency-Key header.  The
 * "backend" is a loopback socket that listens and never accepts: the kernel
 * completes the handshake, nobody ever reads or answers.
 */
#include "cw_test.h"

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "upload_target.h"
#include "watch_options.h"

static const char snapshot_text[] = "{\"version\": 1, \"uuid\": \"%s\", \"timestamp\": "
				    "\"2026-11-23T19:10:28.913915Z\", \"threads\": []}";

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static json_t *snapshot(const char *uuid)
{
	char text[512];
	json_t *doc;

	snprintf(text, sizeof(text), snapshot_text, uuid);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	return doc;
}

/* A listening socket nobody accepts on; its URL in url. */
static int silent_backend(char *url, size_t cap)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	snprintf(url, cap, "generic:http://127.0.0.1:%u/generic", ntohs(a.sin_port));
	return fd;
}

struct sender {
	struct cw_upload_conn conn;
	struct cw_upload_target target;
	json_t *snap;
	struct cw_upload_answer answer;
	double took;
};

static void *send_one(void *arg)
{
	struct sender *s = arg;
	double t0 = now_s();

	cw_upload_send(&s->conn, &s->target, s->snap, NULL, &s->answer);
	s->took = now_s() - t0;
	return NULL;
}

static void open_sender(struct sender *s, atomic_bool *stop, const char *spec, unsigned timeout)
{
	char err[256];

	memset(s, 0, sizeof(*s));
	assert_int_equal(cw_upload_target_parse(spec, NULL, &s->target, err, sizeof(err)), 0);
	s->target.timeout_s = timeout;
	assert_int_equal(cw_upload_conn_open(&s->conn, stop), 0);
	s->snap = snapshot("95a9da7a-1d6e-4c4f-9a51-0a3c2f6b1e77");
}

static void close_sender(struct sender *s)
{
	json_decref(s->snap);
	cw_upload_conn_close(&s->conn);
	cw_upload_target_free(&s->target);
}

static void a_silent_backend_costs_one_timeout_then_a_retry(void **state)
{
	atomic_bool stop = false;
	struct sender s;
	char url[128];
	int fd = silent_backend(url, sizeof(url));

	(void)state;
	open_sender(&s, &stop, url, 1);
	send_one(&s);
	assert_int_equal(s.answer.verdict, CW_UPLOAD_RETRY);
	assert_non_null(strstr(s.answer.reason, "imed out"));
	assert_true(s.took >= 0.9 && s.took < 3);
	close_sender(&s);
	close(fd);
}

static void a_stop_ends_the_transfer_in_flight_at_once(void **state)
{
	atomic_bool stop = false;
	struct sender s;
	pthread_t t;
	char url[128];
	int fd = silent_backend(url, sizeof(url));

	(void)state;
	open_sender(&s, &stop, url, 60);
	assert_int_equal(pthread_create(&t, NULL, send_one, &s), 0);
	usleep(300 * 1000); /* connected, the request sent, waiting for an answer */
	atomic_store(&stop, true);
	cw_upload_conn_wake(&s.conn);
	pthread_join(t, NULL);
	assert_int_equal(s.answer.verdict, CW_UPLOAD_STOPPED);
	assert_true(s.took < 1.0);
	/* Already stopped: nothing is sent at all. */
	send_one(&s);
	assert_int_equal(s.answer.verdict, CW_UPLOAD_STOPPED);
	assert_true(s.took < 0.5);
	close_sender(&s);
	close(fd);
}

static void only_a_well_formed_uuid_becomes_the_idempotency_key(void **state)
{
	atomic_bool stop = true; /* no request would be made anyway */
	struct sender s;

	(void)state;
	open_sender(&s, &stop, "generic:http://127.0.0.1:9/generic", 1);
	json_decref(s.snap);
	s.snap = snapshot("x\\r\\nX-Injected: 1");
	send_one(&s);
	assert_int_equal(s.answer.verdict, CW_UPLOAD_FAIL);
	assert_non_null(
		strstr(s.answer.reason, "is not a UUID: it is the upload's Idempotency-Key"));
	close_sender(&s);
}

static void upload_timeout_is_parsed_strictly(void **state)
{
	static const char *const bad[] = {"--upload-timeout=0", "--upload-timeout=3601",
					  "--upload-timeout=12abc", "--upload-timeout="};
	struct cw_watch_options o;
	char *text = NULL;
	size_t len;
	FILE *err;

	(void)state;
	assert_int_equal(cw_watch_options_parse(1, (char *[]){"watch", NULL}, &o, stdout, stderr),
			 0);
	assert_int_equal(o.upload_timeout_s, CW_UPLOAD_TIMEOUT_DEFAULT_S);
	assert_int_equal(cw_watch_options_parse(2, (char *[]){"watch", "--upload-timeout=5", NULL},
						&o, stdout, stderr),
			 0);
	assert_int_equal(o.upload_timeout_s, 5);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = open_memstream(&text, &len);
		assert_int_equal(cw_watch_options_parse(2,
							(char *[]){"watch", (char *)bad[i], NULL},
							&o, stdout, err),
				 -EINVAL);
		fclose(err);
		assert_non_null(strstr(text, "give seconds from 1 to 3600"));
		free(text);
	}
}

static int global_setup(void **state)
{
	(void)state;
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int global_teardown(void **state)
{
	(void)state;
	curl_global_cleanup();
	return 0;
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(a_silent_backend_costs_one_timeout_then_a_retry,
					global_setup, global_teardown),
	cmocka_unit_test_setup_teardown(a_stop_ends_the_transfer_in_flight_at_once, global_setup,
					global_teardown),
	cmocka_unit_test_setup_teardown(only_a_well_formed_uuid_becomes_the_idempotency_key,
					global_setup, global_teardown),
	cmocka_unit_test(upload_timeout_is_parsed_strictly),
};

CW_TEST_MAIN(tests)
