// SPDX-License-Identifier: MIT
/* The pipe handler's request to the watcher: what it sends is what the watcher reads. */
#include "cw_test.h"

#include <errno.h>
#include <stdlib.h>

#include "core_call_protocol.h"

static void round_trip(void **state)
{
	char buf[CW_CORE_CALL_MAX];
	pid_t pid, tid;
	int n, sig;

	(void)state;
	n = cw_core_call_format(buf, sizeof(buf), 4194304, 4194305, 11);
	assert_true(n > 0);
	assert_int_equal(cw_core_call_parse(buf, (size_t)n, &pid, &tid, &sig), 0);
	assert_int_equal(pid, 4194304);
	assert_int_equal(tid, 4194305);
	assert_int_equal(sig, 11);
}

static void refuses_what_the_handler_never_sends(void **state)
{
	static const char *const bad[] = {
		"",	  "1 2",    "1 2 3 4", "0 1 11", "-1 1 11", "1 -2 11",		"1 2 65",
		"1  2 3", " 1 2 3", "1 2 3\n", "a b c",	 "1 2 3x",  "99999999999 1 11", "1 2 +3",
	};
	pid_t pid, tid;
	int sig;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cw_core_call_parse(bad[i], strlen(bad[i]), &pid, &tid, &sig),
				 -EBADMSG);
	/* A NUL inside, and a request longer than the limit. */
	assert_int_equal(cw_core_call_parse("1\0 2 3", 6, &pid, &tid, &sig), -EBADMSG);
	{
		char big[CW_CORE_CALL_MAX + 8];

		memset(big, '1', sizeof(big));
		assert_int_equal(cw_core_call_parse(big, sizeof(big), &pid, &tid, &sig), -EBADMSG);
	}
}

static void random_bytes_never_pass_unchecked(void **state)
{
	unsigned char msg[CW_CORE_CALL_MAX];
	pid_t pid, tid;
	int sig;

	(void)state;
	srand(7);
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(rand() % (int)sizeof(msg));

		for (size_t i = 0; i < len; i++)
			msg[i] = (unsigned char)("0123456789 -x\n"[rand() % 14]);
		if (cw_core_call_parse((const char *)msg, len, &pid, &tid, &sig) == 0)
			assert_true(pid > 0 && tid >= 0 && sig >= 0 && sig <= 64);
	}
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(round_trip),
	cmocka_unit_test(refuses_what_the_handler_never_sends),
	cmocka_unit_test(random_bytes_never_pass_unchecked),
};

CW_TEST_MAIN(tests)
