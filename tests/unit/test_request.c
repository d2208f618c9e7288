// SPDX-License-Identifier: MIT
/*
 * Snapshots on request: the wire protocol (include/crashwatch/request.h),
 * who may ask for what (request_auth.h), the requests' share of the global
 * rate limit, and what the document and the uploads say of them.
 */
#include "cw_test.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>

#include "admission.h"
#include "crashwatch/request.h"
#include "request_auth.h"
#include "snapshot_doc.h"
#include "upload_snapshot.h"
#include "upload_target.h"

static unsigned char buf[CW_REQ_MAX + 64];

static long encode(const struct cw_request *r)
{
	const char *why = NULL;

	return cw_request_encode(r, buf, sizeof(buf), &why);
}

static void request_round_trip(void **state)
{
	struct cw_request r = {.flags = CW_REQ_WAIT,
			       .pid = 1234,
			       .fault_tid = 1235,
			       .timeout_ms = 5000,
			       .error = "queue stalled\nfor 5 s",
			       .error_type = "Stall"},
			  back;
	const char *why = NULL;
	long n;

	(void)state;
	r.kv[0].key = "build";
	r.kv[0].value = "42";
	r.kv[1].key = "empty";
	r.kv[1].value = "";
	r.n_kv = 2;
	r.classifiers[0] = "manual";
	r.n_classifiers = 1;
	r.threads[0] = 1236;
	r.threads[1] = 1237;
	r.n_threads = 2;
	n = encode(&r);
	assert_true(n > 0);
	assert_int_equal(cw_request_parse(buf, (size_t)n, &back, &why), 0);
	assert_int_equal(back.flags, CW_REQ_WAIT);
	assert_int_equal(back.pid, 1234);
	assert_int_equal(back.fault_tid, 1235);
	assert_int_equal(back.timeout_ms, 5000);
	assert_int_equal(back.n_kv, 2);
	assert_string_equal(back.kv[0].key, "build");
	assert_string_equal(back.kv[0].value, "42");
	assert_string_equal(back.kv[1].value, "");
	assert_string_equal(back.classifiers[0], "manual");
	assert_int_equal(back.n_threads, 2);
	assert_int_equal(back.threads[1], 1237);
	assert_string_equal(back.error, "queue stalled\nfor 5 s");
	assert_string_equal(back.error_type, "Stall");
	/* Every byte counts: one short, and it is refused. */
	assert_int_equal(cw_request_parse(buf, (size_t)n - 1, &back, &why), -1);
	assert_non_null(why);
}

static int refused(const struct cw_request *r, const char *words)
{
	struct cw_request back;
	const char *why = NULL;
	long n = encode(r);

	if (n < 0)
		return 1; /* too big to encode at all */
	if (cw_request_parse(buf, (size_t)n, &back, &why) == 0)
		return 0;
	if (!strstr(why, words)) {
		print_error("refused with '%s', not '%s'\n", why, words);
		return 0;
	}
	return 1;
}

static void request_bounds(void **state)
{
	static char big[CW_REQ_MAX_ERROR + 2];
	struct cw_request r = {0};

	(void)state;
	r.kv[0].key = "a:b";
	r.kv[0].value = "x";
	r.n_kv = 1;
	assert_true(refused(&r, "holds ':'"));
	r.kv[0].key = "";
	assert_true(refused(&r, "attribute key"));
	r.kv[0].key = "k";
	r.kv[0].value = "line\nbreak";
	assert_true(refused(&r, "attribute value"));
	r.n_kv = 0;
	r.classifiers[0] = "";
	r.n_classifiers = 1;
	assert_true(refused(&r, "classifier"));
	r.n_classifiers = 0;
	memset(big, 'e', sizeof(big) - 1);
	r.error = big;
	assert_true(encode(&r) < 0 || refused(&r, "error message"));
	r.error = NULL;
	r.timeout_ms = CW_REQ_MAX_TIMEOUT_MS + 1;
	assert_true(refused(&r, "timeout"));
	r.timeout_ms = 0;
	r.threads[0] = 0;
	r.n_threads = 1;
	assert_true(refused(&r, "thread id"));
}

static void request_garbage(void **state)
{
	struct cw_request back;
	struct cw_req_head h = {.magic = CW_REQ_MAGIC, .version = 2};
	const char *why = NULL;
	size_t big = CW_REQ_MAX + 1;

	(void)state;
	assert_int_equal(cw_request_parse("hello", 5, &back, &why), -1);
	assert_non_null(strstr(why, "shorter than its header"));
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(cw_request_parse(buf, sizeof(h), &back, &why), -1);
	assert_non_null(strstr(why, "version"));
	h.version = CW_REQ_VERSION;
	h.flags = 0x80;
	memcpy(buf, &h, sizeof(h));
	assert_int_equal(cw_request_parse(buf, sizeof(h), &back, &why), -1);
	assert_non_null(strstr(why, "flags"));
	h.flags = 0;
	memcpy(buf, &h, sizeof(h));
	/* A field that claims more than is there. */
	memcpy(buf + sizeof(h), &(struct cw_req_field){.type = CW_REQ_KV, .len = 100}, 4);
	assert_int_equal(cw_request_parse(buf, sizeof(h) + 4, &back, &why), -1);
	assert_non_null(strstr(why, "longer than the request"));
	memset(buf + sizeof(h), 0, big - sizeof(h));
	assert_int_equal(cw_request_parse(buf, big, &back, &why), -1);
	assert_non_null(strstr(why, "16384"));
}

static void reply_round_trip(void **state)
{
	char out[CW_REPLY_MAX];
	enum cw_status st;
	int32_t detail;
	const char *text;
	long n;

	(void)state;
	n = cw_reply_encode(CW_STATUS_RATE_LIMITED, 250, "ask again", out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(cw_reply_parse(out, (size_t)n, &st, &detail, &text), 0);
	assert_int_equal(st, CW_STATUS_RATE_LIMITED);
	assert_int_equal(detail, 250);
	assert_string_equal(text, "ask again");
	assert_int_equal(cw_reply_parse(out, (size_t)n - 1, &st, &detail, &text), -1);
	assert_int_equal(cw_status_exit(CW_STATUS_REFUSED), 3);
	assert_int_equal(cw_status_exit(CW_STATUS_NO_WATCHER), 6);
}

static int decide(const struct cw_auth_peer *p, const struct cw_auth_target *t, int scope,
		  const char *words)
{
	char why[512];
	int r = cw_auth_decide(p, t, scope, why, sizeof(why));

	if (words && !strstr(why, words)) {
		print_error("said '%s', not '%s'\n", why, words);
		return -1000;
	}
	return r;
}

static void who_may_ask(void **state)
{
	struct cw_auth_peer user = {.pid = 100, .uid = 1000, .gid = 1000};
	struct cw_auth_peer root = {.pid = 101, .uid = 0, .gid = 0};
	struct cw_auth_target own = {.pid = 200,
				     .uids = {1000, 1000, 1000, 1000},
				     .gids = {1000, 1000, 1000, 1000},
				     .dumpable = true};
	struct cw_auth_target t;

	(void)state;
	assert_int_equal(decide(&user, &own, -1, NULL), 0);
	assert_int_equal(decide(&user, &own, 0, NULL), 0);
	/* Yama 1: only its descendants. */
	assert_int_equal(decide(&user, &own, 1, "descendants"), -EPERM);
	t = own;
	t.descendant = true;
	assert_int_equal(decide(&user, &t, 1, NULL), 0);
	assert_int_equal(decide(&user, &own, 2, "only root"), -EPERM);
	assert_int_equal(decide(&root, &own, 2, NULL), 0);
	assert_int_equal(decide(&root, &own, 3, "is 3"), -EPERM);
	/* Another user's, a set-uid one, a set-gid one, one not dumpable, more capabilities. */
	t = own;
	t.uids[0] = t.uids[1] = t.uids[2] = 0;
	assert_int_equal(decide(&user, &t, 0, "runs as uid 0 and you are uid 1000"), -EPERM);
	assert_int_equal(decide(&root, &t, 0, NULL), 0);
	t = own;
	t.uids[2] = 0;
	assert_int_equal(decide(&user, &t, 0, "own processes"), -EPERM);
	t = own;
	t.gids[1] = 5;
	assert_int_equal(decide(&user, &t, 0, "set-gid"), -EPERM);
	t = own;
	t.dumpable = false;
	assert_int_equal(decide(&user, &t, 0, "not dumpable"), -EPERM);
	t = own;
	t.cap_prm = 1ULL << 12;
	assert_int_equal(decide(&user, &t, 0, "cap_net_admin"), -EPERM);
	/* Itself: always, even not dumpable, even under Yama 2. */
	t.pid = user.pid;
	t.dumpable = false;
	assert_int_equal(decide(&user, &t, 2, NULL), 0);
}

static void requests_leave_the_crashes_half_the_burst(void **state)
{
	struct cw_admission *a = calloc(1, sizeof(*a));
	struct cw_signal_event ev;
	enum cw_suppressed_why why;
	double wait;
	int taken = 0;

	(void)state;
	assert_non_null(a);
	/* A rate so slow that nothing refills during the test. */
	cw_admission_init(a, 0.001, 10, 0);
	while (cw_admit_request(a, &wait))
		taken++;
	assert_int_equal(taken, 5);
	assert_true(wait > 1);
	/* The crashes' half is still there. */
	memset(&ev, 0, sizeof(ev));
	for (int i = 0; i < 5; i++)
		assert_true(cw_admit(a, NULL, &why));
	assert_false(cw_admit(a, NULL, &why));
	free(a);
	/* No global limit: every request. */
	a = calloc(1, sizeof(*a));
	cw_admission_init(a, 0, 10, 0);
	for (int i = 0; i < 100; i++)
		assert_true(cw_admit_request(a, &wait));
	free(a);
}

static json_t *doc_of(struct cw_snapshot_doc *d)
{
	json_t *j = cw_snapshot_doc_json(d);

	assert_non_null(j);
	return j;
}

static void document_says_who_asked(void **state)
{
	struct cw_doc_attribute attrs[] = {{"error", "an early kv"},
					   {"build", "42"},
					   {"error", "queue stalled"},
					   {"error.type", "Stall"}};
	struct cw_doc_requester by = {.pid = 77, .uid = 1000, .gid = 1000, .comm = "app"};
	struct cw_snapshot_doc d = {.uuid = "95a9da7a-1d6e-4f2e-8f15-96b4bb171933",
				    .process = {.pid = 76, .comm = "app"},
				    .attributes = attrs,
				    .n_attributes = 4,
				    .trigger = "request",
				    .requested_by = &by,
				    .capture = {.method = "ptrace", .tool = "crashwatch-snapshot"}};
	json_t *j = doc_of(&d);

	(void)state;
	assert_string_equal(json_string_value(json_object_get(j, "trigger")), "request");
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(j, "requested_by"), "uid")),
		1000);
	/* The last of a key wins, in the attributes and in the cause line alike. */
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "attributes"), "error")),
		"queue stalled");
	assert_string_equal(json_string_value(json_object_get(j, "cause")), "Stall: queue stalled");
	assert_false(cw_upload_fatal(j));
	assert_true(cw_upload_requested(j));
	json_decref(j);
	/* No trigger said: a crash with a signal, on-demand without; no requester. */
	d.trigger = NULL;
	d.requested_by = NULL;
	d.n_attributes = 2;
	j = doc_of(&d);
	assert_string_equal(json_string_value(json_object_get(j, "trigger")), "on-demand");
	assert_true(json_is_null(json_object_get(j, "requested_by")));
	assert_string_equal(json_string_value(json_object_get(j, "cause")), "error: an early kv");
	json_decref(j);
	d.n_attributes = 0;
	d.has_signal = true;
	d.signal.number = SIGSEGV;
	j = doc_of(&d);
	assert_string_equal(json_string_value(json_object_get(j, "trigger")), "crash");
	assert_true(cw_upload_fatal(j));
	json_decref(j);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(request_round_trip),
	cmocka_unit_test(request_bounds),
	cmocka_unit_test(request_garbage),
	cmocka_unit_test(reply_round_trip),
	cmocka_unit_test(who_may_ask),
	cmocka_unit_test(requests_leave_the_crashes_half_the_burst),
	cmocka_unit_test(document_says_who_asked),
};

CW_TEST_MAIN(tests)
