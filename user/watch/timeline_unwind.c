// SPDX-License-Identifier: MIT
#include "timeline_unwind.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* DWARF register numbers of x86_64. */
#define DW_RBP 6
#define DW_RSP 7

struct cw_tl_unwinder {
	Dwfl *dwfl;
	pid_t pid;
	const struct cw_tl_record *cur; /* the record being unwound */
	/* What the frame callback collected. */
	uint64_t pcs[CW_TL_UNWIND_MAX];
	uint64_t sps[CW_TL_UNWIND_MAX]; /* 0: unknown */
	size_t n;
};

/* The process's files as it sees them: through /proc/PID/root. */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	struct cw_tl_unwinder *u = *userdata;
	char path[4200];
	int fd;

	if (u && name[0] == '/') {
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)u->pid, name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			*file_name = strdup(path);
			return fd;
		}
	}
	return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
}

/* CFI from .eh_frame only: no debug file is looked for. */
static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, GElf_Addr base,
			const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
			char **debuginfo_file_name)
{
	(void)mod;
	(void)userdata;
	(void)modname;
	(void)base;
	(void)file_name;
	(void)debuglink_file;
	(void)debuglink_crc;
	(void)debuginfo_file_name;
	return -1;
}

static const Dwfl_Callbacks callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = no_debuginfo,
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)arg;
	(void)thread_argp;
	return 0; /* only asked for by tid */
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct cw_tl_unwinder *u = arg;

	(void)dwfl;
	*thread_argp = u;
	return u->cur && (pid_t)u->cur->tid == tid;
}

/*
 * The record's memory: the copied top of the stack, and the two words the
 * walk read at each frame pointer.  Nothing else: the stack has changed
 * since.
 */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	const struct cw_tl_record *r = ((struct cw_tl_unwinder *)arg)->cur;

	(void)dwfl;
	if (addr >= r->sp && addr - r->sp + sizeof(*result) <= r->stack_len) {
		memcpy(result, r->stack + (addr - r->sp), sizeof(*result));
		return true;
	}
	for (unsigned i = 0; i < r->nframes; i++) {
		if (addr == r->frames[i].fp + 8) {
			*result = r->frames[i].ret;
			return true;
		}
		if (addr == r->frames[i].fp && i + 1 < r->nframes) {
			*result = r->frames[i + 1].fp;
			return true;
		}
	}
	return false;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct cw_tl_record *r = ((struct cw_tl_unwinder *)thread_arg)->cur;
	Dwarf_Word regs[2] = {r->bp, r->sp};

	if (!dwfl_thread_state_registers(thread, DW_RBP, 2, regs))
		return false;
	dwfl_thread_state_register_pc(thread, r->ip);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

static int give_unwinder(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
			 void *arg)
{
	(void)mod;
	(void)name;
	(void)start;
	*userdata = arg;
	return DWARF_CB_OK;
}

struct cw_tl_unwinder *cw_tl_unwinder_new(pid_t pid)
{
	struct cw_tl_unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->pid = pid;
	u->dwfl = dwfl_begin(&callbacks);
	if (!u->dwfl)
		goto fail;
	dwfl_report_begin(u->dwfl);
	if (dwfl_linux_proc_report(u->dwfl, pid) != 0) {
		dwfl_report_end(u->dwfl, NULL, NULL);
		goto fail;
	}
	dwfl_report_end(u->dwfl, NULL, NULL);
	dwfl_getmodules(u->dwfl, give_unwinder, u, 0);
	if (!dwfl_attach_state(u->dwfl, NULL, pid, &thread_callbacks, u))
		goto fail;
	return u;
fail:
	cw_tl_unwinder_free(u);
	return NULL;
}

void cw_tl_unwinder_free(struct cw_tl_unwinder *u)
{
	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	free(u);
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct cw_tl_unwinder *u = arg;
	Dwarf_Addr pc;
	Dwarf_Word sp;

	if (u->n == CW_TL_UNWIND_MAX || !dwfl_frame_pc(state, &pc, NULL))
		return DWARF_CB_ABORT;
	u->pcs[u->n] = pc;
	u->sps[u->n] = dwfl_frame_reg(state, DW_RSP, &sp) == 0 ? sp : 0;
	u->n++;
	return DWARF_CB_OK;
}

size_t cw_tl_unwind(struct cw_tl_unwinder *u, const struct cw_tl_record *r, uint64_t *pcs,
		    size_t cap)
{
	uint64_t last_sp = r->sp;
	size_t n = 0;

	if (!cap)
		return 0;
	pcs[n++] = r->ip;
	if (u) {
		u->cur = r;
		u->n = 0;
		dwfl_getthread_frames(u->dwfl, (pid_t)r->tid, frame_cb, u);
		u->cur = NULL;
		/* Up to the last frame whose stack pointer is known: the walk goes on from there.
		 */
		for (size_t i = 1; i < u->n && u->sps[i] && n < cap; i++) {
			pcs[n++] = u->pcs[i];
			last_sp = u->sps[i];
		}
	}
	/* The walk's frames above it: a caller's stack pointer is its frame pointer + 16. */
	for (unsigned i = 0; i < r->nframes && n < cap; i++)
		if (r->frames[i].fp + 16 > last_sp)
			pcs[n++] = r->frames[i].ret;
	return n;
}

const char *cw_tl_unwinder_function(struct cw_tl_unwinder *u, uint64_t pc, bool return_address)
{
	Dwarf_Addr at = return_address ? pc - 1 : pc;
	Dwfl_Module *mod;

	if (!u)
		return NULL;
	mod = dwfl_addrmodule(u->dwfl, at);
	return mod ? dwfl_module_addrname(mod, at) : NULL;
}
