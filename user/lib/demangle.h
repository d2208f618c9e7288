/* SPDX-License-Identifier: MIT */
/*
 * C++ (Itanium) and Rust (legacy and v0) symbol names made readable, by
 * libiberty's demangler (the one binutils and gdb use).
 */
#ifndef CW_DEMANGLE_H
#define CW_DEMANGLE_H

#include <stddef.h>

/* sym demangled, malloc'd; NULL when sym is NULL, not mangled, or on no memory. */
char *cw_demangle(const char *sym);

/*
 * A type's mangled name as std::type_info::name() gives it ("St13runtime_error",
 * "i") made readable ("std::runtime_error", "int"), malloc'd; NULL when it is not one.
 */
char *cw_demangle_type(const char *name);

/*
 * Demangled names remembered by the address of the raw name, for raw names
 * that stay put while the cache lives (libdwfl's, until dwfl_end).
 */
struct cw_demangle_cache {
	struct cw_demangled *v; /* open addressing, cap a power of two */
	size_t n, cap;
};

/*
 * The name to show for sym: its demangled form, owned by c, or sym itself
 * when not mangled (or out of memory).  *raw gets sym when the two differ,
 * else NULL.
 */
const char *cw_demangle_cached(struct cw_demangle_cache *c, const char *sym, const char **raw);
void cw_demangle_cache_free(struct cw_demangle_cache *c);

#endif
