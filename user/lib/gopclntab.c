// SPDX-License-Identifier: MIT
#include "gopclntab.h"

#include <errno.h>
#include <string.h>

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v)); /* little-endian: x86_64 reads its own */
	return v;
}

static uint64_t u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * runtime/symtab.go, pcHeader: magic, two zero pads, minLC, ptrSize, then
 * nfunc, nfiles, textStart, funcnameOffset, cuOffset, filetabOffset,
 * pctabOffset, pclnOffset.  At pclnOffset: nfunc+1 pairs {entryOff,
 * funcOff} (uint32), funcOff from pclnOffset to a _func whose first fields
 * are entryOff (uint32) and nameOff (int32, into funcnametab).
 */
int cw_gopclntab_find(const uint8_t *tab, size_t len, uint64_t text_start, const char *name,
		      uint64_t *entry)
{
	uint64_t nfunc, names, pcln;
	size_t want = strlen(name);
	uint32_t magic;

	if (len < CW_GOPCLNTAB_HEADER)
		return -EBADMSG;
	magic = u32(tab);
	if (magic != CW_GOPCLNTAB_MAGIC_118 && magic != CW_GOPCLNTAB_MAGIC_120)
		return -EPROTONOSUPPORT;
	if (tab[4] || tab[5] || tab[7] != 8)
		return -EPROTONOSUPPORT;
	nfunc = u64(tab + 8);
	names = u64(tab + 32);
	pcln = u64(tab + 64);
	if (names < CW_GOPCLNTAB_HEADER || names >= len || pcln < CW_GOPCLNTAB_HEADER ||
	    pcln >= len || nfunc >= len || (nfunc + 1) * 8 > len - pcln)
		return -EBADMSG;
	for (uint64_t i = 0; i < nfunc; i++) {
		const uint8_t *ft = tab + pcln + i * 8;
		uint64_t func = pcln + u32(ft + 4);
		uint64_t at;
		int32_t name_off;

		if (func > len - 8)
			return -EBADMSG;
		/* The _func says its entry again: the two must agree. */
		if (u32(tab + func) != u32(ft))
			return -EBADMSG;
		memcpy(&name_off, tab + func + 4, sizeof(name_off));
		if (name_off < 0 || (uint64_t)name_off >= len - names)
			return -EBADMSG;
		at = names + (uint64_t)name_off;
		/* Names are NUL-terminated; one running past the table is malformed. */
		if (!memchr(tab + at, '\0', len - at))
			return -EBADMSG;
		if (strncmp((const char *)tab + at, name, want + 1) == 0) {
			*entry = text_start + u32(ft);
			return 0;
		}
	}
	return -ENOENT;
}
