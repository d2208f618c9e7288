/* SPDX-License-Identifier: MIT */
/*
 * Go's own symbol table, .gopclntab (Go 1.18+ layout: pcHeader, funcnametab,
 * cutab, filetab, pctab, functab): function names, file:line and the stack
 * pointer's offset at each pc.  Every Go binary has it, -ldflags=-s -w
 * included, where neither .symtab nor DWARF is left.  The table comes from a
 * file the target may have written: every offset is checked before use.
 */
#ifndef CW_GO_PCLNTAB_H
#define CW_GO_PCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CW_GOPCLN_MAX_FUNCS (4u << 20)

struct cw_gopclntab {
	const uint8_t *data; /* the table (borrowed), from its pcHeader */
	size_t len;
	uint64_t text_start; /* the address entry offsets are relative to (file addresses) */
	uint32_t nfunc;
	bool has_start_line; /* Go 1.20+: _func.startLine before funcID */
	size_t funcname, cutab, filetab, pctab, functab; /* offsets into data */
};

struct cw_gofunc {
	uint64_t entry, end; /* file addresses */
	const char *name;    /* NUL-terminated inside the table; "" when its offset is bad */
	size_t off;	     /* of its _func, in data */
};

/*
 * Check the header at data (the table's first byte) and the function table.
 * text_start: the .text section's address, used when the header's (a
 * relocated field in a PIE) is 0.  0 or -EINVAL (not a table we can read).
 */
int cw_gopclntab_init(struct cw_gopclntab *t, const uint8_t *data, size_t len, uint64_t text_start);

/* The function holding pc (a file address); false when none does. */
bool cw_gopclntab_func(const struct cw_gopclntab *t, uint64_t pc, struct cw_gofunc *f);

/* The function called name; false when there is none. */
bool cw_gopclntab_find(const struct cw_gopclntab *t, const char *name, struct cw_gofunc *f);

/* The file and line of pc in f; false when the tables do not say. */
bool cw_gopclntab_line(const struct cw_gopclntab *t, const struct cw_gofunc *f, uint64_t pc,
		       const char **file, int *line);

/* How far sp is below the frame's return address slot at pc (pcsp); false when unknown. */
bool cw_gopclntab_spdelta(const struct cw_gopclntab *t, const struct cw_gofunc *f, uint64_t pc,
			  int32_t *delta);

/* Find a table in a file's bytes by its magic (a PIE keeps it in .data.rel.ro). -1: none. */
long cw_gopclntab_search(const uint8_t *data, size_t len);

#endif
