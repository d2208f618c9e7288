// SPDX-License-Identifier: MIT
#include "remote_symbols.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbol_client.h"

/* Long enough for a cold module's DWARF; the tool's --timeout bounds the whole run anyway. */
#define SERVER_TIMEOUT_MS 10000

struct module_ask {
	struct cw_remote_symbols *rs;
	const uint64_t *ats; /* the process's addresses of this module */
	bool oom;
};

static void on_answer(void *arg, size_t i, uint64_t function_offset, const char *function,
		      const char *file, int line)
{
	struct module_ask *a = arg;
	struct cw_remote_symbols *rs = a->rs;
	struct cw_remote_answer x = {
		.at = a->ats[i], .function_offset = function_offset, .line = line};

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 256;
		struct cw_remote_answer *nv = realloc(rs->v, cap * sizeof(*nv));

		if (!nv) {
			a->oom = true;
			return;
		}
		rs->v = nv;
		rs->cap = cap;
	}
	x.function = function ? strdup(function) : NULL;
	x.file = file ? strdup(file) : NULL;
	if ((function && !x.function) || (file && !x.file)) {
		free(x.function);
		free(x.file);
		a->oom = true;
		return;
	}
	rs->v[rs->n++] = x;
}

/* Ask about ats[0..n), all in mod.  -errno when the server is no more to be asked. */
static int ask_module(struct cw_remote_symbols *rs, struct cw_symbol_client *c, Dwfl_Module *mod,
		      const struct cw_module_source *src, const uint64_t *ats, size_t n,
		      bool source_lines)
{
	const unsigned char *bits;
	const char *path = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	struct module_ask a = {.rs = rs, .ats = ats};
	uint64_t *elf_addrs = NULL;
	GElf_Addr vaddr, bias;
	char *name = NULL;
	int id_len, fd = -1, r = 0;

	id_len = dwfl_module_build_id(mod, &bits, &vaddr);
	/* No build-id, no file of its own ([vdso]): the tool looks it up itself. */
	if (id_len <= 0 || !path || path[0] != '/' || !dwfl_module_getelf(mod, &bias))
		return 0;
	fd = cw_module_open(src, path, &name);
	if (fd < 0)
		return 0;
	elf_addrs = malloc(n * sizeof(*elf_addrs));
	if (elf_addrs) {
		for (size_t i = 0; i < n; i++)
			elf_addrs[i] = ats[i] - bias;
		r = cw_symbol_client_lookup(c, bits, (size_t)id_len, name, fd, source_lines,
					    elf_addrs, n, on_answer, &a);
	}
	free(elf_addrs);
	free(name);
	close(fd);
	return c->fd < 0 ? (r < 0 ? r : -EPROTO) : 0;
}

void cw_remote_symbols_ask(struct cw_remote_symbols *rs, const char *sock_path, Dwfl *dwfl,
			   const struct cw_module_source *src, const uint64_t *ats, size_t n,
			   bool source_lines)
{
	struct cw_symbol_client c = {.fd = -1};
	size_t i = 0;
	int r;

	if (n == 0)
		return;
	r = cw_symbol_client_connect(&c, sock_path, SERVER_TIMEOUT_MS);
	while (r == 0 && i < n) {
		Dwfl_Module *mod = dwfl_addrmodule(dwfl, ats[i]);
		size_t j = i + 1;

		/* ats are sorted and a module's addresses are one range: one run per module. */
		while (j < n && dwfl_addrmodule(dwfl, ats[j]) == mod)
			j++;
		if (mod)
			r = ask_module(rs, &c, mod, src, ats + i, j - i, source_lines);
		i = j;
	}
	cw_symbol_client_close(&c);
	if (r < 0) {
		rs->failed = true;
		fprintf(stderr,
			"crashwatch-snapshot: failed to ask the symbol server %s: %s; symbolizing "
			"locally\n",
			sock_path, strerror(-r));
	}
}

static int by_at(const void *key, const void *elem)
{
	uint64_t at = *(const uint64_t *)key;
	const struct cw_remote_answer *e = elem;

	return at < e->at ? -1 : at > e->at;
}

const struct cw_remote_answer *cw_remote_symbols_find(const struct cw_remote_symbols *rs,
						      uint64_t at)
{
	return rs->n ? bsearch(&at, rs->v, rs->n, sizeof(*rs->v), by_at) : NULL;
}

void cw_remote_symbols_free(struct cw_remote_symbols *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->v[i].function);
		free(rs->v[i].file);
	}
	free(rs->v);
	*rs = (struct cw_remote_symbols){0};
}
