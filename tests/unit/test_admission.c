// SPDX-License-Identifier: MIT
/* The token bucket and crash signatures. */
#include "cw_test.h"

#include <signal.h>
#include <string.h>

#include "crash_signature.h"
#include "rate_limit.h"

static void bucket_allows_the_burst_then_the_rate(void **state)
{
	struct cw_token_bucket b;
	int taken = 0;

	(void)state;
	cw_bucket_init(&b, 1.0, 5, 100.0);
	for (int i = 0; i < 200; i++) /* 200 asks over 10 s */
		taken += cw_bucket_take(&b, 100.0 + i * 0.05);
	/* 5 at once, then one a second for the 9.95 s that follow. */
	assert_int_equal(taken, 5 + 9);
	assert_true(cw_bucket_wait(&b, 109.96) > 0);
	assert_true(cw_bucket_wait(&b, 112.0) == 0);
	cw_bucket_init(&b, 0, 1, 0); /* rate 0: no limit */
	for (int i = 0; i < 1000; i++)
		assert_true(cw_bucket_take(&b, 0));
}

static void signature_ignores_pid_and_aslr_but_not_frames(void **state)
{
	struct cw_signal_event a, b;

	(void)state;
	memset(&a, 0, sizeof(a));
	memcpy(a.exe_parts, "app\0bin\0", 8);
	a.sig = SIGSEGV;
	a.nr_build_ids = 2;
	a.frames[0].status = a.frames[1].status = CW_FRAME_BUILD_ID;
	memset(a.frames[0].build_id, 0xab, CW_BUILD_ID_SIZE);
	a.frames[0].addr = 0x1234;
	a.frames[1].addr = 0x5678;
	b = a;
	b.task.pid = 99;
	b.ips[0] = 0x7f0000001234; /* another load address */
	assert_int_equal(cw_crash_signature(&a), cw_crash_signature(&b));
	b.frames[1].addr = 0x9999;
	assert_int_not_equal(cw_crash_signature(&a), cw_crash_signature(&b));
	b = a;
	b.sig = SIGBUS;
	assert_int_not_equal(cw_crash_signature(&a), cw_crash_signature(&b));
}

static void signature_table_counts_on_one_entry(void **state)
{
	static struct cw_signature_table t;
	struct cw_signal_event ev;
	struct cw_signature_entry *e;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	e = cw_signature_entry(&t, 42);
	cw_signature_suppress(e, &ev, CW_SUPPRESSED_DUPLICATE, 1.0);
	cw_signature_suppress(e, &ev, CW_SUPPRESSED_RATE_LIMITED, 2.0);
	assert_ptr_equal(cw_signature_entry(&t, 42), e);
	assert_int_equal(e->counts[CW_SUPPRESSED_DUPLICATE], 1);
	assert_int_equal(e->counts[CW_SUPPRESSED_RATE_LIMITED], 1);
	assert_true(e->has_example);
	/* A full table reuses the least recent entry and counts what it held. */
	for (uint64_t s = 100; s < 100 + CW_SIGNATURE_TABLE; s++)
		cw_signature_suppress(cw_signature_entry(&t, s), &ev, CW_SUPPRESSED_DUPLICATE,
				      3.0 + (double)s);
	assert_int_equal(t.evicted, 2);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(bucket_allows_the_burst_then_the_rate),
	cmocka_unit_test(signature_ignores_pid_and_aslr_but_not_frames),
	cmocka_unit_test(signature_table_counts_on_one_entry),
};

CW_TEST_MAIN(tests)
