// SPDX-License-Identifier: MIT
#include "rust_panic.h"

#include <gelf.h>
#include <string.h>
#include <sys/uio.h>

#include "eh_catch.h"

static bool peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};

	return addr && process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* len bytes of a str at ptr into out (cap bytes, NUL-terminated), cut at the bound. */
static bool read_str(pid_t pid, uint64_t ptr, uint64_t len, char *out, size_t cap)
{
	if (!ptr || len == 0)
		return false;
	if (len > cap - 1)
		len = cap - 1;
	/* The tail of a bounded read may cross into an unmapped page: halve until it reads. */
	while (len && !peek(pid, ptr, out, len))
		len /= 2;
	out[len] = 0;
	return len > 0;
}

void cw_rust_panic_read(pid_t pid, struct cw_rust_panic *p)
{
	struct {
		uint64_t ptr, len;
		uint32_t line, col;
	} loc;
	uint64_t words[4], size;

	p->has_location = p->has_message = false;
	if (p->location && peek(pid, p->location, &loc, sizeof(loc)) && loc.len < 1 << 16 &&
	    loc.line && read_str(pid, loc.ptr, loc.len, p->file, sizeof(p->file))) {
		p->has_location = true;
		p->line = loc.line;
		p->column = loc.col;
	}
	if (!p->payload || !peek(pid, p->vtable + 8, &size, sizeof(size)))
		return;
	if (size != 16 && size != 24 && size != 32)
		return;
	if (!peek(pid, p->payload, words, (size_t)size))
		return;
	switch (size) {
	case 16: /* &'static str: pointer, length */
		p->has_message = read_str(pid, words[0], words[1], p->message, sizeof(p->message));
		break;
	case 24: /* String: pointer, capacity, length (None: a null pointer) */
		p->has_message = words[2] <= words[1] &&
				 read_str(pid, words[0], words[2], p->message, sizeof(p->message));
		break;
	case 32: /* FormatStringPayload: &Arguments, then Option<String> */
		p->has_message = words[3] <= words[2] &&
				 read_str(pid, words[1], words[3], p->message, sizeof(p->message));
		break;
	}
}

static bool starts(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool cw_rust_panic_caught(const char *const *functions, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *f = functions[i];

		if (starts(f, "std::rt::lang_start_internal"))
			return false;
		if ((f && strcmp(f, "__rust_try") == 0) || starts(f, "std::panicking::try") ||
		    starts(f, "std::panic::catch_unwind"))
			return true;
	}
	return false;
}

/* A module's .eh_frame and .gcc_except_table, as libdwfl has its file. */
struct eh_tables {
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	struct cw_eh_section frame, except;
};

static void section(Elf *elf, size_t shstrndx, const char *want, struct cw_eh_section *out)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!name || strcmp(name, want) != 0 || !(d = elf_getdata(scn, NULL)) || !d->d_buf)
			continue;
		*out = (struct cw_eh_section){d->d_buf, d->d_size, shdr.sh_addr};
		return;
	}
}

static int frame_catches(Dwfl *dwfl, uint64_t pc, struct eh_tables *cache, size_t *n_cache)
{
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, pc);
	struct eh_tables *e = NULL;

	if (!mod)
		return 0;
	for (size_t i = 0; i < *n_cache; i++)
		if (cache[i].mod == mod)
			e = &cache[i];
	if (!e) {
		Elf *elf;
		size_t shstrndx;

		if (*n_cache == 16)
			return 0;
		e = &cache[(*n_cache)++];
		*e = (struct eh_tables){.mod = mod};
		elf = dwfl_module_getelf(mod, &e->bias);
		if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
			section(elf, shstrndx, ".eh_frame", &e->frame);
			section(elf, shstrndx, ".gcc_except_table", &e->except);
		}
	}
	return cw_eh_catches(&e->frame, &e->except, pc - e->bias);
}

bool cw_rust_panic_caught_at(const struct cw_unwinder *u, const struct cw_unwound_thread *t,
			     const char *const *functions, size_t n)
{
	struct eh_tables cache[16];
	size_t n_cache = 0;

	for (size_t i = 0; t && i < t->n && i < n; i++) {
		const char *f = functions[i];
		uint64_t pc = t->frames[i].pc;

		if (starts(f, "std::rt::lang_start_internal"))
			return false;
		if ((f && strcmp(f, "__rust_try") == 0) || starts(f, "std::panicking::try") ||
		    starts(f, "std::panic::catch_unwind"))
			return true;
		/* A return address is past its call: the call site is the byte before. */
		if (u->dwfl && pc &&
		    frame_catches(u->dwfl, t->frames[i].activation ? pc : pc - 1, cache,
				  &n_cache) == 1)
			return true;
	}
	return false;
}
