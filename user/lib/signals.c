// SPDX-License-Identifier: MIT
#include "signals.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const names[32] = {
	[SIGHUP] = "SIGHUP",	   [SIGINT] = "SIGINT",	      [SIGQUIT] = "SIGQUIT",
	[SIGILL] = "SIGILL",	   [SIGTRAP] = "SIGTRAP",     [SIGABRT] = "SIGABRT",
	[SIGBUS] = "SIGBUS",	   [SIGFPE] = "SIGFPE",	      [SIGKILL] = "SIGKILL",
	[SIGUSR1] = "SIGUSR1",	   [SIGSEGV] = "SIGSEGV",     [SIGUSR2] = "SIGUSR2",
	[SIGPIPE] = "SIGPIPE",	   [SIGALRM] = "SIGALRM",     [SIGTERM] = "SIGTERM",
	[SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD",     [SIGCONT] = "SIGCONT",
	[SIGSTOP] = "SIGSTOP",	   [SIGTSTP] = "SIGTSTP",     [SIGTTIN] = "SIGTTIN",
	[SIGTTOU] = "SIGTTOU",	   [SIGURG] = "SIGURG",	      [SIGXCPU] = "SIGXCPU",
	[SIGXFSZ] = "SIGXFSZ",	   [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
	[SIGWINCH] = "SIGWINCH",   [SIGIO] = "SIGIO",	      [SIGPWR] = "SIGPWR",
	[SIGSYS] = "SIGSYS",
};

/* The kernel's SIGRTMIN; glibc reserves the first two for itself. */
#define KERNEL_SIGRTMIN 32

const char *cw_signal_name(int sig)
{
	static char rt[33][16];

	if (sig >= 1 && sig < KERNEL_SIGRTMIN)
		return names[sig];
	if (sig >= KERNEL_SIGRTMIN && sig <= 64) {
		char *b = rt[sig - KERNEL_SIGRTMIN];

		if (!b[0])
			snprintf(b, sizeof(rt[0]), "SIGRTMIN+%d", sig - KERNEL_SIGRTMIN);
		return b;
	}
	return NULL;
}

int cw_signal_from_name(const char *name)
{
	char *end;
	long n;

	if (!name || !*name)
		return -1;
	if (name[0] >= '0' && name[0] <= '9') {
		n = strtol(name, &end, 10);
		return (*end || n < 1 || n > 64) ? -1 : (int)n;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (int sig = 1; sig < KERNEL_SIGRTMIN; sig++)
		if (names[sig] && strcasecmp(names[sig] + 3, name) == 0)
			return sig;
	if (strcasecmp(name, "IOT") == 0)
		return SIGABRT;
	if (strncasecmp(name, "RTMIN+", 6) == 0) {
		n = strtol(name + 6, &end, 10);
		if (*end || name[6] < '0' || name[6] > '9' || n < 0 || n > 64 - KERNEL_SIGRTMIN)
			return -1;
		return KERNEL_SIGRTMIN + (int)n;
	}
	return -1;
}

/*
 * Why a signal must not be watched.  Watching one means holding, with
 * SIGSTOP, every process it is delivered to with a handler, and every
 * process another one sends it to: for a signal that is not a crash that
 * stops healthy processes, and for the signals below it breaks the
 * kernel's or the watcher's own use of them.  Signals that kill by default
 * (SIGTERM, SIGHUP, SIGUSR1, SIGPIPE, SIGALRM, SIGPROF...) stay allowed:
 * someone may want their deaths snapshotted, at the cost of a hold each.
 */
const char *cw_signal_unwatchable(int sig)
{
	switch (sig) {
	case SIGKILL:
		return "it cannot be caught or held (the kernel kills at once); deaths by it are "
		       "reported with --signal-deaths";
	case SIGSTOP:
		return "it stops, it does not kill, and holds are made with it: holding on it "
		       "would break kill -STOP";
	case SIGCONT:
		return "it is job control, not a crash, and holds are released with it";
	case SIGTSTP:
	case SIGTTIN:
	case SIGTTOU:
		return "it is job control (a stop), not a crash: holding on it would break "
		       "Ctrl-Z and background jobs";
	case SIGCHLD:
	case SIGWINCH:
	case SIGURG:
		return "it is ignored by default, never fatal: holding on it would stop every "
		       "process that handles it";
	/*
	 * glibc keeps the kernel's first two real-time signals for itself
	 * (SIGRTMIN is 34 to programs): 32 cancels threads (pthread_cancel),
	 * 33 makes every thread of a process run set*id().  Neither is a crash,
	 * and a hold there would stop a thread in the middle of one.
	 */
	case KERNEL_SIGRTMIN:
		return "glibc uses it to cancel threads (SIGCANCEL), not a crash";
	case KERNEL_SIGRTMIN + 1:
		return "glibc uses it for setuid() and the like in every thread (SIGSETXID), not "
		       "a crash";
	default:
		return NULL;
	}
}

struct code_name {
	int sig; /* 0: any signal */
	int code;
	const char *name;
};

static const struct code_name codes[] = {
	{0, 0, "SI_USER"},
	{0, 0x80, "SI_KERNEL"},
	{0, -1, "SI_QUEUE"},
	{0, -2, "SI_TIMER"},
	{0, -3, "SI_MESGQ"},
	{0, -4, "SI_ASYNCIO"},
	{0, -5, "SI_SIGIO"},
	{0, -6, "SI_TKILL"},
	{0, -7, "SI_DETHREAD"},
	{0, -60, "SI_ASYNCNL"},
	{SIGILL, 1, "ILL_ILLOPC"},
	{SIGILL, 2, "ILL_ILLOPN"},
	{SIGILL, 3, "ILL_ILLADR"},
	{SIGILL, 4, "ILL_ILLTRP"},
	{SIGILL, 5, "ILL_PRVOPC"},
	{SIGILL, 6, "ILL_PRVREG"},
	{SIGILL, 7, "ILL_COPROC"},
	{SIGILL, 8, "ILL_BADSTK"},
	{SIGILL, 9, "ILL_BADIADDR"},
	{SIGFPE, 1, "FPE_INTDIV"},
	{SIGFPE, 2, "FPE_INTOVF"},
	{SIGFPE, 3, "FPE_FLTDIV"},
	{SIGFPE, 4, "FPE_FLTOVF"},
	{SIGFPE, 5, "FPE_FLTUND"},
	{SIGFPE, 6, "FPE_FLTRES"},
	{SIGFPE, 7, "FPE_FLTINV"},
	{SIGFPE, 8, "FPE_FLTSUB"},
	{SIGFPE, 14, "FPE_FLTUNK"},
	{SIGFPE, 15, "FPE_CONDTRAP"},
	{SIGSEGV, 1, "SEGV_MAPERR"},
	{SIGSEGV, 2, "SEGV_ACCERR"},
	{SIGSEGV, 3, "SEGV_BNDERR"},
	{SIGSEGV, 4, "SEGV_PKUERR"},
	{SIGSEGV, 5, "SEGV_ACCADI"},
	{SIGSEGV, 6, "SEGV_ADIDERR"},
	{SIGSEGV, 7, "SEGV_ADIPERR"},
	{SIGSEGV, 8, "SEGV_MTEAERR"},
	{SIGSEGV, 9, "SEGV_MTESERR"},
	{SIGSEGV, 10, "SEGV_CPERR"},
	{SIGBUS, 1, "BUS_ADRALN"},
	{SIGBUS, 2, "BUS_ADRERR"},
	{SIGBUS, 3, "BUS_OBJERR"},
	{SIGBUS, 4, "BUS_MCEERR_AR"},
	{SIGBUS, 5, "BUS_MCEERR_AO"},
	{SIGTRAP, 1, "TRAP_BRKPT"},
	{SIGTRAP, 2, "TRAP_TRACE"},
	{SIGTRAP, 3, "TRAP_BRANCH"},
	{SIGTRAP, 4, "TRAP_HWBKPT"},
	{SIGTRAP, 5, "TRAP_UNK"},
	{SIGTRAP, 6, "TRAP_PERF"},
	{SIGSYS, 1, "SYS_SECCOMP"},
	{SIGSYS, 2, "SYS_USER_DISPATCH"},
};

const char *cw_si_code_name(int sig, int code)
{
	/* Codes <= 0 and SI_KERNEL mean the same for every signal. */
	bool generic = code <= 0 || code == 0x80;

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code && (generic ? codes[i].sig == 0 : codes[i].sig == sig))
			return codes[i].name;
	return NULL;
}
