// SPDX-License-Identifier: MIT
#include "snapshot_doc.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signals.h"
#include "version.h"

/*
 * Text as it is.  The kernel's comm and the paths of a process are bytes,
 * not UTF-8, and jansson refuses (json_string) or cannot dump (nocheck)
 * what is not: the bytes past ASCII become '?' then, so the key stays.
 */
static json_t *text(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *c = copy; *c; c++)
		if ((unsigned char)*c >= 0x80)
			*c = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* docs/snapshot.md: a field that is not known is null; an empty name tells nothing. */
static json_t *text_or_null(const char *s)
{
	return s && s[0] ? text(s) : json_null();
}

static json_t *time_json(const struct timespec *ts)
{
	char t[64];

	cw_iso_time(ts, t, sizeof(t));
	return json_string(t);
}

static json_t *environment_json(const char *env, size_t len)
{
	json_t *o = json_object();

	for (size_t at = 0; at < len;) {
		const char *kv = env + at;
		size_t n = strnlen(kv, len - at);
		const char *eq = memchr(kv, '=', n);

		if (eq)
			json_object_setn_new(o, kv, (size_t)(eq - kv),
					     json_stringn(eq + 1, n - (size_t)(eq - kv) - 1));
		at += n + 1;
	}
	return o;
}

static json_t *process_json(const struct cw_doc_process *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "pid", json_integer(p->pid));
	json_object_set_new(o, "ppid", json_integer(p->ppid));
	json_object_set_new(o, "uid", json_integer(p->uid));
	json_object_set_new(o, "gid", json_integer(p->gid));
	json_object_set_new(o, "comm", text(p->comm ? p->comm : ""));
	json_object_set_new(o, "exe", text_or_null(p->exe));
	json_object_set_new(o, "cmdline", text_or_null(p->cmdline));
	json_object_set_new(o, "cwd", text_or_null(p->cwd));
	json_object_set_new(o, "cgroup", text_or_null(p->cgroup));
	json_object_set_new(o, "start_time",
			    p->has_start_time ? time_json(&p->start_time) : json_null());
	if (p->environment)
		json_object_set_new(o, "environment",
				    environment_json(p->environment, p->environment_len));
	return o;
}

static json_t *signal_json(const struct cw_doc_signal *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "number", json_integer(s->number));
	json_object_set_new(o, "name", json_string(cw_signal_name(s->number)));
	json_object_set_new(o, "code", s->has_code ? json_integer(s->code) : json_null());
	json_object_set_new(o, "code_name",
			    text_or_null(s->has_code ? cw_si_code_name(s->number, s->code) : NULL));
	json_object_set_new(o, "address", s->has_address ? cw_json_hex(s->address) : json_null());
	json_object_set_new(o, "sender_pid",
			    s->has_sender ? json_integer(s->sender_pid) : json_null());
	return o;
}

static json_t *strings_json(const char *const *s, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, text(s[i]));
	return a;
}

static json_t *frame_json(size_t i, const struct cw_doc_frame *f)
{
	bool function = f->function && f->function[0], file = f->file && f->file[0];
	json_t *o = json_object();

	json_object_set_new(o, "index", json_integer((json_int_t)i));
	json_object_set_new(o, "pc", cw_json_hex(f->pc));
	json_object_set_new(o, "function", text_or_null(f->function));
	json_object_set_new(o, "symbol",
			    f->symbol && function && strcmp(f->symbol, f->function) != 0
				    ? text(f->symbol)
				    : json_null());
	json_object_set_new(o, "function_offset",
			    function ? json_integer((json_int_t)f->function_offset) : json_null());
	json_object_set_new(o, "module", text_or_null(f->module));
	json_object_set_new(o, "module_offset",
			    f->has_module_offset ? cw_json_hex(f->module_offset) : json_null());
	json_object_set_new(o, "build_id", text_or_null(f->build_id));
	json_object_set_new(o, "file", text_or_null(f->file));
	json_object_set_new(o, "line", file ? json_integer(f->line) : json_null());
	/* An exact pc past the first frame: the context a signal interrupted. */
	json_object_set_new(o, "signal_frame", json_boolean(i > 0 && f->pc_exact));
	return o;
}

static json_t *thread_json(const struct cw_doc_thread *t)
{
	char state[2] = {t->state, 0};
	json_t *o = json_object(), *frames = json_array();

	json_object_set_new(o, "tid", json_integer(t->tid));
	json_object_set_new(o, "name", text_or_null(t->name));
	json_object_set_new(o, "state", state[0] ? json_string(state) : json_null());
	json_object_set_new(o, "faulted", json_boolean(t->faulted));
	if (t->has_registers) {
		json_t *regs = json_object();

		for (int r = 0; r < CW_DWARF_REGS; r++)
			json_object_set_new(regs, cw_dwarf_reg_names[r],
					    cw_json_hex(t->registers[r]));
		json_object_set_new(o, "registers", regs);
	} else {
		json_object_set_new(o, "registers", json_null());
	}
	for (size_t i = 0; i < t->n_frames; i++)
		json_array_append_new(frames, frame_json(i, &t->frames[i]));
	json_object_set_new(o, "frames", frames);
	json_object_set_new(o, "frames_truncated", json_boolean(t->frames_truncated));
	json_object_set_new(o, "stack_truncated", json_boolean(t->stack_truncated));
	json_object_set_new(o, "error", text_or_null(t->error));
	return o;
}

static json_t *goroutine_json(const struct cw_doc_goroutine *g)
{
	json_t *o = json_object(), *frames = json_array(), *by = json_null();

	if (g->created_function) {
		by = json_object();
		json_object_set_new(by, "function", text_or_null(g->created_function));
		json_object_set_new(by, "file", text_or_null(g->created_file));
		json_object_set_new(by, "line",
				    g->created_file ? json_integer(g->created_line) : json_null());
	}
	json_object_set_new(o, "id", json_integer((json_int_t)g->id));
	json_object_set_new(o, "status", text_or_null(g->status));
	json_object_set_new(o, "wait_reason", text_or_null(g->wait_reason));
	json_object_set_new(o, "thread", g->thread ? json_integer(g->thread) : json_null());
	json_object_set_new(o, "created_by", by);
	for (size_t i = 0; i < g->n_frames; i++)
		json_array_append_new(frames, frame_json(i, &g->frames[i]));
	json_object_set_new(o, "frames", frames);
	json_object_set_new(o, "frames_truncated", json_boolean(g->frames_truncated));
	json_object_set_new(o, "stack_truncated", json_boolean(g->stack_truncated));
	json_object_set_new(o, "faulted", json_boolean(g->faulted));
	json_object_set_new(o, "system", json_boolean(g->system));
	return o;
}

static json_t *go_json(const struct cw_doc_go *g)
{
	json_t *o = json_object(), *panic = json_null();

	if (g->panicking) {
		panic = json_object();
		json_object_set_new(panic, "type", text_or_null(g->panic_type));
		json_object_set_new(panic, "message", text_or_null(g->panic_message));
		json_object_set_new(panic, "address", cw_json_hex(g->panic_address));
	}
	json_object_set_new(o, "version", text_or_null(g->version));
	json_object_set_new(o, "layouts", text_or_null(g->layouts));
	json_object_set_new(o, "goroutines_total", json_integer((json_int_t)g->goroutines_total));
	json_object_set_new(o, "system_goroutines_left_out",
			    json_integer((json_int_t)g->system_left_out));
	json_object_set_new(o, "goroutines_filtered_out",
			    json_integer((json_int_t)g->filtered_out));
	json_object_set_new(o, "goroutines_capped", json_boolean(g->capped));
	json_object_set_new(o, "error", text_or_null(g->error));
	json_object_set_new(o, "panic", panic);
	json_object_set_new(o, "fatal_error", text_or_null(g->fatal_error));
	return o;
}

static json_t *module_json(const struct cw_doc_module *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "path", text_or_null(m->path));
	json_object_set_new(o, "start", m->has_range ? cw_json_hex(m->start) : json_null());
	json_object_set_new(o, "end", m->has_range ? cw_json_hex(m->end) : json_null());
	json_object_set_new(o, "build_id", text_or_null(m->build_id));
	return o;
}

static json_t *capture_json(const struct cw_doc_capture *c)
{
	json_t *o = json_object(), *vanished = json_array();

	json_object_set_new(o, "method", json_string(c->method));
	json_object_set_new(o, "partial",
			    json_boolean(strcmp(c->method, CW_METHOD_FIRST_CAPTURE) == 0));
	json_object_set_new(o, "pause_ms", json_real(c->pause_ms));
	json_object_set_new(o, "stopped_together", json_boolean(!c->staggered));
	json_object_set_new(o, "window_ms", json_real(c->staggered ? c->window_ms : c->pause_ms));
	json_object_set_new(o, "total_ms", c->has_total_ms ? json_real(c->total_ms) : json_null());
	json_object_set_new(o, "tool", json_string(c->tool));
	json_object_set_new(o, "tool_version", json_string(CW_VERSION));
	for (size_t i = 0; i < c->n_vanished_threads; i++)
		json_array_append_new(vanished, json_integer(c->vanished_threads[i]));
	json_object_set_new(o, "vanished_threads", vanished);
	json_object_set_new(o, "process_vanished", json_boolean(c->process_vanished));
	json_object_set_new(o, "notes", strings_json(c->notes, c->n_notes));
	return o;
}

static json_t *aggregate_json(const struct cw_doc_aggregate *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "signature", json_sprintf("%016" PRIx64, a->signature));
	json_object_set_new(o, "count",
			    json_integer((json_int_t)(a->duplicates + a->rate_limited)));
	json_object_set_new(o, "duplicates", json_integer((json_int_t)a->duplicates));
	json_object_set_new(o, "rate_limited", json_integer((json_int_t)a->rate_limited));
	json_object_set_new(o, "counted_on", text_or_null(a->counted_on));
	json_object_set_new(o, "first", time_json(&a->first));
	json_object_set_new(o, "last", time_json(&a->last));
	return o;
}

static const char *attribute(const struct cw_snapshot_doc *d, const char *key)
{
	/* The last of a key: the document keeps that one. */
	for (size_t i = d->n_attributes; i-- > 0;)
		if (strcmp(d->attributes[i].key, key) == 0)
			return d->attributes[i].value[0] ? d->attributes[i].value : NULL;
	return NULL;
}

/* The classifier that names a cause (classify.h), in words; NULL: none. */
static const char *cause_words(const struct cw_snapshot_doc *d, char *buf, size_t cap)
{
	static const char *const causes[] = {
		"null-pointer-dereference",  "stack-overflow",
		"write-to-read-only-memory", "execute-non-executable-memory",
		"stack-protector-failure",   "fortify-failure",
		"assertion-failure",	     "abort",
		"division-by-zero",	     "arithmetic-error",
		"illegal-instruction",	     "bus-error",
		"invalid-memory-access",     "bad-system-call",
	};

	for (size_t i = 0; i < d->n_classifiers; i++)
		for (size_t c = 0; c < sizeof(causes) / sizeof(causes[0]); c++)
			if (strcmp(d->classifiers[i], causes[c]) == 0) {
				snprintf(buf, cap, "%s", causes[c]);
				for (char *p = buf; *p; p++)
					if (*p == '-')
						*p = ' ';
				return buf;
			}
	return NULL;
}

static bool in_libc(const struct cw_doc_frame *f)
{
	const char *base = f->module ? strrchr(f->module, '/') : NULL;

	base = base ? base + 1 : f->module;
	return base && (strncmp(base, "libc.so", 7) == 0 || strncmp(base, "libc-", 5) == 0);
}

/*
 * " in FUNCTION (FILE:LINE)": the faulted thread's top frame, past the C
 * library's own after an abort (abort, raise, __assert_fail, ...).
 */
static void where(const struct cw_snapshot_doc *d, char *buf, size_t cap)
{
	const struct cw_doc_thread *t = d->n_threads ? &d->threads[0] : NULL;
	const struct cw_doc_frame *f = NULL;

	buf[0] = 0;
	for (size_t i = 0; i < d->n_threads; i++)
		if (d->threads[i].faulted)
			t = &d->threads[i];
	for (size_t i = 0; t && i < t->n_frames && !f; i++)
		if (!(d->has_signal && d->signal.number == SIGABRT && in_libc(&t->frames[i])) ||
		    i + 1 == t->n_frames)
			f = &t->frames[i];
	if (!f)
		return;
	if (f->function && f->function[0] && f->file && f->file[0])
		snprintf(buf, cap, " in %s (%s:%d)", f->function, f->file, f->line);
	else if (f->function && f->function[0])
		snprintf(buf, cap, " in %s", f->function);
	else if (f->module && f->module[0])
		snprintf(buf, cap, " in %s+0x%" PRIx64, f->module, f->module_offset);
	else
		snprintf(buf, cap, " at pc 0x%" PRIx64, f->pc);
}

static bool classified(const struct cw_snapshot_doc *d, const char *name)
{
	for (size_t i = 0; i < d->n_classifiers; i++)
		if (strcmp(d->classifiers[i], name) == 0)
			return true;
	return false;
}

/* As Rust's own panic hook (1.63) says it: "panicked at 'MESSAGE', FILE:LINE:COL". */
static json_t *rust_panic_cause(const struct cw_snapshot_doc *d, char *line, size_t cap)
{
	const char *msg = attribute(d, "panic.message"), *loc = attribute(d, "panic.location");

	if (msg && loc)
		snprintf(line, cap, "panicked at '%s', %s", msg, loc);
	else if (msg)
		snprintf(line, cap, "panicked at '%s'", msg);
	else if (loc)
		snprintf(line, cap, "panicked at %s", loc);
	else
		snprintf(line, cap, "panicked (Rust)");
	return text(line);
}

/*
 * docs/snapshot.md "cause": one line a person reads first, from what is
 * known.  NULL: none (an on-demand snapshot).
 */
static json_t *cause_json(const struct cw_snapshot_doc *d)
{
	char words[64], at[1024], addr[40] = "", line[8192];
	const char *expr = attribute(d, "assert.expression"), *msg = attribute(d, "abort.message");
	const char *cause;

	if (d->go && d->go->fatal_error)
		return json_sprintf("fatal error: %s", d->go->fatal_error);
	if (d->go && d->go->panicking)
		return json_sprintf("panic: %s", d->go->panic_message ? d->go->panic_message
						 : d->go->panic_type  ? d->go->panic_type
								      : "(unknown value)");
	if (classified(d, "rust-panic"))
		return rust_panic_cause(d, line, sizeof(line));
	if (!d->has_signal && attribute(d, "usdt.probe")) {
		/* watch --snapshot-on: the program was paused at its own trace event. */
		where(d, at, sizeof(at));
		snprintf(line, sizeof(line), "trace event %s%s", attribute(d, "usdt.probe"), at);
		return text(line);
	}
	if (!d->has_signal) {
		/* Asked for with an error (docs/snapshot.md "Snapshots on request"). */
		const char *error = attribute(d, "error"), *type = attribute(d, "error.type");

		if (!error)
			return json_null();
		snprintf(line, sizeof(line), "%s: %s", type ? type : "error", error);
		return text(line);
	}
	if (attribute(d, "exception.type")) {
		const char *what = attribute(d, "exception.message");

		snprintf(line, sizeof(line), "uncaught exception %s%s%s",
			 attribute(d, "exception.type"), what ? ": " : "", what ? what : "");
		return text(line);
	}
	if (expr) {
		const char *file = attribute(d, "assert.file"),
			   *fn = attribute(d, "assert.function");

		snprintf(line, sizeof(line), "assertion failed: %s (%s:%s%s%s)", expr,
			 file ? file : "?",
			 attribute(d, "assert.line") ? attribute(d, "assert.line") : "?",
			 fn ? ", " : "", fn ? fn : "");
		return text(line);
	}
	where(d, at, sizeof(at));
	cause = cause_words(d, words, sizeof(words));
	if (msg) {
		snprintf(line, sizeof(line), "abort: %s%s", msg, at);
		return text(line);
	}
	if (d->signal.has_address && !(cause && strcmp(cause, "stack overflow") == 0))
		snprintf(addr, sizeof(addr), " at 0x%" PRIx64, d->signal.address);
	if (cause) {
		snprintf(line, sizeof(line), "%s%s%s", cause, addr, at);
	} else {
		const char *code = d->signal.has_code
					   ? cw_si_code_name(d->signal.number, d->signal.code)
					   : NULL;

		const char *name = cw_signal_name(d->signal.number);

		snprintf(line, sizeof(line), "%s%s%s%s%s", name ? name : "a signal",
			 code ? " (" : "", code ? code : "", code ? ")" : "", addr);
		snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s", at);
	}
	return text(line);
}

static const char *trigger(const struct cw_snapshot_doc *d)
{
	if (d->trigger)
		return d->trigger;
	if (d->has_signal || (d->go && (d->go->panicking || d->go->fatal_error)))
		return "crash";
	return "on-demand";
}

static json_t *requester_json(const struct cw_doc_requester *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "pid", json_integer(r->pid));
	json_object_set_new(o, "uid", json_integer(r->uid));
	json_object_set_new(o, "gid", json_integer(r->gid));
	json_object_set_new(o, "comm", text_or_null(r->comm));
	return o;
}

json_t *cw_snapshot_doc_json(const struct cw_snapshot_doc *d)
{
	json_t *o = json_object(), *attrs = json_object(), *threads = json_array(),
	       *mods = json_array();
	struct timespec now;

	if (!o || !attrs || !threads || !mods) {
		json_decref(o);
		json_decref(attrs);
		json_decref(threads);
		json_decref(mods);
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	json_object_set_new(o, "version", json_integer(CW_SNAPSHOT_VERSION));
	json_object_set_new(o, "uuid", json_string(d->uuid));
	json_object_set_new(o, "timestamp", time_json(&now));
	json_object_set_new(o, "cause", cause_json(d));
	json_object_set_new(o, "trigger", json_string(trigger(d)));
	json_object_set_new(o, "requested_by",
			    d->requested_by ? requester_json(d->requested_by) : json_null());
	json_object_set_new(o, "host", cw_host_json());
	json_object_set_new(o, "process", process_json(&d->process));
	json_object_set_new(
		o, "container",
		cw_container_json(d->container ? d->container : &(struct cw_container_info){0}));
	json_object_set_new(o, "signal", d->has_signal ? signal_json(&d->signal) : json_null());
	json_object_set_new(o, "classifiers", strings_json(d->classifiers, d->n_classifiers));
	for (size_t i = 0; i < d->n_attributes; i++)
		json_object_set_new(attrs, d->attributes[i].key, text(d->attributes[i].value));
	json_object_set_new(o, "attributes", attrs);
	for (size_t i = 0; i < d->n_threads; i++)
		json_array_append_new(threads, thread_json(&d->threads[i]));
	json_object_set_new(o, "threads", threads);
	if (d->go) {
		json_t *gs = json_array();

		for (size_t i = 0; i < d->go->n_goroutines; i++)
			json_array_append_new(gs, goroutine_json(&d->go->goroutines[i]));
		json_object_set_new(o, "goroutines", gs);
		json_object_set_new(o, "go", go_json(d->go));
	}
	for (size_t i = 0; i < d->n_modules; i++)
		json_array_append_new(mods, module_json(&d->modules[i]));
	json_object_set_new(o, "modules", mods);
	json_object_set_new(o, "capture", capture_json(&d->capture));
	if (d->aggregate)
		json_object_set_new(o, "aggregate", aggregate_json(d->aggregate));
	if (d->timeline && d->timeline[0])
		json_object_set_new(o, "timeline",
				    json_pack("{s:s, s:s}", "file", d->timeline, "format",
					      "chrome-trace-event"));
	return o;
}
