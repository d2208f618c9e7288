// SPDX-License-Identifier: MIT
#include "elf_info.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <string.h>

Elf *cw_elf_open(int fd)
{
	Elf *elf;

	/* libelf refuses every call until told the version; telling it twice is harmless. */
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		elf = NULL;
	}
	return elf;
}

int cw_elf_build_id_fd(int fd, uint8_t *id, size_t cap)
{
	const void *bits;
	ssize_t n;
	Elf *elf = cw_elf_open(fd);

	if (!elf)
		return -ENOEXEC;
	n = dwelf_elf_gnu_build_id(elf, &bits);
	if (n > 0) {
		if ((size_t)n > cap)
			n = (ssize_t)cap;
		memcpy(id, bits, (size_t)n);
	}
	elf_end(elf);
	return n < 0 ? -EINVAL : (int)n;
}

int cw_elf_offset_to_vaddr(Elf *elf, uint64_t offset, uint64_t *vaddr)
{
	size_t n;

	if (!elf || elf_getphdrnum(elf, &n) != 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);

		if (!ph || ph->p_type != PT_LOAD)
			continue;
		if (offset >= ph->p_offset && offset < ph->p_offset + ph->p_filesz) {
			*vaddr = offset - ph->p_offset + ph->p_vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

int cw_elf_vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *offset)
{
	size_t n;

	if (elf_getphdrnum(elf, &n) != 0)
		return -ENOEXEC;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);

		if (!ph || ph->p_type != PT_LOAD)
			continue;
		if (vaddr >= ph->p_vaddr && vaddr < ph->p_vaddr + ph->p_filesz) {
			*offset = vaddr - ph->p_vaddr + ph->p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

bool cw_elf_each_symbol(Elf *elf, Elf64_Word sh_type,
			bool (*fn)(void *arg, const GElf_Sym *sym, const char *name), void *arg)
{
	Elf_Scn *scn = NULL;
	bool any = false;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != sh_type || !shdr.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		any = true;
		for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(elf, shdr.sh_link, sym.st_name);
			if (name && fn(arg, &sym, name))
				return true;
		}
	}
	return any;
}

struct named {
	const char *const *names;
	size_t n, left;
	int type;
	uint64_t *vaddrs;
	GElf_Sym *sym;	/* one name: the whole symbol */
	uint64_t found; /* bit k: names[k] found (an address may be 0) */
};

static bool take_named(void *arg, const GElf_Sym *sym, const char *name)
{
	struct named *w = arg;

	if (w->type >= 0 && GELF_ST_TYPE(sym->st_info) != w->type)
		return false;
	for (size_t k = 0; k < w->n; k++)
		if (!(w->found & (1ULL << k)) && strcmp(name, w->names[k]) == 0) {
			w->found |= 1ULL << k;
			w->vaddrs[k] = sym->st_value;
			if (w->sym)
				*w->sym = *sym;
			return --w->left == 0;
		}
	return false;
}

bool cw_elf_symbols_named(Elf *elf, Elf64_Word sh_type, int sym_type, const char *const *names,
			  size_t n, uint64_t *vaddrs)
{
	struct named w = {names, n, 0, sym_type, vaddrs, NULL, 0};

	if (n > 64)
		return false;
	for (size_t k = 0; k < n; k++) {
		if (vaddrs[k])
			w.found |= 1ULL << k;
		else
			w.left++;
	}
	return w.left ? cw_elf_each_symbol(elf, sh_type, take_named, &w) : true;
}

/* The dynamic symbol `name` of type `type`, defined: 0, -ENOENT, -ENOEXEC. */
static int exported(int fd, const char *name, int type, Elf **out, GElf_Sym *found)
{
	uint64_t vaddr = 0;
	struct named w = {&name, 1, 1, type, &vaddr, found, 0};
	Elf *elf;

	elf = cw_elf_open(fd);
	if (!elf)
		return -ENOEXEC;
	/* Not STT_GNU_IFUNC: its address is the resolver, not the function. */
	cw_elf_each_symbol(elf, SHT_DYNSYM, take_named, &w);
	if (w.left) {
		elf_end(elf);
		return -ENOENT;
	}
	*out = elf;
	return 0;
}

int cw_elf_exported_function(int fd, const char *name, uint64_t *offset)
{
	GElf_Sym sym;
	Elf *elf;
	int r = exported(fd, name, STT_FUNC, &elf, &sym);

	if (r < 0)
		return r;
	r = cw_elf_vaddr_to_offset(elf, sym.st_value, offset);
	elf_end(elf);
	return r;
}

int cw_elf_exported_object(int fd, const char *name, uint64_t *vaddr, uint64_t *base)
{
	GElf_Sym sym;
	Elf *elf;
	int r = exported(fd, name, STT_OBJECT, &elf, &sym);

	if (r < 0)
		return r;
	*vaddr = sym.st_value;
	r = cw_elf_offset_to_vaddr(elf, 0, base);
	elf_end(elf);
	return r;
}

char *cw_hex(const uint8_t *bytes, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	out[2 * len] = '\0';
	return out;
}
