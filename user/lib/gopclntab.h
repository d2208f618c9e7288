/* SPDX-License-Identifier: MIT */
/*
 * Go's function table (.gopclntab), the layout of Go 1.18 and later: what
 * names a Go executable's functions when it has no symbol table (-s -w).
 * Only the lookup of a function's entry by name; strict: every offset is
 * checked against the table's bytes.
 */
#ifndef CW_GOPCLNTAB_H
#define CW_GOPCLNTAB_H

#include <stddef.h>
#include <stdint.h>

#define CW_GOPCLNTAB_MAGIC_118 0xfffffff0u /* Go 1.18, 1.19 */
#define CW_GOPCLNTAB_MAGIC_120 0xfffffff1u /* Go 1.20 and later: the same header */
#define CW_GOPCLNTAB_HEADER    72	   /* 8 bytes, then 8 words of 8 bytes */

/*
 * The entry address of the function `name` in the table tab (len bytes),
 * for a module whose text starts at text_start (the .text section's
 * address: the header's own textStart is relocated at run time in a PIE).
 * 0; -ENOENT when no function has that name; -EPROTONOSUPPORT for another
 * layout (before Go 1.18, or not 64-bit); -EBADMSG when malformed.
 */
int cw_gopclntab_find(const uint8_t *tab, size_t len, uint64_t text_start, const char *name,
		      uint64_t *entry);

#endif
