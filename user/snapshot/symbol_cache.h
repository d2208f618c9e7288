/* SPDX-License-Identifier: MIT */
/*
 * The symbol server's modules: one libdwfl Dwfl per build-id, kept warm
 * (symbol tables read, DWARF decompressed once looked at), least recently
 * used forgotten first while the process is above its memory bound.
 */
#ifndef CW_SYMBOL_CACHE_H
#define CW_SYMBOL_CACHE_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbol_protocol.h"

/*
 * Each module keeps a Dwfl and two open files (the ELF and its debug
 * file): a cap on their number keeps the server under its fd limit.
 */
#define CW_SYM_MAX_MODULES 256

struct cw_sym_module {
	uint8_t build_id[CW_SYM_BUILD_ID_MAX];
	size_t build_id_len;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	GElf_Addr bias; /* ELF addresses + bias = the module's addresses in dwfl */
	struct cw_sym_module *newer, *older;
};

struct cw_symbol_cache {
	uint64_t bound; /* bytes of RSS */
	struct cw_sym_module *newest, *oldest;
	size_t n;
	uint64_t hits, misses, evictions;
};

void cw_symbol_cache_init(struct cw_symbol_cache *c, uint64_t bound);

/*
 * The module with this build-id: the cached one (*hit set), else loaded
 * from fd, named name (where a .gnu_debuglink is looked for), its debug
 * file found as the snapshot tool finds it.  fd is consumed either way.
 * -ESTALE: the file has another build-id; -EINVAL: not an ELF file;
 * -ENODEV: not a regular file.
 */
int cw_symbol_cache_get(struct cw_symbol_cache *c, const uint8_t *build_id, size_t build_id_len,
			int fd, const char *name, struct cw_sym_module **out, bool *hit);

/*
 * While the process's RSS is above the bound (or too many are cached),
 * forget the least recently used modules, never the most recent one: call
 * it once a request is answered, when what it read (DWARF is read lazily,
 * at the first source line asked) counts.
 */
void cw_symbol_cache_trim(struct cw_symbol_cache *c);

void cw_symbol_cache_free(struct cw_symbol_cache *c);

/* This process's resident set, from /proc/self/statm; 0 when unknown. */
uint64_t cw_rss_bytes(void);

#endif
