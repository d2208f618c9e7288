// SPDX-License-Identifier: MIT
#include "unwind.h"

#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#include "debug_dirs.h"
#include "demangle.h"
#include "dwfl_lookup.h"
#include "elf_info.h"

/* libelf's and libdwfl's last error, or what to say when they set none. */
static const char *elf_error(const char *none)
{
	int e = elf_errno();

	return e ? elf_errmsg(e) : none;
}

static const char *dwfl_error(const char *none)
{
	int e = dwfl_errno();
	const char *msg = e ? dwfl_errmsg(e) : NULL;

	return msg ? msg : none;
}

/*
 * A live process's files as it sees them (module_open.h): its path may name
 * another file here, or none, when it runs in another mount namespace.
 */
static int proc_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
			 char **file_name, Elf **elfp)
{
	const struct cw_proc_modules *pm = *userdata;
	const struct cw_module_source *s = pm ? pm->source : NULL;
	size_t n = strlen(name);
	int fd;

	if (!s || name[0] != '/')
		return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
	fd = cw_module_open(s, name, file_name);
	if (fd >= 0)
		return fd;
	/* A file deleted since it was mapped: libdwfl reads its image from the process. */
	if (n > 10 && strcmp(name + n - 10, " (deleted)") == 0)
		return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
	return -1;
}

static int give_source(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		       void *arg)
{
	(void)mod;
	(void)name;
	(void)start;
	*userdata = arg;
	return DWARF_CB_OK;
}

static int proc_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			       GElf_Addr base, const char *file_name, const char *debuglink_file,
			       GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	const struct cw_proc_modules *pm = *userdata;
	Dwarf_Addr bias;

	if (pm && pm->cfi_only && dwfl_module_eh_cfi(mod, &bias))
		return -1;
	return cw_find_debuginfo_bounded(mod, userdata, modname, base, file_name, debuglink_file,
					 debuglink_crc, debuginfo_file_name);
}

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = proc_find_elf,
	.find_debuginfo = proc_find_debuginfo,
	.debuginfo_path = &cw_debuginfo_path,
};

static const Dwfl_Callbacks core_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = cw_find_debuginfo_bounded,
	.debuginfo_path = &cw_debuginfo_path,
};

struct capture_state {
	const struct cw_capture *c;
	size_t next;
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct capture_state *s = arg;

	(void)dwfl;
	while (s->next < s->c->n) {
		const struct cw_thread_capture *t = &s->c->threads[s->next++];

		if (t->captured) {
			*thread_argp = (void *)t;
			return t->tid;
		}
	}
	return 0;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct capture_state *s = arg;

	(void)dwfl;
	for (size_t i = 0; i < s->c->n; i++)
		if (s->c->threads[i].tid == tid && s->c->threads[i].captured) {
			*thread_argp = (void *)&s->c->threads[i];
			return true;
		}
	return false;
}

/* From the stack copies; anything else (code, data) from the process, which runs again. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct capture_state *s = arg;
	struct iovec local = {result, sizeof(*result)};
	struct iovec remote = {(void *)(uintptr_t)addr, sizeof(*result)};

	(void)dwfl;
	if (cw_capture_read(s->c, addr, result, sizeof(*result)))
		return true;
	return process_vm_readv(s->c->pid, &local, 1, &remote, 1, 0) == sizeof(*result);
}

static void dwarf_regs(const struct user_regs_struct *r, Dwarf_Word *out)
{
	const unsigned long long v[17] = {r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi,
					  r->rbp, r->rsp, r->r8,  r->r9,  r->r10, r->r11,
					  r->r12, r->r13, r->r14, r->r15, r->rip};

	for (int i = 0; i < 17; i++)
		out[i] = v[i];
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct cw_thread_capture *t = thread_arg;
	Dwarf_Word regs[17];

	dwarf_regs(&t->regs, regs);
	if (!dwfl_thread_state_registers(thread, 0, 16, regs))
		return false;
	dwfl_thread_state_register_pc(thread, regs[16]);
	return true;
}

static const Dwfl_Thread_Callbacks capture_thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

static const char *keep(struct cw_unwinder *u, char *s)
{
	char **nv;

	if (!s)
		return NULL;
	nv = realloc(u->strings, (u->n_strings + 1) * sizeof(*nv));
	if (!nv) {
		free(s);
		return NULL;
	}
	u->strings = nv;
	u->strings[u->n_strings++] = s;
	return s;
}

static const char *module_build_id(struct cw_unwinder *u, Dwfl_Module *mod)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &bits, &vaddr);
	char *hex;

	if (n <= 0)
		return NULL;
	hex = malloc(2 * (size_t)n + 1);
	return hex ? keep(u, cw_hex(bits, (size_t)n, hex)) : NULL;
}

static void lookup_symbol(struct cw_unwinder *u, Dwarf_Addr at, struct cw_frame_info *f)
{
	Dwfl_Module *mod = dwfl_addrmodule(u->dwfl, at);
	const struct cw_remote_answer *a = cw_remote_symbols_find(&u->remote, at);
	struct cw_code_location loc;
	Dwarf_Addr start;

	if (!mod)
		return;
	f->module = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
	f->module_offset = at - start; /* adjusted by the caller */
	f->build_id = module_build_id(u, mod);
	if (a)
		loc = (struct cw_code_location){.function = a->function,
						.function_offset = a->function_offset,
						.file = a->file,
						.line = a->line};
	else
		cw_dwfl_lookup(mod, at, u->source_lines, &loc);
	/* The one place the tool's names (its own libdwfl's or the server's) are demangled. */
	f->function = loc.function ? keep(u, cw_demangle(loc.function)) : NULL;
	if (f->function)
		f->symbol = loc.function;
	else
		f->function = loc.function;
	f->function_offset = loc.function_offset;
	f->file = loc.file;
	f->line = loc.line;
}

static void symbolize(struct cw_unwinder *u, struct cw_frame_info *f)
{
	/* A return address points after the call: look up the call itself. */
	Dwarf_Addr at = f->activation ? f->pc : f->pc - 1;
	struct cw_symbol_cache_entry *e = NULL;
	struct cw_frame_info info = {0};
	uint64_t delta = f->pc - at;

	if (!u->symbol_cache)
		u->symbol_cache = calloc(CW_SYMBOL_CACHE, sizeof(*u->symbol_cache));
	if (u->symbol_cache) {
		size_t h = (size_t)((at * 0x9e3779b97f4a7c15ULL) >> 52) & (CW_SYMBOL_CACHE - 1);

		e = &u->symbol_cache[h];
		if (e->at == at) {
			info = e->info;
			goto found;
		}
	}
	lookup_symbol(u, at, &info);
	if (e) {
		e->at = at;
		e->info = info;
	}
found:
	info.pc = f->pc;
	info.activation = f->activation;
	info.module_offset += delta;
	if (info.function)
		info.function_offset += delta;
	*f = info;
}

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct cw_unwound_thread *t = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (t->n == CW_UNWIND_MAX_FRAMES) {
		t->frame_cap_hit = true;
		return DWARF_CB_ABORT;
	}
	t->frames[t->n++] = (struct cw_frame_info){.pc = pc, .activation = activation};
	return DWARF_CB_OK;
}

static void unwind_thread(struct cw_unwinder *u, pid_t tid, Dwfl_Thread *thread)
{
	struct cw_unwound_thread *t = &u->threads[u->n++];
	int r;

	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->frames = calloc(CW_UNWIND_MAX_FRAMES, sizeof(*t->frames));
	if (!t->frames)
		return;
	r = thread ? dwfl_thread_getframes(thread, frame_cb, t)
		   : dwfl_getthread_frames(u->dwfl, tid, frame_cb, t);
	/* Reaching the outermost frame also ends with an error: only none at all counts. */
	if (r < 0 && t->n == 0)
		t->error = strdup(dwfl_error("no frame could be unwound"));
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Every address the frames look up, each once, in order. */
static uint64_t *lookup_addresses(const struct cw_unwinder *u, size_t *n)
{
	size_t total = 0, k = 0;
	uint64_t *v;

	for (size_t i = 0; i < u->n; i++)
		total += u->threads[i].n;
	v = malloc((total ? total : 1) * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < u->n; i++)
		for (size_t j = 0; j < u->threads[i].n; j++) {
			const struct cw_frame_info *f = &u->threads[i].frames[j];

			v[k++] = f->activation ? f->pc : f->pc - 1;
		}
	qsort(v, k, sizeof(*v), by_value);
	*n = 0;
	for (size_t i = 0; i < k; i++)
		if (i == 0 || v[i] != v[i - 1])
			v[(*n)++] = v[i];
	return v;
}

/* Collect PCs first, symbolize after: the server is asked once per module. */
static void symbolize_threads(struct cw_unwinder *u, const struct cw_module_source *src)
{
	if (u->symbolizer && src) {
		size_t n;
		uint64_t *ats = lookup_addresses(u, &n);

		if (ats)
			cw_remote_symbols_ask(&u->remote, u->symbolizer, u->dwfl, src, ats, n,
					      u->source_lines);
		free(ats);
	}
	for (size_t i = 0; i < u->n; i++)
		for (size_t j = 0; j < u->threads[i].n; j++)
			symbolize(u, &u->threads[i].frames[j]);
}

static int module_cb(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		     void *arg)
{
	struct cw_unwinder *u = arg;
	struct cw_module_info *nv = realloc(u->modules, (u->n_modules + 1) * sizeof(*nv));
	Dwarf_Addr end;

	(void)userdata;
	if (!nv)
		return DWARF_CB_ABORT;
	u->modules = nv;
	/*
	 * A module no frame fell in was never opened, and libdwfl knows its
	 * build-id only from its ELF: open it (mapped, no DWARF read).
	 */
	if (!dwfl_module_getelf(mod, &(GElf_Addr){0})) {
		/* not found: no build-id, said as null */
	}
	dwfl_module_info(mod, NULL, NULL, &end, NULL, NULL, NULL, NULL);
	u->modules[u->n_modules++] = (struct cw_module_info){
		.path = name, .start = start, .end = end, .build_id = module_build_id(u, mod)};
	return DWARF_CB_OK;
}

int cw_unwind_capture(struct cw_unwinder *u, const struct cw_capture *c, char *err, size_t cap)
{
	struct capture_state *s;
	int r;

	u->core_fd = -1;
	u->dwfl = dwfl_begin(&proc_callbacks);
	if (!u->dwfl) {
		snprintf(err, cap, "failed to start libdwfl: %s", dwfl_error("out of memory"));
		return -ENOMEM;
	}
	dwfl_report_begin(u->dwfl);
	if (c->maps) {
		/* The mappings as they were while stopped: the process may be gone by now. */
		FILE *f = fmemopen(c->maps, strlen(c->maps), "r");

		r = f ? dwfl_linux_proc_maps_report(u->dwfl, f) : errno;
		if (f)
			fclose(f);
	} else {
		r = dwfl_linux_proc_report(u->dwfl, c->pid);
	}
	dwfl_report_end(u->dwfl, NULL, NULL);
	if (r != 0) {
		snprintf(err, cap, "failed to read the modules of %d: %s", (int)c->pid,
			 r > 0 ? strerror(r) : dwfl_error("no module found"));
		return r > 0 ? -r : -EINVAL;
	}
	u->proc_modules =
		(struct cw_proc_modules){.source = &c->modules, .cfi_only = u->symbolizer != NULL};
	dwfl_getmodules(u->dwfl, give_source, &u->proc_modules, 0);
	/* libdwfl keeps the pointer until dwfl_end: the state must outlive this call. */
	s = calloc(1, sizeof(*s));
	if (!s || !keep(u, (char *)s)) {
		snprintf(err, cap, "out of memory");
		return -ENOMEM;
	}
	s->c = c;
	if (!dwfl_attach_state(u->dwfl, NULL, c->pid, &capture_thread_callbacks, s)) {
		snprintf(err, cap, "failed to attach libdwfl to the capture: %s",
			 dwfl_error("unknown error"));
		return -EINVAL;
	}
	u->threads = calloc(c->n ? c->n : 1, sizeof(*u->threads));
	if (!u->threads)
		return -ENOMEM;
	for (size_t i = 0; i < c->n; i++) {
		const struct cw_thread_capture *t = &c->threads[i];

		if (!t->captured)
			continue;
		unwind_thread(u, t->tid, NULL);
		dwarf_regs(&t->regs, u->threads[u->n - 1].regs);
		u->threads[u->n - 1].has_regs = true;
	}
	/* What the server cannot answer is looked up here, with the debug files. */
	u->proc_modules.cfi_only = false;
	symbolize_threads(u, &c->modules);
	dwfl_getmodules(u->dwfl, module_cb, u, 0);
	return 0;
}

static int core_thread_cb(Dwfl_Thread *thread, void *arg)
{
	struct cw_unwinder *u = arg;
	struct cw_unwound_thread *nv = realloc(u->threads, (u->n + 1) * sizeof(*nv));

	if (!nv)
		return DWARF_CB_ABORT;
	u->threads = nv;
	unwind_thread(u, dwfl_thread_tid(thread), thread);
	return DWARF_CB_OK;
}

static void set_core_regs(struct cw_unwinder *u, pid_t tid, const elf_gregset_t greg)
{
	struct user_regs_struct r;

	_Static_assert(sizeof(elf_gregset_t) == sizeof(r), "NT_PRSTATUS holds user_regs_struct");
	memcpy(&r, greg, sizeof(r));
	for (size_t i = 0; i < u->n; i++)
		if (u->threads[i].tid == tid) {
			dwarf_regs(&r, u->threads[i].regs);
			u->threads[i].has_regs = true;
		}
}

/*
 * From the notes: each thread's registers (NT_PRSTATUS; the first names the
 * signal) and the process (NT_PRPSINFO).  Copied out: notes are only 4-byte
 * aligned.
 */
static void read_core_notes(struct cw_unwinder *u, Elf *elf)
{
	size_t phnum;
	bool seen_status = false;

	if (elf_getphdrnum(elf, &phnum) != 0)
		return;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);
		Elf_Data *data;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;

		if (!ph || ph->p_type != PT_NOTE)
			continue;
		data = elf_getdata_rawchunk(elf, ph->p_offset, ph->p_filesz, ELF_T_NHDR);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const char *desc = (const char *)data->d_buf + desc_off;

			if (nh.n_type == NT_PRSTATUS &&
			    nh.n_descsz >= sizeof(struct elf_prstatus)) {
				struct elf_prstatus st;

				memcpy(&st, desc, sizeof(st));
				if (!seen_status)
					u->core_signal = st.pr_cursig;
				seen_status = true;
				set_core_regs(u, st.pr_pid, st.pr_reg);
			} else if (nh.n_type == NT_PRPSINFO &&
				   nh.n_descsz >= sizeof(struct elf_prpsinfo)) {
				struct elf_prpsinfo ps;

				memcpy(&ps, desc, sizeof(ps));
				u->core_pid = ps.pr_pid;
				u->core_ppid = ps.pr_ppid;
				u->core_uid = ps.pr_uid;
				u->core_gid = ps.pr_gid;
				memcpy(u->core_comm, ps.pr_fname, sizeof(ps.pr_fname));
				memcpy(u->core_args, ps.pr_psargs, sizeof(ps.pr_psargs));
			}
		}
	}
}

/*
 * What the program headers promise against what the file holds: a core cut
 * short (a full disk, a dump killed mid-way, a copy cut off) keeps its
 * headers and loses the end.  Missing notes lose threads; missing segments
 * lose stack and data.  0, or -EINVAL with err set when the headers
 * themselves are not there.
 */
static int core_extent(Elf *elf, uint64_t size, uint64_t *notes_missing, uint64_t *notes_total,
		       uint64_t *segs_missing, uint64_t *segs_total, char *err, size_t cap)
{
	size_t phnum;

	*notes_missing = *notes_total = *segs_missing = *segs_total = 0;
	if (elf_getphdrnum(elf, &phnum) != 0 || phnum == 0) {
		snprintf(err, cap,
			 "not a readable core file: it is cut short before its program headers "
			 "(%" PRIu64 " bytes)",
			 size);
		return -EINVAL;
	}
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);
		uint64_t have;

		if (!ph) {
			snprintf(
				err, cap,
				"not a readable core file: its program header %zu of %zu cannot be "
				"read: %s",
				i + 1, phnum, elf_error("it lies past the end of the file"));
			return -EINVAL;
		}
		if (ph->p_type != PT_NOTE && ph->p_type != PT_LOAD)
			continue;
		have = ph->p_offset >= size		    ? 0
		       : size - ph->p_offset < ph->p_filesz ? size - ph->p_offset
							    : ph->p_filesz;
		if (ph->p_type == PT_NOTE) {
			*notes_total += ph->p_filesz;
			*notes_missing += ph->p_filesz - have;
		} else {
			*segs_total += ph->p_filesz;
			*segs_missing += ph->p_filesz - have;
		}
	}
	return 0;
}

int cw_unwind_core(struct cw_unwinder *u, int fd, const char *exe, char *err, size_t cap)
{
	uint64_t notes_missing, notes_total, segs_missing, segs_total;
	struct stat st;
	GElf_Ehdr eh;
	Elf *elf;

	u->core_fd = fd;
	if (fstat(fd, &st) < 0) {
		snprintf(err, cap, "failed to read the core: %s", strerror(errno));
		return -errno;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, cap, "not a readable core file: it is a directory");
		return -EISDIR;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		elf = elf_begin(fd, ELF_C_READ, NULL); /* a pipe cannot be mapped */
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (S_ISREG(st.st_mode) && st.st_size == 0)
			snprintf(err, cap, "not a readable core file: it is empty");
		else
			snprintf(err, cap, "not a readable core file: %s",
				 elf ? "it does not begin with the ELF magic"
				     : elf_error("it cannot be read as ELF"));
		if (elf)
			elf_end(elf);
		return -EINVAL;
	}
	u->core_elf = elf;
	if (!gelf_getehdr(elf, &eh)) {
		snprintf(err, cap, "not a readable core file: its ELF header is cut short: %s",
			 elf_error("unreadable"));
		return -EINVAL;
	}
	if (eh.e_type != ET_CORE) {
		snprintf(err, cap,
			 "not a core file: an ELF %s (e_type %u); give the core the kernel or "
			 "gcore wrote",
			 eh.e_type == ET_EXEC  ? "executable"
			 : eh.e_type == ET_DYN ? "shared object or PIE executable"
			 : eh.e_type == ET_REL ? "object file"
					       : "file",
			 (unsigned)eh.e_type);
		return -EINVAL;
	}
	if (eh.e_machine != EM_X86_64 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
		snprintf(err, cap,
			 "not a core this tool can read: it is of another architecture "
			 "(e_machine %u); only x86_64 is done",
			 (unsigned)eh.e_machine);
		return -EINVAL;
	}
	if (core_extent(elf, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : UINT64_MAX,
			&notes_missing, &notes_total, &segs_missing, &segs_total, err, cap) < 0)
		return -EINVAL;
	u->dwfl = dwfl_begin(&core_callbacks);
	if (!u->dwfl) {
		snprintf(err, cap, "failed to start libdwfl: %s", dwfl_error("out of memory"));
		return -ENOMEM;
	}
	dwfl_report_begin(u->dwfl);
	if (dwfl_core_file_report(u->dwfl, elf, exe) < 0) {
		snprintf(err, cap, "not a readable core file: failed to list its modules: %s",
			 dwfl_error(notes_missing ? "its notes are cut short"
						  : "its program headers and notes name none"));
		return -EINVAL;
	}
	dwfl_report_end(u->dwfl, NULL, NULL);
	if (dwfl_core_file_attach(u->dwfl, elf) < 0) {
		if (notes_missing)
			snprintf(err, cap,
				 "not a readable core file: it is truncated in its notes (%" PRIu64
				 " of %" PRIu64 " bytes missing), where the threads are",
				 notes_missing, notes_total);
		else
			snprintf(err, cap, "failed to read the threads of the core: %s",
				 dwfl_error("its notes name no thread (NT_PRSTATUS)"));
		return -EINVAL;
	}
	dwfl_getthreads(u->dwfl, core_thread_cb, u);
	symbolize_threads(u, NULL);
	read_core_notes(u, elf);
	dwfl_getmodules(u->dwfl, module_cb, u, 0);
	if (notes_missing)
		snprintf(u->core_note, sizeof(u->core_note),
			 "the core is truncated: %" PRIu64 " of %" PRIu64
			 " bytes of its notes are missing; threads may be missing",
			 notes_missing, notes_total);
	else if (segs_missing)
		snprintf(u->core_note, sizeof(u->core_note),
			 "the core is truncated: %" PRIu64 " of %" PRIu64
			 " bytes of its segments are missing; stacks may be short",
			 segs_missing, segs_total);
	return 0;
}

void cw_unwinder_free(struct cw_unwinder *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->threads[i].frames);
		free(u->threads[i].error);
	}
	free(u->threads);
	free(u->modules);
	free(u->symbol_cache);
	for (size_t i = 0; i < u->n_strings; i++)
		free(u->strings[i]);
	free(u->strings);
	cw_remote_symbols_free(&u->remote);
	if (u->dwfl)
		dwfl_end(u->dwfl);
	if (u->core_elf)
		elf_end(u->core_elf);
	*u = (struct cw_unwinder){
		.source_lines = u->source_lines, .symbolizer = u->symbolizer, .core_fd = -1};
}
