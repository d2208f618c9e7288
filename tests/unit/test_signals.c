// SPDX-License-Identifier: MIT
#include "cw_test.h"

#include <signal.h>
#include <stdint.h>

#include "signals.h"

static void names_round_trip(void **state)
{
	(void)state;
	for (int sig = 1; sig <= 64; sig++) {
		const char *name = cw_signal_name(sig);

		if (sig == 32 || sig == 33) /* glibc's own real-time signals still have names */
			assert_non_null(name);
		if (name)
			assert_int_equal(cw_signal_from_name(name), sig);
	}
	assert_string_equal(cw_signal_name(SIGSEGV), "SIGSEGV");
	assert_string_equal(cw_signal_name(34), "SIGRTMIN+2");
	assert_null(cw_signal_name(0));
	assert_null(cw_signal_name(65));
}

static void from_name_forms(void **state)
{
	(void)state;
	assert_int_equal(cw_signal_from_name("segv"), SIGSEGV);
	assert_int_equal(cw_signal_from_name("SIGABRT"), SIGABRT);
	assert_int_equal(cw_signal_from_name("IOT"), SIGABRT);
	assert_int_equal(cw_signal_from_name("11"), SIGSEGV);
	assert_int_equal(cw_signal_from_name("11x"), -1);
	assert_int_equal(cw_signal_from_name("0"), -1);
	assert_int_equal(cw_signal_from_name("NOPE"), -1);
	assert_int_equal(cw_signal_from_name("RTMIN+40"), -1);
}

static void si_codes_depend_on_the_signal(void **state)
{
	(void)state;
	assert_string_equal(cw_si_code_name(SIGSEGV, 1), "SEGV_MAPERR");
	assert_string_equal(cw_si_code_name(SIGBUS, 2), "BUS_ADRERR");
	assert_string_equal(cw_si_code_name(SIGFPE, 1), "FPE_INTDIV");
	assert_string_equal(cw_si_code_name(SIGILL, 2), "ILL_ILLOPN");
	assert_string_equal(cw_si_code_name(SIGABRT, -6), "SI_TKILL");
	assert_string_equal(cw_si_code_name(SIGSEGV, 0), "SI_USER");
	assert_string_equal(cw_si_code_name(SIGSEGV, 0x80), "SI_KERNEL");
	assert_null(cw_si_code_name(SIGABRT, 1));
	assert_null(cw_si_code_name(SIGSEGV, 99));
}

static void only_signals_that_are_not_crashes_are_unwatchable(void **state)
{
	static const int refused[] = {SIGKILL, SIGSTOP,	 SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU,
				      SIGCHLD, SIGWINCH, SIGURG,  32,	   33};
	uint64_t mask = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_non_null(cw_signal_unwatchable(refused[i]));
		mask |= 1ULL << (refused[i] - 1);
	}
	for (int sig = 1; sig <= 64; sig++)
		if (!(mask & (1ULL << (sig - 1))))
			assert_null(cw_signal_unwatchable(sig));
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(names_round_trip),
	cmocka_unit_test(from_name_forms),
	cmocka_unit_test(si_codes_depend_on_the_signal),
	cmocka_unit_test(only_signals_that_are_not_crashes_are_unwatchable),
};

CW_TEST_MAIN(tests)
