// SPDX-License-Identifier: MIT
#include "go_elf.h"

#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <string.h>

#include "elf_info.h"
#include "go_pclntab.h"

struct go_sections {
	Elf_Scn *pclntab;
	uint64_t text;
	bool go;
};

/* The entry of function name in Go's own table: 0, -ENOENT (no such function), -EBADMSG. */
static int pclntab_entry(const uint8_t *tab, size_t len, uint64_t text, const char *name,
			 uint64_t *entry)
{
	struct cw_gopclntab t;
	struct cw_gofunc f;

	if (cw_gopclntab_init(&t, tab, len, text) < 0)
		return -EBADMSG;
	if (!cw_gopclntab_find(&t, name, &f))
		return -ENOENT;
	*entry = f.entry;
	return 0;
}

static void find_sections(Elf *elf, size_t shstrndx, struct go_sections *s)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		const char *name;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!name)
			continue;
		if (strcmp(name, ".go.buildinfo") == 0)
			s->go = true;
		else if (strcmp(name, ".text") == 0)
			s->text = shdr.sh_addr;
		/* A PIE's table is relocated data: it moves to .data.rel.ro. */
		else if (strcmp(name, ".gopclntab") == 0 ||
			 strcmp(name, ".data.rel.ro.gopclntab") == 0)
			s->pclntab = scn;
	}
}

int cw_go_elf_functions(int fd, const char *const *names, size_t n, uint64_t *offsets)
{
	struct go_sections s = {0};
	uint64_t vaddrs[8] = {0};
	size_t shstrndx;
	int r = 0;
	Elf *elf;

	if (n > sizeof(vaddrs) / sizeof(vaddrs[0]))
		return -EINVAL;
	elf = cw_elf_open(fd);
	if (!elf)
		return -ENOEXEC;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0) {
		elf_end(elf);
		return -ENOEXEC;
	}
	find_sections(elf, shstrndx, &s);
	if (!s.go) {
		elf_end(elf);
		return -ENOENT;
	}
	cw_elf_symbols_named(elf, SHT_SYMTAB, STT_FUNC, names, n, vaddrs);
	for (size_t k = 0; k < n && r == 0; k++) {
		Elf_Data *d;

		if (vaddrs[k])
			continue;
		if (!s.pclntab || !s.text || !(d = elf_getdata(s.pclntab, NULL)) || !d->d_buf) {
			r = -ENOENT;
			break;
		}
		r = pclntab_entry(d->d_buf, d->d_size, s.text, names[k], &vaddrs[k]);
		if (r == -ENOENT) /* this runtime has no such function: another is probed */
			r = 0;
	}
	for (size_t k = 0; k < n && r == 0; k++) {
		offsets[k] = 0;
		if (vaddrs[k] && cw_elf_vaddr_to_offset(elf, vaddrs[k], &offsets[k]) < 0)
			offsets[k] = 0;
	}
	elf_end(elf);
	return r;
}
