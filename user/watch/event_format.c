// SPDX-License-Identifier: MIT
#include "event_format.h"

#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "elf_info.h"
#include "event_decode.h"
#include "signals.h"

static const char *const reg_names[CW_NR_REGS] = {
	"r15", "r14", "r13", "r12", "rbp",	"rbx", "r11", "r10",	"r9",  "r8", "rax",
	"rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs",  "eflags", "rsp", "ss",
};

static const char *handler_text(uint64_t handler, char *buf, size_t cap)
{
	if (handler == 0)
		return "default";
	if (handler == 1)
		return "ignored";
	snprintf(buf, cap, "0x%" PRIx64, handler);
	return buf;
}

static const char *name_or_number(const char *name, int n, char *buf, size_t cap)
{
	if (name)
		return name;
	snprintf(buf, cap, "%d", n);
	return buf;
}

static void print_frame_text(FILE *out, size_t i, const struct cw_frame_view *f)
{
	char hex[2 * CW_BUILD_ID_SIZE + 1];

	fprintf(out, "    #%-2zu 0x%016" PRIx64, i, f->ip);
	if (f->sym.function)
		fprintf(out, " %s+0x%" PRIx64, f->sym.function, f->sym.function_offset);
	else
		fprintf(out, " ??");
	if (f->sym.file)
		fprintf(out, " (%s:%d)", f->sym.file, f->sym.line);
	if (f->sym.module)
		fprintf(out, " in %s+0x%" PRIx64, f->sym.module, f->sym.module_offset);
	else if (f->sym.has_offset)
		fprintf(out, " at offset 0x%" PRIx64, f->sym.module_offset);
	if (f->bid)
		fprintf(out, " build-id=%s", cw_hex(f->bid->build_id, CW_BUILD_ID_SIZE, hex));
	fputc('\n', out);
}

static void print_frames_text(FILE *out, const struct cw_frame_view *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t same = i;

		print_frame_text(out, i, &v[i]);
		/*
		 * A frame-pointer walk through code built without frame pointers
		 * (glibc) can loop on one address; deep recursion repeats too.
		 */
		while (same + 1 < n && v[same + 1].ip == v[i].ip)
			same++;
		if (same > i + 1) {
			fprintf(out, "    #%zu..#%zu repeat the frame above\n", i + 1, same);
			i = same;
		}
	}
}

/*
 * abort: at abort()'s entry; kill: sent by another process, at generation;
 * go-panic, go-fatal: at the Go runtime's fatal paths; rust-panic: at Rust
 * std's rust_panic; else delivery.
 */
static const char *signal_record_type(const struct cw_signal_event *ev)
{
	if (ev->flags & CW_SIG_AT_ABORT)
		return "abort";
	if (ev->flags & CW_SIG_AT_GENERATE)
		return "kill";
	if (ev->flags & CW_SIG_AT_GO_PANIC)
		return "go-panic";
	if (ev->flags & CW_SIG_AT_GO_FATAL)
		return "go-fatal";
	if (ev->flags & CW_SIG_AT_USDT)
		return "usdt-hold";
	if (ev->flags & CW_SIG_AT_RUST_PANIC)
		return "rust-panic";
	return "signal";
}

static json_t *hex_u64(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

static json_t *task_json(const struct cw_task *t, const char *type, uint64_t ts)
{
	char time[48], comm[CW_COMM_LEN + 1];
	json_t *o = json_object();

	cw_format_time(ts, time, sizeof(time));
	memcpy(comm, t->comm, CW_COMM_LEN);
	comm[CW_COMM_LEN] = '\0';
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "time", json_string(time));
	json_object_set_new(o, "pid", json_integer(t->pid));
	json_object_set_new(o, "tid", json_integer(t->tid));
	json_object_set_new(o, "ppid", json_integer(t->ppid));
	json_object_set_new(o, "uid", json_integer(t->uid));
	json_object_set_new(o, "gid", json_integer(t->gid));
	json_object_set_new(o, "comm", json_stringn_nocheck(comm, strnlen(comm, CW_COMM_LEN)));
	json_object_set_new(o, "cgroup_id", json_integer((json_int_t)t->cgroup_id));
	/* 0: not read (the mount namespace is gone once the process exits). */
	json_object_set_new(o, "pid_ns", t->pid_ns ? json_integer(t->pid_ns) : json_null());
	json_object_set_new(o, "mnt_ns", t->mnt_ns ? json_integer(t->mnt_ns) : json_null());
	return o;
}

static json_t *frame_json(size_t i, const struct cw_frame_view *f)
{
	char hex[2 * CW_BUILD_ID_SIZE + 1];
	json_t *o = json_object();

	json_object_set_new(o, "index", json_integer((json_int_t)i));
	json_object_set_new(o, "ip", hex_u64(f->ip));
	if (f->sym.function) {
		json_object_set_new(o, "function", json_string(f->sym.function));
		json_object_set_new(o, "function_offset",
				    json_integer((json_int_t)f->sym.function_offset));
	}
	if (f->sym.file) {
		json_object_set_new(o, "file", json_string(f->sym.file));
		json_object_set_new(o, "line", json_integer(f->sym.line));
	}
	if (f->sym.module)
		json_object_set_new(o, "module", json_string(f->sym.module));
	if (f->sym.has_offset)
		json_object_set_new(o, "module_offset", hex_u64(f->sym.module_offset));
	if (f->bid)
		json_object_set_new(o, "build_id",
				    json_string(cw_hex(f->bid->build_id, CW_BUILD_ID_SIZE, hex)));
	return o;
}

static void signal_json(FILE *out, const struct cw_signal_event *ev, const char *exe,
			const struct cw_frame_view *v, size_t n)
{
	json_t *o = task_json(&ev->task, signal_record_type(ev), ev->hdr.ts_ns);
	json_t *sig = json_object(), *regs = json_object(), *frames = json_array();
	json_t *stack = json_object();
	const char *code_name = cw_si_code_name(ev->sig, ev->si_code);
	char hbuf[24], comm[CW_COMM_LEN + 1];

	json_object_set_new(o, "exe", json_string(exe));
	json_object_set_new(sig, "number", json_integer(ev->sig));
	/* A Go panic's record has no signal: number 0, no name. */
	json_object_set_new(sig, "name",
			    ev->sig ? json_string(cw_signal_name(ev->sig)) : json_null());
	json_object_set_new(sig, "code", json_integer(ev->si_code));
	json_object_set_new(sig, "code_name", code_name ? json_string(code_name) : json_null());
	json_object_set_new(sig, "errno", json_integer(ev->si_errno));
	json_object_set_new(sig, "addr", hex_u64(ev->fault_addr));
	json_object_set_new(sig, "handler",
			    json_string(handler_text(ev->handler, hbuf, sizeof(hbuf))));
	json_object_set_new(sig, "from_process", json_boolean(ev->flags & CW_SIG_FROM_PROCESS));
	/* The kernel side stopped it here (SIGSTOP): the watcher snapshots it now. */
	json_object_set_new(o, "held", json_boolean(ev->flags & CW_SIG_HELD));
	json_object_set_new(o, "signal", sig);
	if (ev->flags & (CW_SIG_FROM_PROCESS | CW_SIG_SENDER_SEEN)) {
		json_t *snd = json_object();

		json_object_set_new(snd, "pid", json_integer(ev->sender_pid));
		json_object_set_new(snd, "uid", json_integer(ev->sender_uid));
		if (ev->flags & CW_SIG_SENDER_SEEN) {
			memcpy(comm, ev->sender_comm, CW_COMM_LEN);
			comm[CW_COMM_LEN] = '\0';
			json_object_set_new(snd, "comm", json_string(comm));
		}
		json_object_set_new(o, "sender", snd);
	}
	if (ev->flags & CW_SIG_REGS) {
		for (int i = 0; i < CW_NR_REGS; i++)
			json_object_set_new(regs, reg_names[i], hex_u64(ev->regs[i]));
		json_object_set_new(o, "regs", regs);
	} else {
		json_decref(regs);
	}
	json_object_set_new(stack, "start", hex_u64(ev->stack_start));
	json_object_set_new(stack, "vma_start", hex_u64(ev->stack_vma_start));
	json_object_set_new(stack, "vma_end", hex_u64(ev->stack_vma_end));
	json_object_set_new(stack, "sp_unmapped", json_boolean(ev->flags & CW_SIG_SP_UNMAPPED));
	json_object_set_new(o, "stack", stack);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(frames, frame_json(i, &v[i]));
	json_object_set_new(o, "frames", frames);
	json_dumpf(o, out, JSON_COMPACT);
	fputc('\n', out);
	json_decref(o);
}

void cw_format_signal(FILE *out, const struct cw_signal_event *ev, struct cw_symbolizer *sym,
		      const struct cw_format_options *o)
{
	struct cw_frame_view v[CW_MAX_FRAMES];
	char exe[CW_EXE_PATH_LEN + CW_EXE_PATH_DEPTH + 1], time[48], b1[24], b2[24], b3[24];
	size_t n;

	cw_exe_path(ev, exe, sizeof(exe));
	if (sym)
		cw_symbolizer_begin(sym, (pid_t)ev->task.pid, ev->task.start_boottime, exe);
	n = o->show_stack || o->json ? cw_first_capture_frames(ev, sym, v) : 0;
	if (o->json) {
		signal_json(out, ev, exe, v, n);
		return;
	}
	cw_format_time(ev->hdr.ts_ns, time, sizeof(time));
	/* no signal: nothing of one to say */
	if (ev->flags & (CW_SIG_AT_GO | CW_SIG_AT_USDT | CW_SIG_AT_RUST_PANIC))
		fprintf(out, "%s %s pid=%u tid=%u comm=%.*s", time, signal_record_type(ev),
			ev->task.pid, ev->task.tid, CW_COMM_LEN, ev->task.comm);
	else
		fprintf(out,
			"%s %s pid=%u tid=%u comm=%.*s sig=%s code=%s addr=0x%" PRIx64
			" handler=%s",
			time, signal_record_type(ev), ev->task.pid, ev->task.tid, CW_COMM_LEN,
			ev->task.comm,
			name_or_number(cw_signal_name(ev->sig), ev->sig, b1, sizeof(b1)),
			name_or_number(cw_si_code_name(ev->sig, ev->si_code), ev->si_code, b2,
				       sizeof(b2)),
			(uint64_t)ev->fault_addr, handler_text(ev->handler, b3, sizeof(b3)));
	if (ev->flags & (CW_SIG_FROM_PROCESS | CW_SIG_SENDER_SEEN)) {
		fprintf(out, " sender=%u", ev->sender_pid);
		if (ev->flags & CW_SIG_SENDER_SEEN)
			fprintf(out, "(%.*s)", CW_COMM_LEN, ev->sender_comm);
	}
	fprintf(out, " exe=%s ppid=%u uid=%u gid=%u cgroup=%" PRIu64 "\n", exe[0] ? exe : "?",
		ev->task.ppid, ev->task.uid, ev->task.gid, (uint64_t)ev->task.cgroup_id);
	print_frames_text(out, v, n);
}

void cw_format_first_capture_stack(FILE *out, const struct cw_signal_event *ev,
				   struct cw_symbolizer *sym)
{
	struct cw_frame_view v[CW_MAX_FRAMES];
	char exe[CW_EXE_PATH_LEN + CW_EXE_PATH_DEPTH + 1];

	cw_exe_path(ev, exe, sizeof(exe));
	if (sym)
		cw_symbolizer_begin(sym, (pid_t)ev->task.pid, ev->task.start_boottime, exe);
	print_frames_text(out, v, cw_first_capture_frames(ev, sym, v));
}

/* What the kernel saw before the end: a signal, or (0) a Go runtime's fatal path. */
static const char *seen_name(int sig)
{
	const char *name = sig ? cw_signal_name(sig) : "go";

	return name ? name : "?";
}

void cw_format_exit(FILE *out, const struct cw_exit_event *ev, const struct cw_format_options *o)
{
	const char *sig = ev->term_sig ? cw_signal_name(ev->term_sig) : NULL;
	char time[48], b[24];

	if (o->json) {
		json_t *j = task_json(&ev->task, "exit", ev->hdr.ts_ns);

		json_object_set_new(j, "status", json_integer(ev->status));
		json_object_set_new(j, "exit_code",
				    ev->term_sig ? json_null() : json_integer(ev->exit_code));
		json_object_set_new(
			j, "killed_by",
			ev->term_sig ? json_string(name_or_number(sig, ev->term_sig, b, sizeof(b)))
				     : json_null());
		json_object_set_new(j, "core_dumped",
				    json_boolean(ev->flags & CW_EXIT_CORE_DUMPED));
		json_object_set_new(j, "oom_victim", json_boolean(ev->flags & CW_EXIT_OOM_VICTIM));
		json_object_set_new(j, "seen_at_delivery",
				    ev->flags & CW_EXIT_SEEN_AT_DELIVERY
					    ? json_string(seen_name(ev->flagged_sig))
					    : json_null());
		json_dumpf(j, out, JSON_COMPACT);
		fputc('\n', out);
		json_decref(j);
		return;
	}
	cw_format_time(ev->hdr.ts_ns, time, sizeof(time));
	fprintf(out, "%s exit pid=%u comm=%.*s ", time, ev->task.pid, CW_COMM_LEN, ev->task.comm);
	if (ev->term_sig)
		fprintf(out, "status=killed:%s core=%s",
			name_or_number(sig, ev->term_sig, b, sizeof(b)),
			ev->flags & CW_EXIT_CORE_DUMPED ? "yes" : "no");
	else
		fprintf(out, "status=exited:%d", ev->exit_code);
	if (ev->flags & CW_EXIT_OOM_VICTIM)
		fprintf(out, " oom-victim");
	if (ev->flags & CW_EXIT_SEEN_AT_DELIVERY)
		fprintf(out, " seen=%s", seen_name(ev->flagged_sig));
	fprintf(out, " ppid=%u uid=%u\n", ev->task.ppid, ev->task.uid);
}

void cw_format_snapshot(FILE *out, const struct cw_signal_event *ev,
			const struct cw_snapshot_outcome *s, const struct cw_format_options *o)
{
	char time[48];

	cw_format_time(ev->hdr.ts_ns, time, sizeof(time));
	if (o->json) {
		json_t *j = json_object();

		json_object_set_new(j, "type", json_string("snapshot"));
		json_object_set_new(j, "time", json_string(time));
		json_object_set_new(j, "pid", json_integer(ev->task.pid));
		json_object_set_new(j, "tid", json_integer(ev->task.tid));
		json_object_set_new(j, "path", s->path[0] ? json_string(s->path) : json_null());
		json_object_set_new(j, "partial", json_boolean(s->partial));
		json_object_set_new(j, "why_partial",
				    s->partial ? json_string(s->why_partial) : json_null());
		json_object_set_new(j, "held_ms", json_real(s->held_ms));
		json_object_set_new(j, "tool_status", json_integer(s->tool_status));
		json_object_set_new(j, "timed_out", json_boolean(s->timed_out));
		json_dumpf(j, out, JSON_COMPACT);
		fputc('\n', out);
		json_decref(j);
		return;
	}
	fprintf(out, "%s snapshot pid=%u tid=%u path=%s held=%.1fms", time, ev->task.pid,
		ev->task.tid, s->path[0] ? s->path : "-", s->held_ms);
	if (s->partial)
		fprintf(out, " partial (%s)", s->why_partial);
	else if (!s->path[0])
		fprintf(out, " failed=%s", s->timed_out ? "timeout" : "tool");
	if (s->cause) {
		/* cause="…": quoted, a quote or backslash escaped, control bytes as '?'. */
		fputs(" cause=\"", out);
		for (const char *c = s->cause; *c; c++) {
			if (*c == '"' || *c == '\\')
				fputc('\\', out);
			fputc((unsigned char)*c < 0x20 ? '?' : *c, out);
		}
		fputc('"', out);
	}
	fputc('\n', out);
}
