// SPDX-License-Identifier: MIT
/* The full snapshot: what crashwatch-snapshot knows, as the document's description. */
#include "snapshot_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot_doc.h"

/* The arrays the description points into: freed once the JSON is built. */
struct full_parts {
	struct cw_doc_thread *threads;
	struct cw_doc_frame *frames;
	struct cw_doc_module *modules;
	struct cw_doc_attribute *attributes;
	pid_t *vanished;
	struct cw_doc_goroutine *goroutines;
	struct cw_doc_frame *go_frames;
	struct cw_doc_go go;
	struct cw_doc_requester requester;
	struct cw_assert assert_parts;
	char assert_line[16], abort_message[CW_ABORT_MESSAGE_MAX + 1];
	char exception_type[CW_CXX_TYPE_MAX + 64], panic_location[1100];
};

static void parts_free(struct full_parts *p)
{
	free(p->threads);
	free(p->frames);
	free(p->modules);
	free(p->attributes);
	free(p->vanished);
	free(p->goroutines);
	free(p->go_frames);
}

/* /proc/PID/stat's start time is in clock ticks since boot. */
static struct timespec start_time(uint64_t start_ticks)
{
	struct timespec real, boot;
	long hz = sysconf(_SC_CLK_TCK);
	int64_t ns;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	ns = ((int64_t)real.tv_sec - boot.tv_sec) * 1000000000LL + (real.tv_nsec - boot.tv_nsec) +
	     (int64_t)(start_ticks * (1000000000ULL / hz));
	return (struct timespec){.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
}

static void fill_process(const struct cw_snapshot *s, struct cw_doc_process *p)
{
	const struct cw_proc_info *pi = s->proc;

	*p = (struct cw_doc_process){
		.pid = pi->pid,
		.ppid = pi->ppid,
		.uid = pi->uid,
		.gid = pi->gid,
		.comm = pi->comm,
		.exe = pi->exe,
		.cmdline = pi->cmdline,
		.cwd = pi->cwd,
		.cgroup = pi->cgroup,
		.has_start_time = pi->start_ticks != 0,
		.environment = s->environment,
		.environment_len = s->environment_len,
	};
	if (pi->start_ticks)
		p->start_time = start_time(pi->start_ticks);
}

/* What the caller said of the crash (--signal, --si-code, …): none on demand. */
static bool fill_signal(const struct cw_snapshot_options *o, struct cw_doc_signal *sig)
{
	*sig = (struct cw_doc_signal){
		.number = o->sig,
		.has_code = o->has_si_code,
		.code = o->si_code,
		.has_address = o->has_fault_addr,
		.address = o->fault_addr,
		.has_sender = o->sender_pid != 0,
		.sender_pid = o->sender_pid,
	};
	return o->sig != 0;
}

static void fill_frame(const struct cw_frame_info *f, struct cw_doc_frame *d)
{
	*d = (struct cw_doc_frame){
		.pc = f->pc,
		.pc_exact = f->activation,
		.function = f->function,
		.symbol = f->symbol,
		.function_offset = f->function_offset,
		.module = f->module,
		/* Relative to the module libdwfl found at pc: none, no offset. */
		.has_module_offset = f->module != NULL,
		.module_offset = f->module_offset,
		.build_id = f->build_id,
		.file = f->file,
		.line = f->line,
	};
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

static void fill_thread(const struct cw_snapshot *s, const struct cw_unwound_thread *t,
			struct cw_doc_frame *frames, struct cw_doc_thread *d)
{
	const struct cw_thread_capture *c = captured(s, t->tid);

	*d = (struct cw_doc_thread){
		.tid = t->tid,
		.name = c ? c->name : NULL,
		.state = c ? c->state : 0,
		.faulted = t->tid == s->opts->fault_tid,
		.has_registers = t->has_regs,
		.frames = frames,
		.n_frames = t->n,
		.frames_truncated = t->frame_cap_hit,
		.stack_truncated = c && c->stack_truncated,
		.error = t->error,
	};
	for (int r = 0; r < CW_DWARF_REGS; r++)
		d->registers[r] = t->regs[r];
	for (size_t f = 0; f < t->n; f++)
		fill_frame(&t->frames[f], &frames[f]);
}

/* The arrays of s's description; false on ENOMEM. */
static bool parts_alloc(const struct cw_snapshot *s, struct full_parts *p)
{
	size_t n_frames = 0, n_threads = s->capture ? s->capture->n : 0;

	for (size_t i = 0; i < s->unwound->n; i++)
		n_frames += s->unwound->threads[i].n;
	/* calloc(0) may be NULL: one of each. */
	p->threads = calloc(s->unwound->n + 1, sizeof(*p->threads));
	p->frames = calloc(n_frames + 1, sizeof(*p->frames));
	p->modules = calloc(s->unwound->n_modules + 1, sizeof(*p->modules));
	p->attributes =
		/* + "error", "error.type", Go's "error", abort's 5, a C++ exception's 2, a Rust
		 * panic's 2 */
		calloc(s->opts->n_kv + 12, sizeof(*p->attributes));
	p->vanished = calloc(n_threads + 1, sizeof(*p->vanished));
	if (s->go) {
		size_t n_go_frames = 0;

		for (size_t i = 0; i < s->go->n; i++)
			n_go_frames += s->go->g[i].n_frames;
		p->goroutines = calloc(s->go->n + 1, sizeof(*p->goroutines));
		p->go_frames = calloc(n_go_frames + 1, sizeof(*p->go_frames));
		if (!p->goroutines || !p->go_frames)
			return false;
	}
	return p->threads && p->frames && p->modules && p->attributes && p->vanished;
}

/* A goroutine's frame, with the module libdwfl mapped at its pc. */
static void fill_go_frame(const struct cw_unwinder *u, const struct cw_go_frame *f,
			  struct cw_doc_frame *d)
{
	*d = (struct cw_doc_frame){
		.pc = f->pc,
		.pc_exact = f->exact,
		.function = f->function,
		.function_offset = f->function_offset,
		.file = f->file,
		.line = f->line,
	};
	for (size_t i = 0; i < u->n_modules; i++)
		if (f->pc >= u->modules[i].start && f->pc < u->modules[i].end) {
			d->module = u->modules[i].path;
			d->has_module_offset = true;
			d->module_offset = f->pc - u->modules[i].start;
			d->build_id = u->modules[i].build_id;
		}
}

/* With --thread: a goroutine running on one of them (the faulted one is always listed). */
static bool on_listed_thread(const struct cw_snapshot_options *o, pid_t tid)
{
	for (size_t i = 0; tid && i < o->n_threads; i++)
		if (o->threads[i] == tid)
			return true;
	return tid && tid == o->fault_tid;
}

/* The goroutines part: the runtime's own left out unless asked for; --thread filters too. */
static void fill_go(const struct cw_snapshot *s, struct full_parts *p, struct cw_snapshot_doc *d)
{
	const struct cw_go_capture *gc = s->go;
	struct cw_doc_frame *frames = p->go_frames;
	struct cw_doc_go *go = &p->go;
	struct cw_doc_goroutine *out = p->goroutines;

	*go = (struct cw_doc_go){
		.version = s->go_binary->version,
		.layouts = s->go_binary->layout_from,
		.goroutines_total = gc->total,
		.capped = gc->capped,
		.error = gc->error,
		.panicking = gc->panicking,
		.panic_type = gc->panic_type,
		.panic_message = gc->has_message ? gc->panic_message : NULL,
		.fatal_error = gc->fatal_message[0] ? gc->fatal_message : NULL,
		.panic_address = gc->panic_addr,
		.goroutines = out,
	};
	for (size_t i = 0; i < gc->n; i++) {
		const struct cw_goroutine *g = &gc->g[i];
		struct cw_doc_goroutine *o = &out[go->n_goroutines];

		if (g->system && !g->faulted && !s->opts->go_system) {
			go->system_left_out++;
			continue;
		}
		if (s->opts->n_threads && !g->faulted && !on_listed_thread(s->opts, g->tid)) {
			go->filtered_out++;
			continue;
		}
		*o = (struct cw_doc_goroutine){
			.id = g->goid,
			.status = cw_go_status_name(g->status),
			.wait_reason = cw_go_wait_reason(s->go_binary, g->waitreason),
			.thread = g->tid,
			.created_function = g->created_function,
			.created_file = g->created_file,
			.created_line = g->created_line,
			.frames = frames,
			.n_frames = g->n_frames,
			.frames_truncated = g->frames_truncated,
			.stack_truncated = g->stack_truncated,
			.faulted = g->faulted,
			.system = g->system,
		};
		for (size_t f = 0; f < g->n_frames; f++)
			fill_go_frame(s->unwound, &g->frames[f], frames++);
		go->n_goroutines++;
	}
	d->go = go;
	/* The seed's bt.Trace: the panic's message as the "error" attribute. */
	if (gc->panicking && (go->panic_message || gc->panic_type[0]))
		p->attributes[d->n_attributes++] = (struct cw_doc_attribute){
			"error", go->panic_message ? go->panic_message : go->panic_type};
	else if (go->fatal_error)
		p->attributes[d->n_attributes++] =
			(struct cw_doc_attribute){"error", go->fatal_error};
}

/* glibc's abort message: whole as abort.message, a failed assert() in its parts. */
static void fill_abort(const struct cw_abort_message *m, struct full_parts *p,
		       struct cw_snapshot_doc *d)
{
	struct cw_doc_attribute *a = p->attributes;
	struct cw_assert *as = &p->assert_parts;
	size_t n = strlen(m->message);

	snprintf(p->abort_message, sizeof(p->abort_message), "%s", m->message);
	if (n && p->abort_message[n - 1] == '\n')
		p->abort_message[n - 1] = 0;
	a[d->n_attributes++] = (struct cw_doc_attribute){"abort.message", p->abort_message};
	if (!cw_assert_parse(m->message, as))
		return;
	snprintf(p->assert_line, sizeof(p->assert_line), "%u", as->line);
	a[d->n_attributes++] = (struct cw_doc_attribute){"assert.expression", as->expression};
	a[d->n_attributes++] = (struct cw_doc_attribute){"assert.file", as->file};
	a[d->n_attributes++] = (struct cw_doc_attribute){"assert.line", p->assert_line};
	if (as->function[0])
		a[d->n_attributes++] = (struct cw_doc_attribute){"assert.function", as->function};
}

/* The uncaught C++ exception: its type (readable) always, what() when the object keeps it. */
static void fill_cxx(const struct cw_cxx_exception *x, struct full_parts *p,
		     struct cw_snapshot_doc *d)
{
	struct cw_doc_attribute *a = p->attributes;

	if (x->foreign)
		snprintf(p->exception_type, sizeof(p->exception_type), "(a foreign exception)");
	else if (x->type[0])
		cw_cxx_type_name(x->type, p->exception_type, sizeof(p->exception_type));
	else
		snprintf(p->exception_type, sizeof(p->exception_type), "(unknown type)");
	a[d->n_attributes++] = (struct cw_doc_attribute){"exception.type", p->exception_type};
	if (x->has_message)
		a[d->n_attributes++] = (struct cw_doc_attribute){"exception.message", x->message};
}

/* A Rust panic: its message and where it was raised ("src/main.rs:3:5"). */
static void fill_rust(const struct cw_rust_panic *r, struct full_parts *p,
		      struct cw_snapshot_doc *d)
{
	struct cw_doc_attribute *a = p->attributes;

	if (r->has_message)
		a[d->n_attributes++] = (struct cw_doc_attribute){"panic.message", r->message};
	if (r->has_location) {
		snprintf(p->panic_location, sizeof(p->panic_location), "%s:%u:%u", r->file, r->line,
			 r->column);
		a[d->n_attributes++] =
			(struct cw_doc_attribute){"panic.location", p->panic_location};
	}
}

static void fill(const struct cw_snapshot *s, struct full_parts *p, struct cw_snapshot_doc *d)
{
	const struct cw_unwinder *u = s->unwound;
	struct cw_doc_frame *frames = p->frames;
	size_t n_vanished = 0;

	*d = (struct cw_snapshot_doc){
		.uuid = s->uuid,
		.container = s->container,
		.classifiers = s->classifiers,
		.n_classifiers = s->n_classifiers,
		.attributes = p->attributes,
		.n_attributes = s->opts->n_kv,
		.threads = p->threads,
		.n_threads = u->n,
		.modules = p->modules,
		.n_modules = u->n_modules,
	};
	fill_process(s, &d->process);
	d->has_signal = fill_signal(s->opts, &d->signal);
	for (size_t i = 0; i < s->opts->n_kv; i++)
		p->attributes[i] =
			(struct cw_doc_attribute){s->opts->kv[i].key, s->opts->kv[i].value};
	/* After the --kv pairs: given on purpose, they win over a pair of the same key. */
	if (s->opts->error)
		p->attributes[d->n_attributes++] =
			(struct cw_doc_attribute){"error", s->opts->error};
	if (s->opts->error_type)
		p->attributes[d->n_attributes++] =
			(struct cw_doc_attribute){"error.type", s->opts->error_type};
	d->trigger = s->opts->trigger;
	if (s->opts->has_requester) {
		p->requester = (struct cw_doc_requester){
			.pid = s->opts->requester_pid,
			.uid = s->opts->requester_uid,
			.gid = s->opts->requester_gid,
			.comm = s->opts->requester_comm,
		};
		d->requested_by = &p->requester;
	}
	for (size_t i = 0; i < u->n; i++) {
		fill_thread(s, &u->threads[i], frames, &p->threads[i]);
		frames += u->threads[i].n;
	}
	for (size_t i = 0; i < u->n_modules; i++)
		p->modules[i] = (struct cw_doc_module){
			.path = u->modules[i].path,
			.has_range = true,
			.start = u->modules[i].start,
			.end = u->modules[i].end,
			.build_id = u->modules[i].build_id,
		};
	for (size_t i = 0; s->capture && i < s->capture->n; i++)
		if (!s->capture->threads[i].captured)
			p->vanished[n_vanished++] = s->capture->threads[i].tid;
	if (s->go)
		fill_go(s, p, d);
	if (s->abort_msg)
		fill_abort(s->abort_msg, p, d);
	if (s->cxx)
		fill_cxx(s->cxx, p, d);
	if (s->rust)
		fill_rust(s->rust, p, d);
	d->timeline = s->timeline;
	d->capture = (struct cw_doc_capture){
		.method = s->method,
		.pause_ms = s->pause_ms,
		.window_ms = s->window_ms,
		.staggered = s->staggered,
		.has_total_ms = true,
		.total_ms = s->total_ms,
		.tool = "crashwatch-snapshot",
		.vanished_threads = p->vanished,
		.n_vanished_threads = n_vanished,
		.process_vanished = s->capture && s->capture->process_vanished,
		.notes = s->notes,
		.n_notes = s->n_notes,
	};
}

json_t *cw_snapshot_json(const struct cw_snapshot *s)
{
	/* 16 KiB of assert parts: not on the stack. */
	struct full_parts *p = calloc(1, sizeof(*p));
	struct cw_snapshot_doc d;
	json_t *doc = NULL;

	if (!p)
		return NULL;
	if (parts_alloc(s, p)) {
		fill(s, p, &d);
		doc = cw_snapshot_doc_json(&d);
	}
	parts_free(p);
	free(p);
	return doc;
}
