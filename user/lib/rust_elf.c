// SPDX-License-Identifier: MIT
#include "rust_elf.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "elf_info.h"

bool cw_rust_is_panic_hook_symbol(const char *name)
{
	static const char legacy[] = "_ZN3std9panicking20rust_panic_with_hook";

	if (strncmp(name, legacy, sizeof(legacy) - 1) == 0)
		return name[sizeof(legacy) - 1] == '1' || name[sizeof(legacy) - 1] == 'E';
	/* v0: "_RNv…3std9panicking20rust_panic_with_hook", crate disambiguators between. */
	return strncmp(name, "_R", 2) == 0 && strstr(name, "9panicking20rust_panic_with_hook") &&
	       strstr(name, "3std");
}

struct found {
	uint64_t hook, panic;
	bool panic_abort, any_symbols;
};

static bool take_panic_symbol(void *arg, const GElf_Sym *sym, const char *name)
{
	struct found *f = arg;

	if (GELF_ST_TYPE(sym->st_info) != STT_FUNC || !sym->st_value)
		return false;
	if (!f->hook && cw_rust_is_panic_hook_symbol(name))
		f->hook = sym->st_value;
	else if (!f->panic && strcmp(name, "rust_panic") == 0)
		f->panic = sym->st_value;
	/* The panic_abort crate's own functions: -C panic=abort. */
	else if (strncmp(name, "_ZN11panic_abort", 16) == 0 ||
		 (strncmp(name, "_R", 2) == 0 && strstr(name, "11panic_abort")))
		f->panic_abort = true;
	return false;
}

/* One pass over the symbol table: the two functions, and which panic runtime is linked. */
static void scan_symtab(Elf *elf, struct found *f)
{
	if (cw_elf_each_symbol(elf, SHT_SYMTAB, take_panic_symbol, f))
		f->any_symbols = true;
}

static bool lookup_debug_file(Elf *elf, const char *const *dirs, size_t n_dirs, struct found *f)
{
	static const char *const fallback[] = {"/usr/lib/debug"};
	uint8_t id[CW_BUILD_ID_MAX];
	char hex[2 * CW_BUILD_ID_MAX + 1], path[4096];
	const void *note;
	ssize_t len;

	len = dwelf_elf_gnu_build_id(elf, &note);
	if (len < 2 || (size_t)len > sizeof(id))
		return false;
	memcpy(id, note, (size_t)len);
	cw_hex(id, (size_t)len, hex);
	for (size_t i = 0; i < n_dirs + 1; i++) {
		const char *dir = i < n_dirs ? dirs[i] : fallback[0];
		Elf *dbg;
		int fd;

		snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", dir, hex, hex + 2);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		dbg = cw_elf_open(fd);
		if (dbg)
			scan_symtab(dbg, f);
		elf_end(dbg);
		close(fd);
		if (f->hook)
			return true;
	}
	return false;
}

int cw_rust_panic_points(int fd, const char *const *debug_dirs, size_t n_dirs,
			 struct cw_rust_panic_points *out)
{
	struct found f = {0};
	int r = -ENOENT;
	Elf *elf;

	memset(out, 0, sizeof(*out));
	elf = cw_elf_open(fd);
	if (!elf)
		return -ENOEXEC;
	scan_symtab(elf, &f);
	if (!f.hook && (out->from_debug_file = lookup_debug_file(elf, debug_dirs, n_dirs, &f)))
		f.any_symbols = true;
	/* Offsets from the executable's own program headers: the debug file's are alike. */
	if (f.hook && cw_elf_vaddr_to_offset(elf, f.hook, &out->hook) == 0) {
		r = 0;
		if (f.panic && cw_elf_vaddr_to_offset(elf, f.panic, &out->panic) < 0)
			out->panic = 0;
		out->abort = f.panic_abort;
	}
	elf_end(elf);
	return r;
}
