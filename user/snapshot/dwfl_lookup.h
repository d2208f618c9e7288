/* SPDX-License-Identifier: MIT */
/* What libdwfl knows of one address in a module: function and source line. */
#ifndef CW_DWFL_LOOKUP_H
#define CW_DWFL_LOOKUP_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>

struct cw_code_location {
	const char *function; /* NULL when no symbol covers the address; owned by the Dwfl */
	uint64_t function_offset;
	const char *file; /* NULL without line info */
	int line;
};

/* Look at up in mod; file:line only when source_lines (it reads DWARF: the slow part). */
void cw_dwfl_lookup(Dwfl_Module *mod, Dwarf_Addr at, bool source_lines,
		    struct cw_code_location *out);

#endif
