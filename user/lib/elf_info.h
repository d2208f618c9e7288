/* SPDX-License-Identifier: MIT */
/* Facts read from ELF files: build-ids, and file offsets turned into addresses. */
#ifndef CW_ELF_INFO_H
#define CW_ELF_INFO_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CW_BUILD_ID_MAX 64

/* The GNU build-id of the ELF file open on fd: its length, 0 if none, or -errno. */
int cw_elf_build_id_fd(int fd, uint8_t *id, size_t cap);

/*
 * The ELF file open on fd, read through a map (libelf told its version),
 * or NULL when it cannot be read or is no ELF file (an archive, a script).
 * elf_end() it.
 */
Elf *cw_elf_open(int fd);

/* The link-time address the file offset is loaded at (via PT_LOAD). 0 or -ENOENT. */
int cw_elf_offset_to_vaddr(Elf *elf, uint64_t offset, uint64_t *vaddr);

/* The file offset of a link-time address, through the PT_LOAD that holds it.  0 or -errno. */
int cw_elf_vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *offset);

/*
 * Where the function `name` that the ELF file open on fd defines and exports
 * (its dynamic symbol table) starts, as a file offset: what a uprobe takes.
 * 0; -ENOENT when the file does not export it; -ENOEXEC when not ELF.
 */
int cw_elf_exported_function(int fd, const char *name, uint64_t *offset);

/*
 * The link-time address of the data object `name` that the ELF file open on
 * fd exports (dynamic symbol table), and the one its file offset 0 is loaded
 * at: the object lives at vaddr - base past where offset 0 is mapped.  0;
 * -ENOENT; -ENOEXEC when not ELF.
 */
int cw_elf_exported_object(int fd, const char *name, uint64_t *vaddr, uint64_t *base);

/*
 * Call fn with each defined, named symbol of elf's tables of sh_type
 * (SHT_SYMTAB or SHT_DYNSYM), until fn returns true.  Whether elf has such a
 * table at all.
 */
bool cw_elf_each_symbol(Elf *elf, Elf64_Word sh_type,
			bool (*fn)(void *arg, const GElf_Sym *sym, const char *name), void *arg);

/*
 * The addresses of the symbols named names[0..n) of type sym_type (-1: any)
 * in elf's tables of sh_type, into vaddrs where still 0.  As above.
 */
bool cw_elf_symbols_named(Elf *elf, Elf64_Word sh_type, int sym_type, const char *const *names,
			  size_t n, uint64_t *vaddrs);

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
char *cw_hex(const uint8_t *bytes, size_t len, char *out);

#endif
