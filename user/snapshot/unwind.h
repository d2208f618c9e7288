/* SPDX-License-Identifier: MIT */
/*
 * Unwind threads with libdwfl (CFI, through signal frames; frame pointers
 * where CFI is missing) and symbolize the frames: from a ptrace capture of
 * a live process, or from a core file.
 */
#ifndef CW_UNWIND_H
#define CW_UNWIND_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ptrace_capture.h"
#include "remote_symbols.h"

#define CW_UNWIND_MAX_FRAMES 256

struct cw_frame_info {
	uint64_t pc;
	bool activation;      /* pc is exact (first frame, or interrupted by a signal) */
	const char *function; /* demangled; strings live as long as the unwinder */
	const char *symbol;   /* the raw (mangled) name; NULL when function is it */
	uint64_t function_offset;
	const char *module;
	uint64_t module_offset; /* pc - module load address */
	const char *build_id;	/* hex, owned by the unwinder */
	const char *file;
	int line;
};

struct cw_unwound_thread {
	pid_t tid;
	struct cw_frame_info *frames;
	size_t n;
	bool frame_cap_hit;
	char *error;	   /* why unwinding stopped early, when it found no frame at all */
	uint64_t regs[17]; /* DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip */
	bool has_regs;
};

struct cw_module_info {
	const char *path;
	uint64_t start;
	uint64_t end;
	const char *build_id;
};

#define CW_SYMBOL_CACHE 4096 /* a power of two */

struct cw_symbol_cache_entry {
	uint64_t at; /* the address looked up; 0: empty */
	struct cw_frame_info info;
};

/* What a live process's modules carry as libdwfl userdata. */
struct cw_proc_modules {
	const struct cw_module_source *source;
	/*
	 * While unwinding with a symbol server: no separate debug file for a
	 * module that has .eh_frame, whose CFI is all unwinding needs; else
	 * libdwfl's fallback to .debug_frame would decompress its DWARF.
	 */
	bool cfi_only;
};

/* Zero it and set source_lines (and symbolizer) before unwinding. */
struct cw_unwinder {
	bool source_lines;	/* file:line too (reads DWARF: the slow part) */
	const char *symbolizer; /* a symbol server's socket (live processes), or NULL */
	Dwfl *dwfl;
	struct cw_proc_modules proc_modules;
	struct cw_remote_symbols remote;
	struct cw_unwound_thread *threads;
	size_t n;
	struct cw_module_info *modules;
	size_t n_modules;
	char **strings; /* owned hex strings */
	size_t n_strings;
	/* libdwfl looks symbols up by a linear scan: threads share most pcs. */
	struct cw_symbol_cache_entry *symbol_cache;
	int core_fd;
	void *core_elf;
	/* From a core: what the notes say about the process. */
	pid_t core_pid, core_ppid;
	uid_t core_uid;
	gid_t core_gid;
	int core_signal;
	char core_comm[17];
	char core_args[81];
	char core_note[160]; /* what a cut-short core lacks, for capture.notes; "" when whole */
};

/* Unwind every captured thread of a live (now detached) process.  0 or -errno; err set. */
int cw_unwind_capture(struct cw_unwinder *u, const struct cw_capture *c, char *err, size_t cap);

/* Unwind every thread in a core file (fd: a file or a pipe read to the end). */
int cw_unwind_core(struct cw_unwinder *u, int fd, const char *exe, char *err, size_t cap);

/* Frees everything; source_lines and symbolizer are kept. */
void cw_unwinder_free(struct cw_unwinder *u);

#endif
