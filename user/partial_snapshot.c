// SPDX-License-Identifier: MIT
#include "partial_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "classify.h"
#include "container_read.h"
#include "elf_info.h"
#include "event_decode.h"
#include "proc_info.h"
#include "signals.h"
#include "snapshot_json.h"
#include "spool_write.h"
#include "version.h"

/* pt_regs order (enum cw_reg) of each DWARF register, as the full snapshot lists them. */
static const int dwarf_from_pt[17] = {
	CW_REG_RAX, CW_REG_RDX, CW_REG_RCX, CW_REG_RBX, CW_REG_RSI, CW_REG_RDI,
	CW_REG_RBP, CW_REG_RSP, CW_REG_R8,  CW_REG_R9,	CW_REG_R10, CW_REG_R11,
	CW_REG_R12, CW_REG_R13, CW_REG_R14, CW_REG_R15, CW_REG_RIP,
};

static json_t *str_or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

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

static json_t *process_json(const struct cw_signal_event *ev, const char *exe, const char *cgroup)
{
	json_t *o = json_object();

	json_object_set_new(o, "pid", json_integer(ev->task.pid));
	json_object_set_new(o, "ppid", json_integer(ev->task.ppid));
	json_object_set_new(o, "uid", json_integer(ev->task.uid));
	json_object_set_new(o, "gid", json_integer(ev->task.gid));
	json_object_set_new(
		o, "comm",
		json_stringn_nocheck(ev->task.comm, strnlen(ev->task.comm, CW_COMM_LEN)));
	json_object_set_new(o, "exe", str_or_null(exe));
	json_object_set_new(o, "cmdline", json_null());
	json_object_set_new(o, "cwd", json_null());
	json_object_set_new(o, "cgroup", str_or_null(cgroup));
	json_object_set_new(o, "start_time", cw_boot_time_json(ev->task.start_boottime));
	return o;
}

static json_t *signal_json(const struct cw_signal_event *ev)
{
	/* At abort()'s entry SIGABRT is not raised yet: no siginfo. */
	bool at_abort = ev->flags & CW_SIG_AT_ABORT;
	const char *code = at_abort ? NULL : cw_si_code_name(ev->sig, ev->si_code);
	json_t *j = json_object();

	json_object_set_new(j, "number", json_integer(ev->sig));
	json_object_set_new(j, "name", json_string(cw_signal_name(ev->sig)));
	json_object_set_new(j, "code", at_abort ? json_null() : json_integer(ev->si_code));
	json_object_set_new(j, "code_name", str_or_null(code));
	json_object_set_new(j, "address",
			    ev->flags & (CW_SIG_FROM_PROCESS | CW_SIG_AT_ABORT)
				    ? json_null()
				    : cw_json_hex(ev->fault_addr));
	json_object_set_new(j, "sender_pid",
			    ev->sender_pid ? json_integer(ev->sender_pid) : json_null());
	return j;
}

static json_t *frame_json(size_t i, const struct cw_frame_view *f)
{
	char hex[2 * CW_BUILD_ID_SIZE + 1];
	json_t *o = json_object();

	json_object_set_new(o, "index", json_integer((json_int_t)i));
	json_object_set_new(o, "pc", cw_json_hex(f->ip));
	json_object_set_new(o, "function", str_or_null(f->sym.function));
	json_object_set_new(o, "function_offset",
			    f->sym.function ? json_integer((json_int_t)f->sym.function_offset)
					    : json_null());
	json_object_set_new(o, "module", str_or_null(f->sym.module));
	json_object_set_new(o, "module_offset",
			    f->sym.has_offset ? cw_json_hex(f->sym.module_offset) : json_null());
	json_object_set_new(o, "build_id",
			    f->bid ? json_string(cw_hex(f->bid->build_id, CW_BUILD_ID_SIZE, hex))
				   : json_null());
	json_object_set_new(o, "file", str_or_null(f->sym.file));
	json_object_set_new(o, "line", f->sym.file ? json_integer(f->sym.line) : json_null());
	json_object_set_new(o, "signal_frame", json_false());
	return o;
}

/* Each module the frames name once; load addresses are not in the first capture. */
static void add_module(json_t *mods, const struct cw_frame_view *f)
{
	char hex[2 * CW_BUILD_ID_SIZE + 1];
	size_t i;
	json_t *m;

	if (!f->sym.module)
		return;
	json_array_foreach(mods, i, m)
	{
		if (strcmp(json_string_value(json_object_get(m, "path")), f->sym.module) == 0)
			return;
	}
	m = json_object();
	json_object_set_new(m, "path", json_string(f->sym.module));
	json_object_set_new(m, "start", json_null());
	json_object_set_new(m, "end", json_null());
	json_object_set_new(m, "build_id",
			    f->bid ? json_string(cw_hex(f->bid->build_id, CW_BUILD_ID_SIZE, hex))
				   : json_null());
	json_array_append_new(mods, m);
}

json_t *cw_partial_snapshot_json(const struct cw_signal_event *ev, struct cw_symbolizer *sym,
				 const char *why, const char *uuid)
{
	struct cw_frame_view v[CW_MAX_FRAMES];
	struct cw_container_info ci;
	const char *functions[CW_MAX_FRAMES], *cause;
	char exe[CW_EXE_PATH_LEN + CW_EXE_PATH_DEPTH + 1], now_text[64];
	json_t *o = json_object(), *threads = json_array(), *t = json_object(),
	       *frames = json_array(), *mods = json_array(), *cls = json_array(),
	       *cap = json_object(), *notes = json_array();
	size_t n, kept = 0;
	bool repeated = false;
	struct timespec now;
	uint64_t sp;

	cw_exe_path(ev, exe, sizeof(exe));
	container_read(&ev->task, &ci);
	if (sym)
		cw_symbolizer_begin(sym, (pid_t)ev->task.pid, ev->task.start_boottime, exe);
	n = cw_first_capture_frames(ev, sym, v);
	for (size_t i = 0; i < n; i++) {
		/* A frame-pointer walk through code without frame pointers loops on one address. */
		if (kept && v[i].ip == v[i - 1].ip) {
			repeated = true;
			continue;
		}
		json_array_append_new(frames, frame_json(kept, &v[i]));
		add_module(mods, &v[i]);
		functions[kept++] = v[i].sym.function;
	}

	json_object_set_new(t, "tid", json_integer(ev->task.tid));
	json_object_set_new(
		t, "name",
		json_stringn_nocheck(ev->task.comm, strnlen(ev->task.comm, CW_COMM_LEN)));
	json_object_set_new(t, "state", json_null());
	json_object_set_new(t, "faulted", json_true());
	if (ev->flags & CW_SIG_REGS) {
		json_t *regs = json_object();

		for (int r = 0; r < 17; r++)
			json_object_set_new(regs, cw_dwarf_reg_names[r],
					    cw_json_hex(ev->regs[dwarf_from_pt[r]]));
		json_object_set_new(t, "registers", regs);
	} else {
		json_object_set_new(t, "registers", json_null());
	}
	json_object_set_new(t, "frames", frames);
	json_object_set_new(t, "frames_truncated", json_boolean(n >= CW_MAX_FRAMES));
	json_object_set_new(t, "stack_truncated", json_boolean(ev->flags & CW_SIG_STACK_TRUNCATED));
	json_object_set_new(t, "error",
			    kept ? json_null() : json_string("the first capture holds no frame"));
	json_array_append_new(threads, t);

	json_array_append_new(cls, json_string(cw_signal_name(ev->sig)));
	if (!(ev->flags & CW_SIG_AT_ABORT) && cw_si_code_name(ev->sig, ev->si_code))
		json_array_append_new(cls, json_string(cw_si_code_name(ev->sig, ev->si_code)));
	/*
	 * No memory map here.  A fault within a page of the stack pointer, or
	 * a stack pointer whose page could not be read, is a stack overflow.
	 */
	sp = ev->regs[CW_REG_RSP];
	if (ev->sig == SIGSEGV && !(ev->flags & CW_SIG_FROM_PROCESS) && ev->fault_addr >= 4096 &&
	    ((ev->flags & CW_SIG_SP_UNMAPPED) || (ev->stack_len && ev->stack_start > sp) ||
	     (ev->fault_addr + CW_STACK_PAGE >= sp && ev->fault_addr <= sp + CW_STACK_PAGE)))
		cause = "stack-overflow";
	else
		cause = cw_crash_cause(&(struct cw_crash_facts){
			.sig = ev->sig,
			.code = (ev->flags & CW_SIG_AT_ABORT) ? 0 : ev->si_code,
			.addr = ev->fault_addr,
			.pc = ev->regs[CW_REG_RIP],
			.functions = functions,
			.n_functions = kept,
		});
	if (cause)
		json_array_append_new(cls, json_string(cause));

	clock_gettime(CLOCK_REALTIME, &now);
	cw_iso_time(&now, now_text, sizeof(now_text));
	json_object_set_new(o, "version", json_integer(CW_SNAPSHOT_VERSION));
	json_object_set_new(o, "uuid", json_string(uuid));
	json_object_set_new(o, "timestamp", json_string(now_text));
	json_object_set_new(o, "host", cw_host_json());
	json_object_set_new(o, "process", process_json(ev, exe, ci.cgroup));
	json_object_set_new(o, "container", cw_container_json(&ci));
	json_object_set_new(o, "signal", signal_json(ev));
	json_object_set_new(o, "classifiers", cls);
	json_object_set_new(o, "attributes", json_object());
	json_object_set_new(o, "threads", threads);
	json_object_set_new(o, "modules", mods);
	json_object_set_new(cap, "method", json_string("bpf-first-capture"));
	json_object_set_new(cap, "partial", json_true());
	json_object_set_new(cap, "pause_ms", json_real(0));
	json_object_set_new(cap, "total_ms", json_null());
	json_object_set_new(cap, "tool", json_string("crashwatch"));
	json_object_set_new(cap, "tool_version", json_string(CW_VERSION));
	json_object_set_new(cap, "vanished_threads", json_array());
	json_object_set_new(cap, "process_vanished", json_false());
	json_array_append_new(notes, json_string(why));
	if (repeated)
		json_array_append_new(notes, json_string("repeated frames of the frame-pointer "
							 "walk left out"));
	if (ev->flags & CW_SIG_AT_GENERATE)
		json_array_append_new(notes, json_string("the signal was sent by another process: "
							 "the kernel captured no stack"));
	json_object_set_new(cap, "notes", notes);
	json_object_set_new(o, "capture", cap);
	cw_container_info_free(&ci);
	return o;
}

int cw_partial_snapshot_write(const struct cw_signal_event *ev, struct cw_symbolizer *sym,
			      const char *why, const char *dir, char *path, size_t cap, char *err,
			      size_t err_cap)
{
	char uuid[64];
	json_t *doc;
	int r;

	cw_new_uuid(uuid, sizeof(uuid));
	doc = cw_partial_snapshot_json(ev, sym, why, uuid);
	if (!doc) {
		snprintf(err, err_cap, "out of memory building a partial snapshot");
		return -ENOMEM;
	}
	r = cw_write_json_atomic(doc, dir, uuid, path, cap, err, err_cap);
	json_decref(doc);
	return r;
}
