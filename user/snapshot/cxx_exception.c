// SPDX-License-Identifier: MIT
#include "cxx_exception.h"

#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "demangle.h"
#include "elf_info.h"
#include "module_open.h"

#define GNU_CXX_CLASS	    0x474e5543432b2b00ULL /* "GNUCC++\0", as GCC makes it */
#define HEADER_UNWIND	    80			  /* offsetof(__cxa_exception, unwindHeader) */
#define HEADER_SIZE	    112			  /* sizeof(__cxa_exception): the object follows */
#define TLS_DTV_UNALLOCATED ((uint64_t)-1)

static bool is_libstdcxx(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strncmp(base, "libstdc++.so", 12) == 0;
}

int cw_cxx_decode_get_globals(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *got,
			      uint64_t *add)
{
	size_t at;

	for (at = 0; at + 7 <= len && at < 24; at++)
		if (code[at] == 0x48 && code[at + 1] == 0x8d && code[at + 2] == 0x3d)
			break;
	if (at + 7 > len || at >= 24)
		return -ENOEXEC;
	{
		int32_t disp;

		memcpy(&disp, code + at + 3, sizeof(disp));
		*got = vaddr + at + 7 + (int64_t)disp;
	}
	*add = 0;
	/* The call (e8 rel32, or ff 15 through the GOT), then an add to rax or a ret. */
	for (at += 7; at + 6 <= len; at++) {
		if (code[at] == 0xc3)
			break;
		if (code[at] == 0x48 && code[at + 1] == 0x05) {
			int32_t imm;

			memcpy(&imm, code + at + 2, sizeof(imm));
			*add = (uint64_t)(int64_t)imm;
			break;
		}
	}
	return 0;
}

int cw_cxx_exception_locate(pid_t pid, const struct cw_maps *maps, struct cw_cxx_exception *x)
{
	static const char *const names[] = {"__cxa_get_globals",
					    "_ZTVN10__cxxabiv120__si_class_type_infoE",
					    "_ZTVN10__cxxabiv121__vmi_class_type_infoE"};
	const struct cw_mapping *lib = NULL;
	uint64_t vaddrs[3] = {0}, base, off, got, add;
	uint8_t code[48];
	int fd, r = -ENOENT;
	Elf *elf;

	memset(x, 0, sizeof(*x));
	fd = cw_module_open_mapped(pid, maps, is_libstdcxx, &lib);
	if (fd < 0)
		return fd;
	elf = cw_elf_open(fd);
	r = -ENOEXEC;
	if (!elf || cw_elf_offset_to_vaddr(elf, 0, &base) < 0)
		goto out;
	cw_elf_symbols_named(elf, SHT_DYNSYM, -1, names, 3, vaddrs);
	r = -ENOENT;
	if (!vaddrs[0] || cw_elf_vaddr_to_offset(elf, vaddrs[0], &off) < 0)
		goto out;
	r = -EIO;
	if (pread(fd, code, sizeof(code), (off_t)off) != (ssize_t)sizeof(code))
		goto out;
	r = cw_cxx_decode_get_globals(code, sizeof(code), vaddrs[0], &got, &add);
	if (r < 0)
		goto out;
	x->tls_index = lib->start + (got - base);
	x->tls_add = add;
	/* The vtable's address points past its offset-to-top and type_info: + 16. */
	if (vaddrs[1])
		x->si_vtable = lib->start + (vaddrs[1] - base) + 16;
	if (vaddrs[2])
		x->vmi_vtable = lib->start + (vaddrs[2] - base) + 16;
	r = 0;
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return r;
}

static bool peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};

	return addr && process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

static bool peek_u64(pid_t pid, uint64_t addr, uint64_t *v)
{
	return peek(pid, addr, v, sizeof(*v));
}

/* A NUL-terminated string of at most cap - 1 bytes, read in pieces that stay on a page. */
static bool peek_str(pid_t pid, uint64_t addr, char *out, size_t cap)
{
	size_t got = 0;

	while (got + 1 < cap) {
		size_t n = 4096 - ((addr + got) & 4095);

		if (n > cap - 1 - got)
			n = cap - 1 - got;
		if (!peek(pid, addr + got, out + got, n))
			return false;
		out[got + n] = 0;
		if (memchr(out + got, 0, n))
			return out[0] != 0;
		got += n;
	}
	out[cap - 1] = 0;
	return got > 0;
}

enum base_found {
	NOT_STD,
	STD_EXCEPTION,
	STORES_MESSAGE, /* runtime_error or logic_error, at *offset in the object */
};

/* Walk the type's bases (through its type_info's kind) for what() kept in the object. */
static enum base_found find_base(pid_t pid, const struct cw_cxx_exception *x, uint64_t ti,
				 int depth, int64_t *offset)
{
	uint64_t vptr, name_ptr, base;
	enum base_found best = NOT_STD;
	char name[64];

	if (depth > 8 || !peek_u64(pid, ti + 8, &name_ptr) || !peek_str(pid, name_ptr, name, 64))
		return NOT_STD;
	if (strcmp(name, "St13runtime_error") == 0 || strcmp(name, "St11logic_error") == 0)
		return STORES_MESSAGE;
	if (strcmp(name, "St9exception") == 0)
		return STD_EXCEPTION;
	if (!peek_u64(pid, ti, &vptr))
		return NOT_STD;
	if (x->si_vtable && vptr == x->si_vtable)
		return peek_u64(pid, ti + 16, &base) ? find_base(pid, x, base, depth + 1, offset)
						     : NOT_STD;
	if (x->vmi_vtable && vptr == x->vmi_vtable) {
		uint32_t count;

		if (!peek(pid, ti + 20, &count, sizeof(count)))
			return NOT_STD;
		for (uint32_t i = 0; i < count && i < 16; i++) {
			struct {
				uint64_t type;
				int64_t offset_flags; /* offset << 8, 1 virtual, 2 public */
			} b;
			int64_t inner = 0;
			enum base_found f;

			if (!peek(pid, ti + 24 + 16 * (uint64_t)i, &b, sizeof(b)))
				break;
			if (b.offset_flags & 1) /* a virtual base's offset is in the vtable */
				continue;
			f = find_base(pid, x, b.type, depth + 1, &inner);
			if (f == STORES_MESSAGE) {
				*offset += (b.offset_flags >> 8) + inner;
				return f;
			}
			if (f > best)
				best = f;
		}
	}
	return best;
}

void cw_cxx_exception_read(pid_t pid, uint64_t fs_base, struct cw_cxx_exception *x)
{
	uint64_t modid, tls_off, dtv, block, header, cls, ti, name_ptr, obj, chars, len;
	int64_t offset = 0;

	x->found = x->foreign = x->std_exception = x->has_message = false;
	x->type[0] = 0;
	if (!x->tls_index || !fs_base)
		return;
	/* glibc's x86_64 TCB: the DTV at fs:8; a DTV entry is 16 bytes, the block first. */
	if (!peek_u64(pid, x->tls_index, &modid) || !peek_u64(pid, x->tls_index + 8, &tls_off) ||
	    !peek_u64(pid, fs_base + 8, &dtv) || !modid || modid > 1 << 16 ||
	    !peek_u64(pid, dtv + 16 * modid, &block) || !block || block == TLS_DTV_UNALLOCATED ||
	    !peek_u64(pid, block + tls_off + x->tls_add, &header) || !header)
		return;
	if (!peek_u64(pid, header + HEADER_UNWIND, &cls))
		return;
	x->found = true;
	if ((cls >> 8) != (GNU_CXX_CLASS >> 8)) {
		x->foreign = true;
		return;
	}
	/* A dependent exception (std::rethrow_exception): the primary object comes first. */
	if ((cls & 0xff) == 1) {
		if (!peek_u64(pid, header, &obj) || !obj)
			return;
		header = obj - HEADER_SIZE;
	}
	obj = header + HEADER_SIZE;
	if (!peek_u64(pid, header, &ti) || !ti || !peek_u64(pid, ti + 8, &name_ptr) ||
	    !peek_str(pid, name_ptr, x->type, sizeof(x->type)))
		return;
	switch (find_base(pid, x, ti, 0, &offset)) {
	case NOT_STD:
		return;
	case STD_EXCEPTION:
		x->std_exception = true;
		return;
	case STORES_MESSAGE:
		x->std_exception = true;
		break;
	}
	/* The __cow_string: the characters, its _Rep (length, capacity, refcount) before them. */
	if (!peek_u64(pid, obj + (uint64_t)offset + 8, &chars) || !peek_u64(pid, chars - 24, &len))
		return;
	if (len > CW_CXX_MESSAGE_MAX)
		len = CW_CXX_MESSAGE_MAX;
	while (len && !peek(pid, chars, x->message, len))
		len /= 2;
	x->message[len] = 0;
	x->has_message = true;
}

bool cw_cxx_terminating(const char *const *functions, size_t n)
{
	static const char *const prefixes[] = {
		"std::terminate()",
		"__cxxabiv1::__terminate(",
		"__gnu_cxx::__verbose_terminate_handler()",
		"__cxa_call_terminate",
		"__cxa_throw",
		"__cxa_rethrow",
		"std::rethrow_exception(",
	};

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; functions[i] && k < sizeof(prefixes) / sizeof(prefixes[0]); k++)
			if (strncmp(functions[i], prefixes[k], strlen(prefixes[k])) == 0)
				return true;
	return false;
}

void cw_cxx_type_name(const char *mangled, char *out, size_t cap)
{
	char *d;

	/* A type local to a function is named "*N…": the '*' only says it is unique. */
	if (mangled[0] == '*')
		mangled++;
	d = cw_demangle_type(mangled);
	snprintf(out, cap, "%s", d ? d : mangled);
	free(d);
}
