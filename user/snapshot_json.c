// SPDX-License-Identifier: MIT
#include "snapshot_json.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "signals.h"
#include "version.h"

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *process_json(const struct cw_snapshot *s)
{
	const struct cw_proc_info *p = s->proc;
	json_t *o = json_object();

	json_object_set_new(o, "pid", json_integer(p->pid));
	json_object_set_new(o, "ppid", json_integer(p->ppid));
	json_object_set_new(o, "uid", json_integer(p->uid));
	json_object_set_new(o, "gid", json_integer(p->gid));
	json_object_set_new(o, "comm", json_string(p->comm));
	json_object_set_new(o, "exe", str_or_null(p->exe));
	json_object_set_new(o, "cmdline", str_or_null(p->cmdline));
	json_object_set_new(o, "cwd", str_or_null(p->cwd));
	json_object_set_new(o, "cgroup", str_or_null(p->cgroup));
	if (p->start_ticks) {
		struct timespec real, boot, start;
		long hz = sysconf(_SC_CLK_TCK);
		int64_t ns;
		char t[64];

		clock_gettime(CLOCK_REALTIME, &real);
		clock_gettime(CLOCK_BOOTTIME, &boot);
		ns = ((int64_t)real.tv_sec - boot.tv_sec) * 1000000000LL +
		     (real.tv_nsec - boot.tv_nsec) +
		     (int64_t)(p->start_ticks * (1000000000ULL / hz));
		start.tv_sec = ns / 1000000000LL;
		start.tv_nsec = ns % 1000000000LL;
		cw_iso_time(&start, t, sizeof(t));
		json_object_set_new(o, "start_time", json_string(t));
	} else {
		json_object_set_new(o, "start_time", json_null());
	}
	if (s->environment) {
		json_t *env = json_object();

		for (size_t at = 0; at < s->environment_len;) {
			const char *kv = s->environment + at;
			size_t len = strnlen(kv, s->environment_len - at);
			const char *eq = memchr(kv, '=', len);

			if (eq)
				json_object_setn_new(
					env, kv, (size_t)(eq - kv),
					json_stringn(eq + 1, len - (size_t)(eq - kv) - 1));
			at += len + 1;
		}
		json_object_set_new(o, "environment", env);
	}
	return o;
}

static json_t *signal_json(const struct cw_snapshot_options *o)
{
	const char *code = o->has_si_code ? cw_si_code_name(o->sig, o->si_code) : NULL;
	json_t *j;

	if (!o->sig)
		return json_null();
	j = json_object();
	json_object_set_new(j, "number", json_integer(o->sig));
	json_object_set_new(j, "name", json_string(cw_signal_name(o->sig)));
	json_object_set_new(j, "code", o->has_si_code ? json_integer(o->si_code) : json_null());
	json_object_set_new(j, "code_name", str_or_null(code));
	json_object_set_new(j, "address",
			    o->has_fault_addr ? cw_json_hex(o->fault_addr) : json_null());
	json_object_set_new(j, "sender_pid",
			    o->sender_pid ? json_integer(o->sender_pid) : json_null());
	return j;
}

static json_t *frame_json(size_t i, const struct cw_frame_info *f)
{
	json_t *o = json_object();

	json_object_set_new(o, "index", json_integer((json_int_t)i));
	json_object_set_new(o, "pc", cw_json_hex(f->pc));
	json_object_set_new(o, "function", str_or_null(f->function));
	json_object_set_new(o, "function_offset",
			    f->function ? json_integer((json_int_t)f->function_offset)
					: json_null());
	json_object_set_new(o, "module", str_or_null(f->module));
	json_object_set_new(o, "module_offset",
			    f->module ? cw_json_hex(f->module_offset) : json_null());
	json_object_set_new(o, "build_id", str_or_null(f->build_id));
	json_object_set_new(o, "file", str_or_null(f->file));
	json_object_set_new(o, "line", f->file ? json_integer(f->line) : json_null());
	/* An exact pc past the first frame: the context a signal interrupted. */
	json_object_set_new(o, "signal_frame", json_boolean(i > 0 && f->activation));
	return o;
}

static const struct cw_thread_capture *captured(const struct cw_snapshot *s, pid_t tid)
{
	if (!s->capture)
		return NULL;
	for (size_t i = 0; i < s->capture->n; i++)
		if (s->capture->threads[i].tid == tid)
			return &s->capture->threads[i];
	return NULL;
}

static json_t *threads_json(const struct cw_snapshot *s)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < s->unwound->n; i++) {
		const struct cw_unwound_thread *t = &s->unwound->threads[i];
		const struct cw_thread_capture *c = captured(s, t->tid);
		json_t *o = json_object(), *frames = json_array(), *regs = json_object();
		char state[2] = {c ? c->state : 0, 0};

		json_object_set_new(o, "tid", json_integer(t->tid));
		json_object_set_new(o, "name", c ? json_string(c->name) : json_null());
		json_object_set_new(o, "state", state[0] ? json_string(state) : json_null());
		json_object_set_new(o, "faulted", json_boolean(t->tid == s->opts->fault_tid));
		if (t->has_regs) {
			for (int r = 0; r < 17; r++)
				json_object_set_new(regs, cw_dwarf_reg_names[r],
						    cw_json_hex(t->regs[r]));
			json_object_set_new(o, "registers", regs);
		} else {
			json_decref(regs);
			json_object_set_new(o, "registers", json_null());
		}
		for (size_t f = 0; f < t->n; f++)
			json_array_append_new(frames, frame_json(f, &t->frames[f]));
		json_object_set_new(o, "frames", frames);
		json_object_set_new(o, "frames_truncated", json_boolean(t->frame_cap_hit));
		json_object_set_new(o, "stack_truncated", json_boolean(c && c->stack_truncated));
		json_object_set_new(o, "error", str_or_null(t->error));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *modules_json(const struct cw_unwinder *u)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < u->n_modules; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "path", str_or_null(u->modules[i].path));
		json_object_set_new(o, "start", cw_json_hex(u->modules[i].start));
		json_object_set_new(o, "end", cw_json_hex(u->modules[i].end));
		json_object_set_new(o, "build_id", str_or_null(u->modules[i].build_id));
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *cw_snapshot_json(const struct cw_snapshot *s)
{
	json_t *o = json_object(), *cls = json_array(), *attrs = json_object(),
	       *cap = json_object(), *notes = json_array(), *vanished = json_array();
	struct timespec now;
	char t[64];

	clock_gettime(CLOCK_REALTIME, &now);
	cw_iso_time(&now, t, sizeof(t));
	json_object_set_new(o, "version", json_integer(CW_SNAPSHOT_VERSION));
	json_object_set_new(o, "uuid", json_string(s->uuid));
	json_object_set_new(o, "timestamp", json_string(t));
	json_object_set_new(o, "host", cw_host_json());
	json_object_set_new(o, "process", process_json(s));
	json_object_set_new(
		o, "container",
		cw_container_json(s->container ? s->container : &(struct cw_container_info){0}));
	json_object_set_new(o, "signal", signal_json(s->opts));
	for (size_t i = 0; i < s->n_classifiers; i++)
		json_array_append_new(cls, json_string(s->classifiers[i]));
	json_object_set_new(o, "classifiers", cls);
	for (size_t i = 0; i < s->opts->n_kv; i++)
		json_object_set_new(attrs, s->opts->kv[i].key, json_string(s->opts->kv[i].value));
	json_object_set_new(o, "attributes", attrs);
	json_object_set_new(o, "threads", threads_json(s));
	json_object_set_new(o, "modules", modules_json(s->unwound));
	json_object_set_new(cap, "method", json_string(s->method));
	json_object_set_new(cap, "partial", json_false());
	json_object_set_new(cap, "pause_ms", json_real(s->pause_ms));
	json_object_set_new(cap, "total_ms", json_real(s->total_ms));
	json_object_set_new(cap, "tool", json_string("crashwatch-snapshot"));
	json_object_set_new(cap, "tool_version", json_string(CW_VERSION));
	for (size_t i = 0; s->capture && i < s->capture->n; i++)
		if (!s->capture->threads[i].captured)
			json_array_append_new(vanished, json_integer(s->capture->threads[i].tid));
	json_object_set_new(cap, "vanished_threads", vanished);
	json_object_set_new(cap, "process_vanished",
			    json_boolean(s->capture && s->capture->process_vanished));
	for (size_t i = 0; i < s->n_notes; i++)
		json_array_append_new(notes, json_string(s->notes[i]));
	json_object_set_new(cap, "notes", notes);
	json_object_set_new(o, "capture", cap);
	return o;
}
