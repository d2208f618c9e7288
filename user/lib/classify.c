// SPDX-License-Identifier: MIT
#include "classify.h"

#include <signal.h>
#include <string.h>

#define NULL_PAGE   4096
#define GUARD_SLACK (1024 * 1024) /* stack_guard_gap's default: 256 pages */

static bool has_frame(const struct cw_crash_facts *f, const char *name)
{
	for (size_t i = 0; i < f->n_functions; i++)
		if (f->functions[i] && strcmp(f->functions[i], name) == 0)
			return true;
	return false;
}

/*
 * The fault is just below a writable mapping: in the gap below a stack that
 * could grow no further, or in the PROT_NONE guard page below a thread's
 * stack.  (The stack pointer itself is no help when the thread is held in
 * its signal handler, on another stack.)
 */
static bool is_stack_overflow(const struct cw_crash_facts *f)
{
	const struct cw_mapping *at, *above = NULL;

	if (!f->maps)
		return false;
	at = cw_maps_find(f->maps, f->addr);
	if (at && strncmp(at->perms, "---", 3) != 0)
		return false;
	for (size_t i = 0; i < f->maps->n; i++) {
		const struct cw_mapping *m = &f->maps->v[i];

		if (m != at && m->start > f->addr && (!above || m->start < above->start))
			above = m;
	}
	return above && above->start - f->addr <= GUARD_SLACK && above->perms[0] == 'r' &&
	       above->perms[1] == 'w';
}

const char *cw_crash_cause(const struct cw_crash_facts *f)
{
	const struct cw_mapping *m;

	switch (f->sig) {
	case SIGSEGV:
		if (f->code == SEGV_MAPERR && f->addr < NULL_PAGE)
			return "null-pointer-dereference";
		if ((f->code == SEGV_MAPERR || f->code == SEGV_ACCERR) && is_stack_overflow(f))
			return "stack-overflow";
		if (f->code == SEGV_ACCERR && f->maps && (m = cw_maps_find(f->maps, f->addr))) {
			if (f->addr == f->pc && m->perms[2] != 'x')
				return "execute-non-executable-memory";
			if (m->perms[0] == 'r' && m->perms[1] != 'w')
				return "write-to-read-only-memory";
		}
		return f->code > 0 ? "invalid-memory-access" : NULL;
	case SIGABRT:
		if (has_frame(f, "__stack_chk_fail"))
			return "stack-protector-failure";
		if (has_frame(f, "__fortify_fail") || has_frame(f, "__chk_fail"))
			return "fortify-failure";
		if (has_frame(f, "__assert_fail") || has_frame(f, "__assert_perror_fail"))
			return "assertion-failure";
		return "abort";
	case SIGFPE:
		return f->code == FPE_INTDIV ? "division-by-zero" : "arithmetic-error";
	case SIGILL:
		return "illegal-instruction";
	case SIGBUS:
		return "bus-error";
	case SIGTRAP:
		return "trap";
	case SIGSYS:
		return "bad-system-call";
	}
	return NULL;
}
