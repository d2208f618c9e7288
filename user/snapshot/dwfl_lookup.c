// SPDX-License-Identifier: MIT
#include "dwfl_lookup.h"

void cw_dwfl_lookup(Dwfl_Module *mod, Dwarf_Addr at, bool source_lines,
		    struct cw_code_location *out)
{
	GElf_Off off;
	GElf_Sym sym;
	Dwfl_Line *line;
	int lineno = 0;

	*out = (struct cw_code_location){0};
	out->function = dwfl_module_addrinfo(mod, at, &off, &sym, NULL, NULL, NULL);
	if (out->function)
		out->function_offset = off;
	line = source_lines ? dwfl_module_getsrc(mod, at) : NULL;
	if (line) {
		out->file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
		if (out->file)
			out->line = lineno;
	}
}
