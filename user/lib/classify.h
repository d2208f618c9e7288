/* SPDX-License-Identifier: MIT */
/* One cause for a crash, as Android's tombstones give it. */
#ifndef CW_CLASSIFY_H
#define CW_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc_maps.h"

struct cw_crash_facts {
	int sig;		      /* 0: not a crash (an on-demand snapshot) */
	int code;		      /* si_code */
	uint64_t addr;		      /* si_addr */
	uint64_t pc;		      /* where the fault happened (the interrupted context's pc) */
	const struct cw_maps *maps;   /* may be NULL */
	const char *const *functions; /* the faulted thread's frames, top first */
	size_t n_functions;
};

/*
 * "null-pointer-dereference", "stack-overflow", "write-to-read-only-memory",
 * "execute-non-executable-memory", "assertion-failure",
 * "stack-protector-failure", "abort", "division-by-zero",
 * "illegal-instruction", "bus-error", ...; NULL when none applies.
 */
const char *cw_crash_cause(const struct cw_crash_facts *f);

#endif
