// SPDX-License-Identifier: MIT
#include "go_binary.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "elf_info.h"

#define BUILDINFO_MAGIC "\xff Go buildinf:"
#define MAX_ALLGS	(1u << 24)
#define MAX_NOPTRDATA	(16u << 20)

/*
 * Go 1.19 (amd64), from the DWARF of a go1.19.8 build (Debian 12's
 * golang-go) and runtime/runtime2.go of that release.  Other versions need
 * their DWARF: their layouts were not checked here.
 */
static const struct cw_go_layout layout_119 = {
	.g_stack_lo = 0,
	.g_stack_hi = 8,
	.g_m = 48,
	.g_sched_sp = 56,
	.g_sched_pc = 64,
	.g_sched_bp = 104,
	.g_syscallsp = 112,
	.g_syscallpc = 120,
	.g_atomicstatus = 144,
	.g_goid = 152,
	.g_waitreason = 176,
	.g_gopc = 296,
	.g_startpc = 312,
	.m_procid = 72,
	.m_curg = 192,
	.panic_arg = 8,
	.type_tflag = 20,
	.type_str = 40,
	.moduledata_types = 280,
};

bool cw_go_peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = {buf, len}, r = {(void *)(uintptr_t)addr, len};

	return addr && process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)len;
}

static Elf_Scn *section(Elf *e, const char *name, GElf_Shdr *sh)
{
	size_t shstr;
	Elf_Scn *s = NULL;

	if (elf_getshdrstrndx(e, &shstr) < 0)
		return NULL;
	while ((s = elf_nextscn(e, s))) {
		const char *n;

		if (!gelf_getshdr(s, sh))
			continue;
		n = elf_strptr(e, shstr, sh->sh_name);
		if (n && strcmp(n, name) == 0)
			return s;
	}
	return NULL;
}

/* A section's bytes inside the mapped file; NULL when it has none there. */
static const uint8_t *section_bytes(const struct cw_go_binary *b, const GElf_Shdr *sh)
{
	if (sh->sh_type == SHT_NOBITS || sh->sh_offset > b->map_len ||
	    sh->sh_size > b->map_len - sh->sh_offset)
		return NULL;
	return b->map + sh->sh_offset;
}

/* .go.buildinfo (Go 1.18+: the version inline, after a 32-byte header). */
static int read_version(struct cw_go_binary *b, Elf *e)
{
	GElf_Shdr sh;
	const uint8_t *p;
	size_t n, len = 0;
	int shift = 0;

	if (!section(e, ".go.buildinfo", &sh) || !(p = section_bytes(b, &sh)) || sh.sh_size < 33 ||
	    memcmp(p, BUILDINFO_MAGIC, 14) != 0 || !(p[15] & 2))
		return -ENOEXEC;
	for (n = 32; n < sh.sh_size && n < 37; n++) {
		len |= (size_t)(p[n] & 0x7f) << shift;
		shift += 7;
		if (!(p[n] & 0x80))
			break;
	}
	n++;
	if (len == 0 || len >= sizeof(b->version) || n + len > sh.sh_size)
		return -ENOEXEC;
	memcpy(b->version, p + n, len);
	b->version[len] = 0;
	if (sscanf(b->version, "go%d.%d", &b->major, &b->minor) != 2)
		return -ENOEXEC;
	return 0;
}

/* ---- layouts from DWARF ---------------------------------------------------- */

struct want {
	const char *type, *member;
	uint32_t *out;
	bool found;
};

static bool member_offset(Dwarf_Die *st, const char *name, uint32_t *out)
{
	Dwarf_Die m;

	if (dwarf_child(st, &m) != 0)
		return false;
	do {
		Dwarf_Attribute a;
		Dwarf_Word off;
		const char *n = dwarf_diename(&m);

		if (dwarf_tag(&m) == DW_TAG_member && n && strcmp(n, name) == 0 &&
		    dwarf_attr(&m, DW_AT_data_member_location, &a) &&
		    dwarf_formudata(&a, &off) == 0 && off < (1u << 16)) {
			*out = (uint32_t)off;
			return true;
		}
	} while (dwarf_siblingof(&m, &m) == 0);
	return false;
}

static int layout_from_dwarf(Elf *e, struct cw_go_layout *l)
{
	uint32_t gobuf_sp = 0, gobuf_pc = 0, gobuf_bp = 0, stack_lo = 0, stack_hi = 0, g_sched = 0,
		 g_stack = 0;
	struct want w[] = {
		{"runtime.g", "sched", &g_sched, false},
		{"runtime.g", "stack", &g_stack, false},
		{"runtime.g", "syscallsp", &l->g_syscallsp, false},
		{"runtime.g", "syscallpc", &l->g_syscallpc, false},
		{"runtime.g", "m", &l->g_m, false},
		{"runtime.g", "atomicstatus", &l->g_atomicstatus, false},
		{"runtime.g", "goid", &l->g_goid, false},
		{"runtime.g", "waitreason", &l->g_waitreason, false},
		{"runtime.g", "gopc", &l->g_gopc, false},
		{"runtime.g", "startpc", &l->g_startpc, false},
		{"runtime.gobuf", "sp", &gobuf_sp, false},
		{"runtime.gobuf", "pc", &gobuf_pc, false},
		{"runtime.gobuf", "bp", &gobuf_bp, false},
		{"runtime.stack", "lo", &stack_lo, false},
		{"runtime.stack", "hi", &stack_hi, false},
		{"runtime.m", "procid", &l->m_procid, false},
		{"runtime.m", "curg", &l->m_curg, false},
		{"runtime._panic", "arg", &l->panic_arg, false},
		{"runtime._type", "tflag", &l->type_tflag, false},
		{"runtime._type", "str", &l->type_str, false},
		{"runtime.moduledata", "types", &l->moduledata_types, false},
	};
	size_t nw = sizeof(w) / sizeof(w[0]), left = nw, hsize;
	Dwarf *dw = dwarf_begin_elf(e, DWARF_C_READ, NULL);
	Dwarf_Off off = 0, next;

	if (!dw)
		return -ENOENT;
	while (left && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, d;

		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &d) == 0) {
			do {
				const char *n;

				if (dwarf_tag(&d) != DW_TAG_structure_type ||
				    !(n = dwarf_diename(&d)))
					continue;
				for (size_t i = 0; i < nw; i++)
					if (!w[i].found && strcmp(w[i].type, n) == 0 &&
					    member_offset(&d, w[i].member, w[i].out)) {
						w[i].found = true;
						left--;
					}
			} while (left && dwarf_siblingof(&d, &d) == 0);
		}
		off = next;
	}
	dwarf_end(dw);
	if (left)
		return -ENOENT;
	l->g_sched_sp = g_sched + gobuf_sp;
	l->g_sched_pc = g_sched + gobuf_pc;
	l->g_sched_bp = g_sched + gobuf_bp;
	l->g_stack_lo = g_stack + stack_lo;
	l->g_stack_hi = g_stack + stack_hi;
	return 0;
}

/* ---- where things are in the process ------------------------------------- */

static uint64_t symbol(Elf *e, const char *name)
{
	GElf_Shdr sh;
	Elf_Scn *s = section(e, ".symtab", &sh);
	Elf_Data *d;
	size_t n;

	if (!s || !(d = elf_getdata(s, NULL)) || !sh.sh_entsize)
		return 0;
	n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *sn;

		if (gelf_getsym(d, (int)i, &sym) && (sn = elf_strptr(e, sh.sh_link, sym.st_name)) &&
		    strcmp(sn, name) == 0)
			return sym.st_value;
	}
	return 0;
}

/* The load bias: where the file's offset-0 segment is mapped, against its address. */
static int load_bias(struct cw_go_binary *b, Elf *e, const struct cw_maps *maps)
{
	struct stat st;
	GElf_Ehdr eh;
	size_t nph;

	if (!gelf_getehdr(e, &eh) || fstat(b->fd, &st) < 0 || elf_getphdrnum(e, &nph) < 0)
		return -EINVAL;
	if (eh.e_type == ET_EXEC)
		return 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD || ph.p_offset != 0)
			continue;
		for (size_t j = 0; j < maps->n; j++)
			if (maps->v[j].inode == st.st_ino && maps->v[j].pgoff == 0) {
				b->bias = maps->v[j].start - (ph.p_vaddr & ~0xfffULL);
				return 0;
			}
	}
	return -ENOENT;
}

/*
 * runtime.allgs without a symbol table: runtime.allgadd appends to it, so
 * its code holds its address as a RIP-relative displacement.  Every 32-bit
 * displacement in the function that lands in .bss is a candidate; the one
 * whose slice's first g is goroutine 1 (the main goroutine, the first ever
 * added) is it.
 */
static uint64_t allgs_from_code(struct cw_go_binary *b, Elf *e)
{
	struct cw_gofunc f;
	GElf_Shdr text, bss;
	const uint8_t *code;

	if (!cw_gopclntab_find(&b->pcln, "runtime.allgadd", &f) || !section(e, ".text", &text) ||
	    !section(e, ".bss", &bss) || !(code = section_bytes(b, &text)) ||
	    f.entry < text.sh_addr || f.end - text.sh_addr > text.sh_size || f.end - f.entry > 4096)
		return 0;
	code += f.entry - text.sh_addr;
	for (uint64_t i = 0; i + 4 <= f.end - f.entry; i++) {
		int32_t disp;
		uint64_t at, s[3], g0, goid;

		memcpy(&disp, code + i, 4);
		at = f.entry + i + 4 + (uint64_t)(int64_t)disp;
		if (at < bss.sh_addr || at >= bss.sh_addr + bss.sh_size || (at & 7))
			continue;
		at += b->bias;
		if (cw_go_peek(b->pid, at, s, sizeof(s)) && s[0] && !(s[0] & 7) && s[1] &&
		    s[1] <= s[2] && s[2] <= MAX_ALLGS && cw_go_peek(b->pid, s[0], &g0, 8) &&
		    cw_go_peek(b->pid, g0 + b->layout.g_goid, &goid, 8) && goid == 1)
			return at;
	}
	return 0;
}

/*
 * moduledata.types without a symbol table: firstmoduledata (in
 * .noptrdata) starts with a pointer to the pclntab's header.
 */
static uint64_t types_base(struct cw_go_binary *b, Elf *e, uint64_t pcheader)
{
	uint64_t md = symbol(e, "runtime.firstmoduledata"), types = 0;
	GElf_Shdr sh;

	if (md) {
		md += b->bias;
	} else if (section(e, ".noptrdata", &sh) && sh.sh_size <= MAX_NOPTRDATA) {
		uint64_t *words = malloc(sh.sh_size);
		size_t n = sh.sh_size / 8;

		if (words && cw_go_peek(b->pid, sh.sh_addr + b->bias, words, n * 8))
			for (size_t i = 0; i < n && !md; i++)
				if (words[i] == pcheader)
					md = sh.sh_addr + b->bias + 8 * i;
		free(words);
	}
	if (md && cw_go_peek(b->pid, md + b->layout.moduledata_types, &types, 8))
		return types;
	return 0;
}

static int find_pclntab(struct cw_go_binary *b, Elf *e, uint64_t *file_addr)
{
	GElf_Shdr sh, text;
	const uint8_t *p;
	uint64_t sym = symbol(e, "runtime.pclntab");
	Elf_Scn *s = NULL;

	if (!section(e, ".text", &text))
		return -ENOEXEC;
	if (section(e, ".gopclntab", &sh) && (p = section_bytes(b, &sh))) {
		*file_addr = sh.sh_addr;
		return cw_gopclntab_init(&b->pcln, p, sh.sh_size, text.sh_addr);
	}
	/* A PIE keeps it in .data.rel.ro: there by its symbol, or by its magic. */
	while ((s = elf_nextscn(e, s))) {
		long at;

		if (!gelf_getshdr(s, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_ALLOC) || (sh.sh_flags & SHF_EXECINSTR) ||
		    !(p = section_bytes(b, &sh)))
			continue;
		if (sym) {
			if (sym < sh.sh_addr || sym >= sh.sh_addr + sh.sh_size)
				continue;
			at = (long)(sym - sh.sh_addr);
		} else if ((at = cw_gopclntab_search(p, sh.sh_size)) < 0) {
			continue;
		}
		*file_addr = sh.sh_addr + (uint64_t)at;
		return cw_gopclntab_init(&b->pcln, p + at, sh.sh_size - (size_t)at, text.sh_addr);
	}
	return -ENOEXEC;
}

/*
 * The running g's place from the thread pointer, amd64: a Go program linked
 * without libc sets each thread's fs base itself (runtime.settls), its g in
 * the word below it; linked with libc, its g is the executable's TLS block,
 * right below the thread pointer too when that block holds only g.
 */
static int32_t g_tls_offset(Elf *e)
{
	bool interp = false, only_g = false;
	GElf_Ehdr eh;
	size_t nph;

	if (!gelf_getehdr(e, &eh) || eh.e_machine != EM_X86_64 || elf_getphdrnum(e, &nph) < 0)
		return 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph))
			return 0;
		if (ph.p_type == PT_INTERP)
			interp = true;
		if (ph.p_type == PT_TLS)
			only_g = ph.p_memsz == 8 && ph.p_align <= 8;
	}
	return !interp || only_g ? -8 : 0;
}

int cw_go_binary_open(int proc_dir, pid_t pid, const struct cw_maps *maps, struct cw_go_binary *b,
		      char *err, size_t cap)
{
	struct stat st;
	Elf *e = NULL;
	uint64_t pcln_addr = 0, allgs;
	struct cw_gofunc f;
	int r;

	memset(b, 0, sizeof(*b));
	b->pid = pid;
	b->fd = openat(proc_dir, "exe", O_RDONLY | O_CLOEXEC);
	if (b->fd < 0 || fstat(b->fd, &st) < 0 || st.st_size < 64)
		return -ENOEXEC;
	b->map_len = (size_t)st.st_size;
	b->map = mmap(NULL, b->map_len, PROT_READ, MAP_PRIVATE, b->fd, 0);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		return -ENOEXEC;
	}
	/* Not elf_memory() on the read-only map: libdw decompresses Go's DWARF in place. */
	e = cw_elf_open(b->fd);
	if (!e || read_version(b, e) < 0) {
		r = -ENOEXEC;
		goto out;
	}
	r = find_pclntab(b, e, &pcln_addr);
	if (r < 0) {
		snprintf(err, cap, "its .gopclntab (%s) could not be read", b->version);
		r = -EINVAL;
		goto out;
	}
	/*
	 * The built-in table first where it is known: this runs while the
	 * process is held, and Go's compressed DWARF takes ~10 ms to open.
	 */
	if (b->major == 1 && b->minor == 19) {
		b->layout = layout_119;
		b->layout_from = "table";
	} else if (layout_from_dwarf(e, &b->layout) == 0) {
		b->layout_from = "dwarf";
	} else {
		snprintf(err, cap,
			 "%s without DWARF: the runtime's struct layouts of that version are not "
			 "known (Go 1.19 is)",
			 b->version);
		r = -ENOTSUP;
		goto out;
	}
	r = load_bias(b, e, maps);
	if (r < 0) {
		snprintf(err, cap, "where the executable is mapped is not known");
		goto out;
	}
	allgs = symbol(e, "runtime.allgs");
	b->allgs_from = "symtab";
	if (allgs) {
		b->allgs = allgs + b->bias;
	} else {
		b->allgs = allgs_from_code(b, e);
		b->allgs_from = "code";
	}
	if (!b->allgs) {
		snprintf(err, cap, "runtime.allgs could not be found");
		r = -ENOENT;
		goto out;
	}
	if (cw_gopclntab_find(&b->pcln, "runtime.fatalpanic", &f))
		b->fatalpanic = f.entry + b->bias;
	b->types = types_base(b, e, pcln_addr + b->bias);
	b->g_tls = g_tls_offset(e);
	r = 0;
out:
	elf_end(e);
	return r;
}

void cw_go_binary_free(struct cw_go_binary *b)
{
	if (b->map)
		munmap((void *)b->map, b->map_len);
	if (b->fd >= 0)
		close(b->fd);
	memset(b, 0, sizeof(*b));
	b->fd = -1;
}

bool cw_go_symbolize(const struct cw_go_binary *b, uint64_t pc, struct cw_gofunc *f,
		     const char **file, int *line)
{
	*file = NULL;
	*line = 0;
	if (!cw_gopclntab_func(&b->pcln, pc - b->bias, f))
		return false;
	if (!cw_gopclntab_line(&b->pcln, f, pc - b->bias, file, line))
		*file = NULL;
	return true;
}
