/* SPDX-License-Identifier: MIT */
/*
 * Go executables, told from other ELF files by their .go.buildinfo section
 * (Go >= 1.13, kept by -s -w), and where their runtime's functions start.
 */
#ifndef CW_GO_ELF_H
#define CW_GO_ELF_H

#include <stddef.h>
#include <stdint.h>

/*
 * For each of the n function names, its entry as a file offset (what a
 * uprobe takes) in the Go executable open on fd, 0 when it has none: from
 * the symbol table, else (-s -w) from .gopclntab.  0; -ENOEXEC when not
 * ELF; -ENOENT when not a Go executable; -EPROTONOSUPPORT when its function
 * table is of a Go before 1.18 and a name is not in a symbol table.
 */
int cw_go_elf_functions(int fd, const char *const *names, size_t n, uint64_t *offsets);

#endif
