// SPDX-License-Identifier: MIT
/*
 * Crash in the way argv[1] names, with a handler (on its own stack) that
 * parks for good, as a process held at its handler's entry would be.  The
 * handler prints the siginfo the kernel gave it, then "ready=1".
 *   null stack_overflow abort assert stack_protector fpe ill write_ro exec_nx
 */
#undef NDEBUG
#include <assert.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "target.h"

void __stack_chk_fail(void);

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	target_say("signal", (unsigned long long)sig);
	printf("si_code=%d\n", si->si_code);
	target_say("fault_addr", (unsigned long long)(uintptr_t)si->si_addr);
	target_say("ready", 1);
	for (;;)
		pause();
}

NOINLINE void crash_null(volatile int *p)
{
	*p = 1;
}

static volatile int keep_going = 1;

NOINLINE int crash_recurse(int depth)
{
	volatile char frame[512];

	frame[0] = (char)depth;
	return keep_going ? crash_recurse(depth + 1) + frame[0] : 0;
}

NOINLINE void crash_abort(void)
{
	abort();
}

NOINLINE void crash_assert(volatile int v)
{
	assert(v == 0);
}

NOINLINE void crash_stack_protector(void)
{
	__stack_chk_fail(); /* what a smashed canary ends in */
}

NOINLINE int crash_fpe(volatile int a, volatile int b)
{
	return a / b;
}

NOINLINE void crash_ill(void)
{
	__builtin_trap();
}

NOINLINE void crash_write_ro(void)
{
	char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	*(volatile char *)p = 1;
}

NOINLINE void crash_exec_nx(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	((void (*)(void))p)();
}

int main(int argc, char **argv)
{
	static char altstack[64 * 1024];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	struct sigaction sa = {.sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_ONSTACK};
	const char *kind = argc > 1 ? argv[1] : "null";
	const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};

	sigaltstack(&ss, NULL);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	target_hello();
	if (!strcmp(kind, "null"))
		crash_null(NULL);
	else if (!strcmp(kind, "stack_overflow"))
		return crash_recurse(0);
	else if (!strcmp(kind, "abort"))
		crash_abort();
	else if (!strcmp(kind, "assert"))
		crash_assert(1);
	else if (!strcmp(kind, "stack_protector"))
		crash_stack_protector();
	else if (!strcmp(kind, "fpe"))
		return crash_fpe(1, 0);
	else if (!strcmp(kind, "ill"))
		crash_ill();
	else if (!strcmp(kind, "write_ro"))
		crash_write_ro();
	else if (!strcmp(kind, "exec_nx"))
		crash_exec_nx();
	return 2;
}
