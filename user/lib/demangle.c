// SPDX-License-Identifier: MIT
#include "demangle.h"

#include <libiberty/demangle.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct cw_demangled {
	const char *raw; /* NULL: free slot */
	char *name;	 /* NULL: not mangled */
};

char *cw_demangle(const char *sym)
{
	char *d;

	if (!sym || !*sym)
		return NULL;
	/* Only the manglings asked for: "_Z…" (C++, Rust legacy) and "_R…" (Rust v0). */
	if (sym[0] != '_' || (sym[1] != 'Z' && sym[1] != 'R'))
		return NULL;
	/*
	 * DMGL_RUST alone answers only Rust: legacy Rust names are Itanium ones
	 * too, so Rust is asked first (as DMGL_AUTO does), then C++.
	 */
	d = cplus_demangle(sym, DMGL_PARAMS | DMGL_ANSI | DMGL_RUST);
	if (!d && sym[1] == 'Z')
		d = cplus_demangle(sym, DMGL_PARAMS | DMGL_ANSI | DMGL_GNU_V3);
	if (d && strcmp(d, sym) == 0) {
		free(d);
		return NULL;
	}
	return d;
}

char *cw_demangle_type(const char *name)
{
	if (!name || !*name)
		return NULL;
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_TYPES | DMGL_GNU_V3);
}

static size_t slot(const struct cw_demangle_cache *c, const char *sym)
{
	size_t h = (size_t)(((uintptr_t)sym * 0x9e3779b97f4a7c15ULL) >> 20) & (c->cap - 1);

	while (c->v[h].raw && c->v[h].raw != sym)
		h = (h + 1) & (c->cap - 1);
	return h;
}

static int grow(struct cw_demangle_cache *c)
{
	size_t cap = c->cap ? 2 * c->cap : 64;
	struct cw_demangle_cache n = {.v = calloc(cap, sizeof(*n.v)), .cap = cap};

	if (!n.v)
		return -1;
	for (size_t i = 0; i < c->cap; i++)
		if (c->v[i].raw)
			n.v[slot(&n, c->v[i].raw)] = c->v[i];
	n.n = c->n;
	free(c->v);
	*c = n;
	return 0;
}

const char *cw_demangle_cached(struct cw_demangle_cache *c, const char *sym, const char **raw)
{
	struct cw_demangled *e;
	char *name;

	*raw = NULL;
	if (!sym)
		return NULL;
	if (c->cap) {
		e = &c->v[slot(c, sym)];
		if (e->raw) {
			*raw = e->name ? sym : NULL;
			return e->name ? e->name : sym;
		}
	}
	name = cw_demangle(sym);
	if ((c->n + 1) * 2 > c->cap && grow(c) < 0) {
		free(name);
		return sym;
	}
	e = &c->v[slot(c, sym)];
	*e = (struct cw_demangled){.raw = sym, .name = name};
	c->n++;
	*raw = name ? sym : NULL;
	return name ? name : sym;
}

void cw_demangle_cache_free(struct cw_demangle_cache *c)
{
	for (size_t i = 0; i < c->cap; i++)
		free(c->v[i].name);
	free(c->v);
	*c = (struct cw_demangle_cache){0};
}
