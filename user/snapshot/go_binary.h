/* SPDX-License-Identifier: MIT */
/*
 * What a Go executable says about its runtime, read before the process is
 * stopped: its Go version (.go.buildinfo), the layouts of the runtime's
 * structs (from its DWARF, else a table per Go version), its .gopclntab, and
 * where runtime.allgs and runtime.firstmoduledata are in the running process
 * (its symbol table, else found and verified in the process itself).
 */
#ifndef CW_GO_BINARY_H
#define CW_GO_BINARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "go_pclntab.h"
#include "proc_maps.h"

/* Offsets (bytes) of the runtime's struct fields this tool reads. */
struct cw_go_layout {
	uint32_t g_stack_lo, g_stack_hi, g_sched_sp, g_sched_pc, g_sched_bp, g_syscallsp,
		g_syscallpc, g_m, g_atomicstatus, g_goid, g_waitreason, g_gopc, g_startpc;
	uint32_t m_procid, m_curg;
	uint32_t panic_arg;
	uint32_t type_tflag, type_str;
	uint32_t moduledata_types;
};

struct cw_go_binary {
	pid_t pid;
	int fd;
	const uint8_t *map; /* the executable's bytes */
	size_t map_len;
	char version[32]; /* "go1.19.8" */
	int major, minor;
	struct cw_go_layout layout;
	const char *layout_from; /* "dwarf", "table" */
	struct cw_gopclntab pcln;
	uint64_t bias;		/* runtime address - file address */
	uint64_t allgs;		/* runtime address of the []*g; 0: not found */
	uint64_t types;		/* moduledata.types: the base of type names; 0: not found */
	uint64_t fatalpanic;	/* runtime address of runtime.fatalpanic's entry; 0: none */
	const char *allgs_from; /* "symtab", "code" */
	/* Where a thread's running g is, from its thread pointer (amd64); 0: not known. */
	int32_t g_tls;
};

/*
 * Read the executable of the process (proc_dir's exe) while it runs.
 * 0; -ENOEXEC when it is no Go program (or one older than Go 1.18); other
 * -errno with err set (a Go program this tool cannot read).
 */
int cw_go_binary_open(int proc_dir, pid_t pid, const struct cw_maps *maps, struct cw_go_binary *b,
		      char *err, size_t cap);
void cw_go_binary_free(struct cw_go_binary *b);

/* Function, file and line of a runtime address (file, line: NULL/0 when unknown). */
bool cw_go_symbolize(const struct cw_go_binary *b, uint64_t pc, struct cw_gofunc *f,
		     const char **file, int *line);

/* Read target memory; false unless all len bytes were read. */
bool cw_go_peek(pid_t pid, uint64_t addr, void *buf, size_t len);

#endif
