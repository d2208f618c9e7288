// SPDX-License-Identifier: MIT
#include "partial_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify.h"
#include "container_read.h"
#include "elf_info.h"
#include "event_decode.h"
#include "proc_info.h"
#include "signals.h"
#include "spool_write.h"

/* pt_regs order (enum cw_reg) of each DWARF register, as the full snapshot lists them. */
static const int dwarf_from_pt[CW_DWARF_REGS] = {
	CW_REG_RAX, CW_REG_RDX, CW_REG_RCX, CW_REG_RBX, CW_REG_RSI, CW_REG_RDI,
	CW_REG_RBP, CW_REG_RSP, CW_REG_R8,  CW_REG_R9,	CW_REG_R10, CW_REG_R11,
	CW_REG_R12, CW_REG_R13, CW_REG_R14, CW_REG_R15, CW_REG_RIP,
};

/*
 * What /proc still says of the process, if it is still the one that
 * crashed; the kernel's cgroup id and namespaces, taken at the crash, win
 * (0 is not known: an older BPF side).  Once the process is gone its
 * cgroup, if it still exists, is found by the kernel's id.
 */
static void container_read(const struct cw_task *t, struct cw_container_info *ci)
{
	char path[32];
	int dir;

	memset(ci, 0, sizeof(*ci));
	snprintf(path, sizeof(path), "/proc/%u", t->pid);
	/* Opened before the check: the fd then names that process, even once its pid is reused. */
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir >= 0) {
		if (cw_proc_is_same((pid_t)t->pid, t->start_boottime))
			cw_container_info_read(dir, ci);
		close(dir);
	}
	if (t->cgroup_id)
		ci->cgroup_id = t->cgroup_id;
	if (!ci->cgroup && t->cgroup_id) {
		ci->cgroup = cw_cgroup_path_of_id(t->cgroup_id);
		cw_container_name_parse(ci->cgroup, &ci->name);
	}
	if (t->pid_ns)
		ci->pid_ns = t->pid_ns;
	if (t->mnt_ns)
		ci->mnt_ns = t->mnt_ns;
}

static void fill_process(struct cw_partial_doc *p, const struct cw_signal_event *ev)
{
	memcpy(p->comm, ev->task.comm, CW_COMM_LEN);
	p->comm[CW_COMM_LEN] = '\0';
	cw_exe_path(ev, p->exe, sizeof(p->exe));
	p->doc.process = (struct cw_doc_process){
		.pid = (pid_t)ev->task.pid,
		.ppid = (pid_t)ev->task.ppid,
		.uid = ev->task.uid,
		.gid = ev->task.gid,
		.comm = p->comm,
		.exe = p->exe, /* "": the kernel captured no path */
		/* cmdline and cwd are not in the first capture */
		.cgroup = p->container.cgroup,
		.has_start_time = true,
		.start_time = cw_boot_timespec(ev->task.start_boottime),
	};
}

static void fill_signal(struct cw_doc_signal *s, const struct cw_signal_event *ev)
{
	/* At abort()'s entry SIGABRT is not raised yet: no siginfo. */
	bool at_abort = ev->flags & CW_SIG_AT_ABORT;

	*s = (struct cw_doc_signal){
		.number = ev->sig,
		.has_code = !at_abort,
		.code = ev->si_code,
		.has_address = !(ev->flags & (CW_SIG_FROM_PROCESS | CW_SIG_AT_ABORT)),
		.address = ev->fault_addr,
		.has_sender = ev->sender_pid != 0,
		.sender_pid = (pid_t)ev->sender_pid,
	};
}

/* Each module the frames name once; load addresses are not in the first capture. */
static void add_module(struct cw_partial_doc *p, const struct cw_doc_frame *f)
{
	struct cw_snapshot_doc *d = &p->doc;

	if (!f->module)
		return;
	for (size_t i = 0; i < d->n_modules; i++)
		if (strcmp(p->modules[i].path, f->module) == 0)
			return;
	p->modules[d->n_modules++] =
		(struct cw_doc_module){.path = f->module, .build_id = f->build_id};
}

/*
 * The frame-pointer walk's frames, their functions into functions.  True
 * when repeats were folded: a walk through code without frame pointers
 * loops on one address.
 */
static bool fill_frames(struct cw_partial_doc *p, const struct cw_signal_event *ev,
			struct cw_symbolizer *sym, const char **functions)
{
	struct cw_frame_view v[CW_MAX_FRAMES];
	struct cw_doc_thread *t = &p->thread;
	size_t n = cw_first_capture_frames(ev, sym, v);
	bool repeated = false;

	for (size_t i = 0; i < n; i++) {
		struct cw_doc_frame *f = &p->frames[t->n_frames];

		if (t->n_frames && v[i].ip == v[i - 1].ip) {
			repeated = true;
			continue;
		}
		*f = (struct cw_doc_frame){
			.pc = v[i].ip,
			.pc_exact = t->n_frames == 0, /* then return addresses */
			.function = v[i].sym.function,
			.symbol = v[i].sym.symbol,
			.function_offset = v[i].sym.function_offset,
			.module = v[i].sym.module,
			.has_module_offset = v[i].sym.has_offset,
			.module_offset = v[i].sym.module_offset,
			.build_id = v[i].bid ? cw_hex(v[i].bid->build_id, CW_BUILD_ID_SIZE,
						      p->build_ids[t->n_frames])
					     : NULL,
			.file = v[i].sym.file,
			.line = v[i].sym.line,
		};
		add_module(p, f);
		functions[t->n_frames++] = f->function;
	}
	t->frames_truncated = n >= CW_MAX_FRAMES;
	return repeated;
}

static void fill_thread(struct cw_partial_doc *p, const struct cw_signal_event *ev)
{
	struct cw_doc_thread *t = &p->thread;

	t->tid = (pid_t)ev->task.tid;
	t->name = p->comm;
	t->faulted = true;
	t->has_registers = ev->flags & CW_SIG_REGS;
	for (int r = 0; r < CW_DWARF_REGS; r++)
		t->registers[r] = ev->regs[dwarf_from_pt[r]];
	t->frames = p->frames;
	t->stack_truncated = false; /* the first capture copies no stack */
	if (!t->n_frames)
		t->error = "the first capture holds no frame";
}

/* The signal's name, its si_code's, and the cause from what the kernel captured. */
static void fill_classifiers(struct cw_partial_doc *p, const struct cw_signal_event *ev,
			     const char **functions)
{
	struct cw_snapshot_doc *d = &p->doc;
	const char *cause;
	uint64_t sp;

	/* A Go panic or fatal error: no signal (the go-snap reader names its cause). */
	if (ev->flags & CW_SIG_AT_GO) {
		p->classifiers[d->n_classifiers++] =
			(ev->flags & CW_SIG_AT_GO_PANIC) ? "go-panic" : "go-fatal-error";
		return;
	}
	/* A USDT probe's (--snapshot-on): no signal, no crash. */
	if (ev->flags & CW_SIG_AT_USDT) {
		p->classifiers[d->n_classifiers++] = "usdt";
		return;
	}
	/* A Rust panic held at rust_panic: no signal either. */
	if (ev->flags & CW_SIG_AT_RUST_PANIC) {
		p->classifiers[d->n_classifiers++] = "rust-panic";
		return;
	}
	p->classifiers[d->n_classifiers++] = cw_signal_name(ev->sig);
	if (!(ev->flags & CW_SIG_AT_ABORT) && cw_si_code_name(ev->sig, ev->si_code))
		p->classifiers[d->n_classifiers++] = cw_si_code_name(ev->sig, ev->si_code);
	/*
	 * No memory map here.  A fault within a page of the stack pointer, or
	 * a stack pointer whose page could not be read, is a stack overflow.
	 */
	sp = ev->regs[CW_REG_RSP];
	if (ev->sig == SIGSEGV && !(ev->flags & CW_SIG_FROM_PROCESS) && ev->fault_addr >= 4096 &&
	    ((ev->flags & CW_SIG_SP_UNMAPPED) || ev->stack_start > sp ||
	     (ev->fault_addr + CW_STACK_PAGE >= sp && ev->fault_addr <= sp + CW_STACK_PAGE)))
		cause = "stack-overflow";
	else
		cause = cw_crash_cause(&(struct cw_crash_facts){
			.sig = ev->sig,
			.code = (ev->flags & CW_SIG_AT_ABORT) ? 0 : ev->si_code,
			.addr = ev->fault_addr,
			.pc = ev->regs[CW_REG_RIP],
			.functions = functions,
			.n_functions = p->thread.n_frames,
		});
	if (cause)
		p->classifiers[d->n_classifiers++] = cause;
}

/* Why first (docs/snapshot.md: capture.notes[0]), then what is missing. */
static void fill_notes(struct cw_partial_doc *p, const struct cw_signal_event *ev, const char *why,
		       bool repeated)
{
	size_t n = 0;

	p->notes[n++] = why;
	if (repeated)
		p->notes[n++] = "repeated frames of the frame-pointer walk left out";
	if (ev->flags & CW_SIG_AT_GENERATE)
		p->notes[n++] = "the signal was sent by another process: "
				"the kernel captured no stack";
	p->doc.capture.notes = p->notes;
	p->doc.capture.n_notes = n;
}

void cw_partial_doc_fill(struct cw_partial_doc *p, const struct cw_signal_event *ev,
			 struct cw_symbolizer *sym, const char *why, const char *uuid)
{
	const char *functions[CW_MAX_FRAMES];
	bool repeated;

	memset(p, 0, sizeof(*p));
	container_read(&ev->task, &p->container);
	fill_process(p, ev);
	if (sym)
		cw_symbolizer_begin(sym, (pid_t)ev->task.pid, ev->task.start_boottime, p->exe);
	repeated = fill_frames(p, ev, sym, functions);
	fill_thread(p, ev);
	fill_classifiers(p, ev, functions);
	fill_notes(p, ev, why, repeated);
	p->doc.uuid = uuid;
	p->doc.container = &p->container;
	p->doc.has_signal = !(ev->flags & (CW_SIG_AT_GO | CW_SIG_AT_USDT | CW_SIG_AT_RUST_PANIC));
	fill_signal(&p->doc.signal, ev);
	p->doc.classifiers = p->classifiers;
	p->doc.threads = &p->thread;
	p->doc.n_threads = 1;
	p->doc.modules = p->modules;
	p->doc.capture.method = CW_METHOD_FIRST_CAPTURE;
	p->doc.capture.tool = "crashwatch"; /* the watcher built it: total_ms not known */
}

void cw_partial_doc_free(struct cw_partial_doc *p)
{
	cw_container_info_free(&p->container);
}

static json_t *partial_json(const struct cw_signal_event *ev, struct cw_symbolizer *sym,
			    const char *why, const char *uuid, const char *timeline)
{
	/* About 12 KiB: off the stack of the thread that writes it. */
	struct cw_partial_doc *p = malloc(sizeof(*p));
	json_t *doc;

	if (!p)
		return NULL;
	cw_partial_doc_fill(p, ev, sym, why, uuid);
	p->doc.timeline = timeline;
	doc = cw_snapshot_doc_json(&p->doc);
	cw_partial_doc_free(p);
	free(p);
	return doc;
}

json_t *cw_partial_snapshot_json(const struct cw_signal_event *ev, struct cw_symbolizer *sym,
				 const char *why, const char *uuid)
{
	return partial_json(ev, sym, why, uuid, NULL);
}

/* The timeline file moved to dir/<uuid>.timeline.json, as the snapshot tool keeps it; its name. */
static const char *keep_timeline(const char *file, const char *dir, const char *uuid, char *name,
				 size_t cap, char *moved, size_t moved_cap)
{
	snprintf(name, cap, "%s.timeline.json", uuid);
	snprintf(moved, moved_cap, "%s/%s", dir, name);
	if (rename(file, moved) < 0) {
		fprintf(stderr,
			"crashwatch: failed to keep the timeline %s beside a partial snapshot: %s, "
			"ignoring\n",
			file, strerror(errno));
		moved[0] = '\0';
		return NULL;
	}
	return name;
}

int cw_partial_snapshot_write(const struct cw_signal_event *ev, struct cw_symbolizer *sym,
			      const char *why, const char *timeline, const char *dir, char *path,
			      size_t cap, char *err, size_t err_cap)
{
	char uuid[64], name[128], moved[4096] = "";
	const char *kept = NULL;
	json_t *doc;
	int r;

	cw_new_uuid(uuid, sizeof(uuid));
	/* Before the document: whoever takes the document finds its timeline there. */
	if (timeline && timeline[0])
		kept = keep_timeline(timeline, dir, uuid, name, sizeof(name), moved, sizeof(moved));
	doc = partial_json(ev, sym, why, uuid, kept);
	if (!doc) {
		snprintf(err, err_cap, "out of memory building a partial snapshot");
		r = -ENOMEM;
	} else {
		r = cw_write_json_atomic(doc, dir, uuid, path, cap, err, err_cap);
		json_decref(doc);
	}
	/* No document to name it: nothing would ever take it out of the spool. */
	if (r < 0 && moved[0])
		unlink(moved);
	return r;
}
