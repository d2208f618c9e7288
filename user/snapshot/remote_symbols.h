/* SPDX-License-Identifier: MIT */
/*
 * The snapshot tool's side of the symbol server: after unwinding, every
 * module's addresses are asked of the server (its ELF fd attached, so the
 * server reads the file the process mapped); what it cannot answer is left
 * to the tool's own lookup, the same libdwfl calls on the same files.
 */
#ifndef CW_REMOTE_SYMBOLS_H
#define CW_REMOTE_SYMBOLS_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "module_open.h"

struct cw_remote_answer {
	uint64_t at; /* the address looked up, in the process */
	uint64_t function_offset;
	char *function; /* owned; NULL: no symbol */
	char *file;	/* owned; NULL: no line */
	int line;
};

struct cw_remote_symbols {
	struct cw_remote_answer *v; /* sorted by at */
	size_t n, cap;
	bool failed; /* the server could not be used: said once on stderr */
};

/*
 * Ask the server at sock_path about ats (sorted, unique addresses in dwfl's
 * modules; files opened through src).  Modules without a build-id or a file
 * are not asked.  Never fails: unanswered addresses are simply not found.
 */
void cw_remote_symbols_ask(struct cw_remote_symbols *rs, const char *sock_path, Dwfl *dwfl,
			   const struct cw_module_source *src, const uint64_t *ats, size_t n,
			   bool source_lines);

const struct cw_remote_answer *cw_remote_symbols_find(const struct cw_remote_symbols *rs,
						      uint64_t at);

void cw_remote_symbols_free(struct cw_remote_symbols *rs);

#endif
