// SPDX-License-Identifier: MIT
#include "symbol_cache.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debug_dirs.h"

/* As the snapshot tool finds debug files (unwind.c): build-id, then debuglink. */
static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = cw_find_debuginfo_bounded,
	.debuginfo_path = &cw_debuginfo_path,
};

void cw_symbol_cache_init(struct cw_symbol_cache *c, uint64_t bound)
{
	*c = (struct cw_symbol_cache){.bound = bound};
}

uint64_t cw_rss_bytes(void)
{
	unsigned long long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	return n == 2 ? (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

static void unlink_module(struct cw_symbol_cache *c, struct cw_sym_module *m)
{
	if (m->newer)
		m->newer->older = m->older;
	else
		c->newest = m->older;
	if (m->older)
		m->older->newer = m->newer;
	else
		c->oldest = m->newer;
	m->newer = m->older = NULL;
}

static void push_newest(struct cw_symbol_cache *c, struct cw_sym_module *m)
{
	m->older = c->newest;
	m->newer = NULL;
	if (c->newest)
		c->newest->newer = m;
	c->newest = m;
	if (!c->oldest)
		c->oldest = m;
}

static void free_module(struct cw_sym_module *m)
{
	if (m->dwfl)
		dwfl_end(m->dwfl);
	free(m);
}

void cw_symbol_cache_trim(struct cw_symbol_cache *c)
{
	while (c->n > 1 && (c->n > CW_SYM_MAX_MODULES || cw_rss_bytes() > c->bound)) {
		struct cw_sym_module *m = c->oldest;

		unlink_module(c, m);
		free_module(m);
		c->n--;
		c->evictions++;
		/* Freed DWARF sits in malloc's heap until trimmed: RSS would not drop. */
		malloc_trim(0);
	}
}

static int load(const uint8_t *build_id, size_t build_id_len, int fd, const char *name,
		struct cw_sym_module **out)
{
	struct cw_sym_module *m;
	const unsigned char *bits;
	GElf_Addr vaddr;
	struct stat st;
	int n;

	/* libelf reads what it cannot map: a pipe or a device would hold the server up. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENODEV;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->dwfl = dwfl_begin(&callbacks))) {
		free(m);
		close(fd);
		return -ENOMEM;
	}
	dwfl_report_begin(m->dwfl);
	/* ELF addresses as they are in the file: the client sends pc minus its load bias. */
	m->mod = dwfl_report_elf(m->dwfl, name, name, fd, 0, true);
	dwfl_report_end(m->dwfl, NULL, NULL);
	if (!m->mod) {
		close(fd); /* consumed only on success */
		free_module(m);
		return -EINVAL;
	}
	n = dwfl_module_build_id(m->mod, &bits, &vaddr);
	if (n <= 0 || (size_t)n != build_id_len || memcmp(bits, build_id, build_id_len) != 0) {
		free_module(m);
		return -ESTALE;
	}
	if (!dwfl_module_getelf(m->mod, &m->bias)) {
		free_module(m);
		return -EINVAL;
	}
	memcpy(m->build_id, build_id, build_id_len);
	m->build_id_len = build_id_len;
	*out = m;
	return 0;
}

int cw_symbol_cache_get(struct cw_symbol_cache *c, const uint8_t *build_id, size_t build_id_len,
			int fd, const char *name, struct cw_sym_module **out, bool *hit)
{
	struct cw_sym_module *m;
	int r;

	*hit = false;
	for (m = c->newest; m; m = m->older)
		if (m->build_id_len == build_id_len &&
		    memcmp(m->build_id, build_id, build_id_len) == 0) {
			if (fd >= 0)
				close(fd);
			unlink_module(c, m);
			push_newest(c, m);
			c->hits++;
			*hit = true;
			*out = m;
			return 0;
		}
	if (fd < 0)
		return -EBADF;
	r = load(build_id, build_id_len, fd, name, &m);
	if (r < 0)
		return r;
	push_newest(c, m);
	c->n++;
	c->misses++;
	*out = m;
	return 0;
}

void cw_symbol_cache_free(struct cw_symbol_cache *c)
{
	while (c->oldest) {
		struct cw_sym_module *m = c->oldest;

		unlink_module(c, m);
		free_module(m);
	}
	c->n = 0;
}
