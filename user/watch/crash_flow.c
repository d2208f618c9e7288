// SPDX-License-Identifier: MIT
#include "crash_flow.h"

#include <errno.h>
#include <jansson.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event_decode.h"
#include "outcome_index.h"
#include "partial_snapshot.h"
#include "snapshot_options.h"
#include "snapshot_stack.h"
#include "spool.h"

/* Suppressed crashes reach the spool within this, as aggregates. */
#define AGGREGATE_FLUSH_S 60

/* A spool that takes no file (full, read-only) is said at most this often; each failure counts. */
#define SPOOL_FAIL_SAY_S 60

/* The flight recorder's timeline of the held process, beside its snapshot. */
static int flight_timeline(void *arg, pid_t pid, const char *dir, char *path, size_t cap)
{
	return cw_flight_write_timeline(arg, pid, dir, path, cap);
}

int cw_crash_flow_start(struct cw_crash_flow *f, const struct cw_crash_flow_config *c)
{
	int err;

	f->c = *c;
	snprintf(f->why_unheld, sizeof(f->why_unheld),
		 "no hold point caught this crash (not dumpable, traced, or kernel.core_pattern "
		 "not crashwatch's)");
	if (!c->o->hold)
		return 0;
	cw_admission_init(&f->adm, c->o->rate_limit, c->o->rate_burst, c->o->dedup_window_s);
	err = cw_registry_init(&f->registry, c->registry);
	if (err < 0) {
		fprintf(stderr, "crashwatch: failed to set up the hold registry %s: %s\n",
			c->registry, strerror(-err));
		return err;
	}
	/*
	 * Symbols and DWARF kept warm across crashes, by build-id, out of the
	 * watcher's process: a crash in the unwinder never takes it down.
	 */
	if (c->symbol_server) {
		err = cw_make_dir(CW_STATE_DIR);
		if (err == 0)
			err = cw_symbol_server_start(&f->symbols, c->tool, CW_SYMBOL_SOCKET, 0,
						     c->o->debug_dirs, c->o->n_debug_dirs);
		if (err < 0)
			fprintf(stderr,
				"crashwatch: no symbol server (%s): each snapshot tool symbolizes "
				"on its own, ignoring\n",
				strerror(-err));
		else
			fprintf(stderr,
				"crashwatch: symbol server on %s (pid %d): symbols and source "
				"lines kept across crashes, by build-id\n",
				CW_SYMBOL_SOCKET, (int)f->symbols.pid);
	}
	err = cw_hold_pool_start(&f->pool,
				 &(struct cw_hold_config){
					 .tool = c->tool,
					 .symbolizer = f->symbols.pid ? CW_SYMBOL_SOCKET : NULL,
					 .dir = c->spool,
					 .timeout_s = c->o->hold_timeout_s,
					 .stack_bytes = c->o->stack_bytes,
					 .registry = &f->registry,
					 .cancel_fd = -1,
					 .redact = c->o->redact,
					 .n_redact = c->o->n_redact,
					 .no_redact = c->o->no_redact,
					 .debug_dirs = c->o->debug_dirs,
					 .n_debug_dirs = c->o->n_debug_dirs,
					 .beside = c->flight ? flight_timeline : NULL,
					 .beside_arg = c->flight,
				 },
				 c->o->max_holds, c->o->hold_queue, c->o->max_requests,
				 c->o->request_queue);
	f->started = true;
	if (err < 0)
		fprintf(stderr, "crashwatch: failed to start the hold threads: %s\n",
			strerror(-err));
	return err;
}

int cw_crash_flow_done_fd(const struct cw_crash_flow *f)
{
	return f->started ? f->pool.done_fd : -1;
}

/* A snapshot entered the spool: keep the spool in bounds and send it on. */
static void spooled(struct cw_crash_flow *f)
{
	int n = cw_spool_enforce(f->c.spool, (size_t)f->c.o->spool_max_files,
				 f->c.o->spool_max_bytes);

	if (n > 0) {
		f->spool_dropped += (uint64_t)n;
		fprintf(stderr,
			"crashwatch: the spool %s is full: dropped the %d oldest snapshot(s) "
			"(--spool-max-files, --spool-max-bytes)\n",
			f->c.spool, n);
	}
	if (!f->c.up || !f->c.up->target)
		return;
	cw_uploader_kick(f->c.up);
	if (f->c.o->upload_sync && !cw_uploader_wait(f->c.up, f->c.upload_timeout_s + 5.0))
		fprintf(stderr, "crashwatch: the upload did not finish in time: it goes on in the "
				"background\n");
}

/*
 * A document the spool did not take: counted, and said unless it was said
 * less than SPOOL_FAIL_SAY_S ago (a full spool in a crash storm would
 * otherwise say it for every crash).
 */
static void spool_write_failed(struct cw_crash_flow *f, unsigned pid, const char *err)
{
	double now = cw_monotonic_s();

	f->spool_write_failed++;
	if (f->spool_fail_said_at > 0 && now - f->spool_fail_said_at < SPOOL_FAIL_SAY_S) {
		f->spool_fail_unsaid++;
		return;
	}
	fprintf(stderr,
		"crashwatch: failed to write the snapshot of %u: %s; its record has path null. "
		"Free or fix the spool %s (said at most once a minute, every failure counted in "
		"spool_write_failed",
		pid, err, f->c.spool);
	if (f->spool_fail_unsaid)
		fprintf(stderr, "; %" PRIu64 " more since the last message", f->spool_fail_unsaid);
	fputs(")\n", stderr);
	f->spool_fail_said_at = now;
	f->spool_fail_unsaid = 0;
}

/*
 * No hold caught this crash, or the tool failed: the kernel's first capture
 * stands in, with the flight recorder's seconds before the crash beside it
 * as beside a full snapshot: held_timeline, written while the process was
 * held for the tool (moved, or left for the caller to remove), or else
 * written now (the process is gone: its frames are named only as addresses).
 */
static void write_partial(struct cw_crash_flow *f, const struct cw_signal_event *ev,
			  const char *held_timeline, struct cw_snapshot_outcome *out, char *path,
			  size_t cap, const char *why)
{
	char err[512], timeline[4096] = "";
	const char *beside = held_timeline;
	int r;

	out->partial = true;
	out->why_partial = why;
	out->path = path;
	if ((!beside || !beside[0]) && f->c.flight &&
	    flight_timeline(f->c.flight, (pid_t)ev->task.pid, f->c.spool, timeline,
			    sizeof(timeline)) == 0)
		beside = timeline;
	r = cw_partial_snapshot_write(ev, f->c.sym, why, beside, f->c.spool, path, cap, err,
				      sizeof(err));
	/* Not moved beside the document: nothing else would ever remove it. */
	if (timeline[0])
		unlink(timeline);
	if (r < 0) {
		spool_write_failed(f, ev->task.pid, err);
		/* The record still comes, and says why there is no file. */
		snprintf(f->unwritten_why, sizeof(f->unwritten_why), "%s; not written: %s", why,
			 err);
		out->why_partial = f->unwritten_why;
		path[0] = '\0';
		return;
	}
	f->partial_snapshots++;
	cw_admission_snapshotted(&f->adm, ev, path);
	/* A few KiB written just now; read before an upload can move it. */
	cw_snapshot_summary(path, f->partial_cause, sizeof(f->partial_cause), NULL);
	out->cause = f->partial_cause;
}

/*
 * The outcome record; in the readable output the stack of the crash
 * follows it: the snapshot's faulted thread (CFI-unwound), else the first
 * capture.  ev->task.pid 0: a crash the kernel side did not report.
 * out->cause and stack were read from the snapshot (cw_snapshot_summary) by
 * whoever wrote it, or are NULL: the loop never parses a document.
 */
static void print_outcome(struct cw_crash_flow *f, const struct cw_signal_event *ev,
			  const struct cw_snapshot_outcome *out, enum cw_hold_point at,
			  const char *stack)
{
	struct cw_snapshot_outcome said = *out;
	enum cw_crash_snapshot snap = !out->path[0]  ? CW_SNAP_NONE
				      : out->partial ? CW_SNAP_PARTIAL
						     : CW_SNAP_FULL;
	const char *cause = out->cause && out->cause[0] ? out->cause : NULL;

	/* The readable record leads with the snapshot's cause line (docs/snapshot.md). */
	said.cause = f->c.fmt.json ? NULL : cause;
	/* A program paused at its own trace event did not crash: not counted, not listed. */
	if (!(ev->flags & CW_SIG_AT_USDT)) {
		cw_crash_stats_note(&f->stats, ev->sig, at, snap, out->held_ms);
		cw_outcome_index(f->c.spool, ev, at, snap, out->path, cause);
	}
	cw_format_snapshot(stdout, ev, &said, &f->c.fmt);
	if (f->c.fmt.json || !f->c.fmt.show_stack)
		return;
	if (!out->partial && stack) {
		fputs(stack, stdout);
		return;
	}
	if (ev->nr_ips)
		cw_format_first_capture_stack(stdout, ev, f->c.sym);
}

/* A crash that got nothing better: its partial snapshot, and the record. */
static void partial_outcome(struct cw_crash_flow *f, const struct cw_signal_event *ev,
			    const char *why)
{
	struct cw_snapshot_outcome out = {.path = "", .tool_status = -1};
	char path[4096];

	write_partial(f, ev, NULL, &out, path, sizeof(path), why);
	if (out.path[0])
		spooled(f);
	print_outcome(f, ev, &out, CW_HELD_NONE, NULL);
}

/* A crash admission turned away: said, and counted. */
static void suppressed_outcome(struct cw_crash_flow *f, const struct cw_signal_event *ev,
			       enum cw_suppressed_why why, enum cw_hold_point at)
{
	cw_crash_stats_note(&f->stats, ev->sig, at, CW_SNAP_SUPPRESSED, 0);
	cw_outcome_index(f->c.spool, ev, at, CW_SNAP_SUPPRESSED, NULL, NULL);
	cw_admission_report(&f->adm, ev, why, stdout, &f->c.fmt);
}

static const char *why_hold_failed(const struct cw_hold_job *j, char *buf, size_t cap)
{
	const struct cw_hold_result *r = &j->r;

	if (j->err == -ESRCH)
		snprintf(buf, cap, "the process did not stop for the hold");
	else if (r->cancelled)
		snprintf(buf, cap, "the watcher stopped before the snapshot was written");
	else if (r->timed_out)
		snprintf(buf, cap, "the snapshot tool did not finish within the hold deadline");
	else if (r->tool_status == CW_SNAP_UNWRITTEN)
		snprintf(buf, cap,
			 "the snapshot tool could not write the snapshot into the spool (exit "
			 "status %d)",
			 r->tool_status);
	else if (r->tool_status >= 0)
		snprintf(buf, cap, "the snapshot tool failed with exit status %d", r->tool_status);
	else if (j->err < 0)
		snprintf(buf, cap, "the snapshot tool could not run: %s", strerror(-j->err));
	else
		snprintf(buf, cap, "the snapshot tool was killed");
	return buf;
}

static struct cw_ledger_entry *entry_of(struct cw_crash_flow *f, const struct cw_signal_event *ev)
{
	/* A USDT probe's hold is no crash of its process: the ledger knows nothing of it. */
	return ev->task.pid && !(ev->flags & CW_SIG_AT_USDT)
		       ? cw_ledger_find(&f->ledger, (pid_t)ev->task.pid, ev->task.start_boottime)
		       : NULL;
}

/* A hold finished (on the pool): what became of its crash. */
static void hold_outcome_of(struct cw_crash_flow *f, struct cw_hold_job *j)
{
	struct cw_ledger_entry *e = entry_of(f, &j->ev);
	struct cw_snapshot_outcome out = {
		.path = j->r.path,
		.held_ms = j->r.held_ms,
		.tool_status = j->r.tool_status,
		.timed_out = j->r.timed_out,
		.cause = j->r.cause,
	};
	struct cw_signal_event bare = {0};
	const struct cw_signal_event *ev = &j->ev;
	char why[160], path[4096];

	if (e && e->holds_in_flight)
		e->holds_in_flight--;
	/*
	 * A Rust panic held at rust_panic: its record waited for this, as a
	 * catch_unwind may catch it (no crash: nothing said, no document).
	 * No exit record follows (the kernel did not flag it): forgotten now.
	 */
	if (ev->flags & CW_SIG_AT_RUST_PANIC) {
		struct cw_format_options fmt = f->c.fmt;

		if (e && !e->holds_in_flight)
			cw_ledger_forget(e);
		e = NULL;
		if (j->r.tool_status == CW_SNAP_NOT_A_CRASH) {
			if (f->c.o->verbose)
				fprintf(stderr,
					"crashwatch: the panic of %u (%.*s) is caught by a "
					"catch_unwind: not a crash\n",
					ev->task.pid, CW_COMM_LEN, ev->task.comm);
			return;
		}
		fmt.show_stack = false;
		cw_format_signal(stdout, ev, f->c.sym, &fmt);
	}
	/*
	 * It never stopped: a signal sent by another process can be delivered
	 * before the SIGSTOP sent at its generation (a lower number goes
	 * first).  Its core dump, or its exit, accounts for it then.
	 */
	if (j->err == -ESRCH && !j->r.path[0]) {
		fprintf(stderr,
			"crashwatch: %u did not stop for its hold; its core dump or its exit will "
			"be caught instead\n",
			ev->task.pid);
		if (e && e->ended && !e->holds_in_flight) {
			if (!e->snapshotted)
				partial_outcome(f, &e->ev, f->why_unheld);
			cw_ledger_forget(e);
		}
		return;
	}
	if (j->err < 0 && j->err != -ESRCH)
		fprintf(stderr, "crashwatch: failed to snapshot held process %u: %s, released\n",
			j->kind == CW_HOLD_CORE ? (unsigned)j->pid : ev->task.pid,
			strerror(-j->err));
	if (!ev->task.pid) {
		/* A core dump the kernel side did not report: only what the handler said. */
		bare.task.pid = (__u32)j->pid;
		bare.task.tid = (__u32)j->tid;
		bare.hdr.ts_ns = j->held_since_ns;
		bare.sig = j->sig;
		ev = &bare;
	}
	/* Counted; the tool said why on its stderr, the partial's write says it again. */
	if (j->r.tool_status == CW_SNAP_UNWRITTEN)
		f->spool_write_failed++;
	if (j->r.path[0]) {
		if (ev != &bare)
			cw_admission_snapshotted(&f->adm, ev, j->r.path);
	} else if (ev != &bare) {
		write_partial(f, ev, j->r.beside, &out, path, sizeof(path),
			      why_hold_failed(j, why, sizeof(why)));
	}
	if (e) {
		e->snapshotted = true;
		if (e->ended && !e->holds_in_flight)
			cw_ledger_forget(e);
	}
	/* The process went on: its probe may hold again, from before the record is read. */
	if (ev->flags & CW_SIG_AT_USDT) {
		f->usdt_snapshots += out.path[0] && !out.partial;
		cw_usdt_gate_open(f->usdt, ev->fault_addr, 0);
	}
	/* With --upload-mode=sync the record says the snapshot was uploaded. */
	if (out.path[0])
		spooled(f);
	print_outcome(f, ev, &out, j->kind == CW_HOLD_CORE ? CW_HELD_CORE : cw_hold_point_of(ev),
		      j->r.stack);
}

void cw_crash_flow_holds_done(struct cw_crash_flow *f)
{
	struct cw_hold_job *j;

	if (!f->started)
		return;
	while ((j = cw_hold_pool_take(&f->pool))) {
		if (j->kind == CW_HOLD_REQUEST) {
			/* Not a crash: no ledger, no admission's signature, its own record. */
			if (f->requests && cw_request_server_done(f->requests, j, f->c.fmt.json))
				spooled(f);
			cw_hold_job_free(j);
			continue;
		}
		hold_outcome_of(f, j);
		/* The timeline the hold left, if no partial snapshot took it. */
		if (j->r.beside[0])
			unlink(j->r.beside);
		cw_hold_job_free(j);
	}
}

bool cw_crash_flow_admit_request(struct cw_crash_flow *f, double *wait_s)
{
	return cw_admit_request(&f->adm, wait_s);
}

bool cw_crash_flow_submit_request(struct cw_crash_flow *f, struct cw_hold_job *j)
{
	return f->started && cw_hold_pool_submit(&f->pool, j);
}

/* Hand a hold to the pool; a full queue lets the crash go with its first capture. */
static void submit(struct cw_crash_flow *f, struct cw_ledger_entry *e, struct cw_hold_job *j)
{
	char why[160];

	if (cw_hold_pool_submit(&f->pool, j)) {
		f->holds_started++;
		if (e)
			e->holds_in_flight++;
		return;
	}
	f->hold_queue_full++;
	snprintf(why, sizeof(why),
		 "too many crashes at once: %u snapshots running and %u waiting (--max-holds, "
		 "--hold-queue)",
		 f->c.o->max_holds, f->c.o->hold_queue);
	if (j->kind == CW_HOLD_STOPPED)
		cw_hold_pool_release(&f->pool, &j->ev);
	else
		cw_hold_pool_release_core(&f->pool, &j->call);
	if (j->ev.task.pid) {
		if (e)
			e->snapshotted = true;
		partial_outcome(f, &j->ev, why);
	}
	free(j);
}

/* A process the kernel stopped for us (SIGSTOP at its handler, abort(), generation). */
static void held(struct cw_crash_flow *f, struct cw_ledger_entry *e,
		 const struct cw_signal_event *ev, bool *suppressed, enum cw_suppressed_why *why)
{
	struct cw_hold_job *j;

	/* Held earlier in this crash (at generation, then delivered): accounted for. */
	if (e->snapshotted || e->holds_in_flight) {
		cw_hold_pool_release(&f->pool, ev);
		return;
	}
	/*
	 * The snapshot tool crashed (ours are not dumpable: only a handler,
	 * e.g. a sanitizer's, holds it): a snapshot of it by another tool
	 * that crashes alike would never end.  Its first capture tells.
	 */
	if (ev->task.ppid == (__u32)getpid()) {
		cw_hold_pool_release(&f->pool, ev);
		e->snapshotted = true;
		partial_outcome(f, ev, "a crash of the watcher's own snapshot tool is not held");
		return;
	}
	if (!cw_admit(&f->adm, ev, why)) {
		cw_hold_pool_release(&f->pool, ev);
		e->snapshotted = true;
		*suppressed = true;
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		cw_hold_pool_release(&f->pool, ev);
		partial_outcome(f, ev, "out of memory for the hold");
		e->snapshotted = true;
		return;
	}
	j->kind = CW_HOLD_STOPPED;
	j->ev = *ev;
	j->call = (struct cw_core_call){.conn = -1, .sock = CW_COREDUMP_CONN_INIT, .consumer = -1};
	j->held_since_ns = ev->hdr.ts_ns;
	submit(f, e, j);
}

void cw_crash_flow_usdt(struct cw_crash_flow *f, const struct cw_usdt_event *ev)
{
	struct cw_usdt_event copy = *ev;

	cw_usdt_read_strings(&copy);
	if (ev->flags & CW_USDT_HELD_NEXT)
		f->usdt_pending[ev->task.tid % 16] = copy;
	else /* a traced process: not held, only said */
		cw_format_usdt(stdout, &copy, cw_usdt_of(f->usdt, ev->cookie), f->c.fmt.json);
}

/* The probe's arguments, as the snapshot's attributes. */
static void usdt_hold_args(struct cw_hold_job *j, const struct cw_usdt_event *u,
			   const struct cw_usdt_attachment *a)
{
	j->has_usdt = true;
	snprintf(j->usdt.probe, sizeof(j->usdt.probe), "%s:%s", a ? a->probe.provider : "?",
		 a ? a->probe.name : "?");
	j->usdt.nargs = 0;
	if (!u)
		return;
	j->usdt.nargs = u->nargs < 0 ? 0 : (unsigned)u->nargs;
	for (unsigned i = 0; i < j->usdt.nargs && i < CW_USDT_MAX_ARGS; i++)
		cw_usdt_arg_text(a, u, i, j->usdt.args[i], sizeof(j->usdt.args[i]));
}

/*
 * A thread stopped at a USDT probe of --snapshot-on: snapshotted like a
 * crash (admission, the hold pool) but no crash of its process, which goes
 * on after.  An event not admitted keeps its probe quiet for a while, so
 * that a busy probe does not stop its process at every firing only to be
 * let go.
 */
static void usdt_signal(struct cw_crash_flow *f, const struct cw_signal_event *ev)
{
	const struct cw_usdt_event *u = &f->usdt_pending[ev->task.tid % 16];
	const struct cw_usdt_attachment *a = cw_usdt_of(f->usdt, ev->fault_addr);
	enum cw_suppressed_why why;
	struct cw_hold_job *j;
	double quiet_s;

	if (u->task.tid != ev->task.tid || u->hdr.ts_ns != ev->hdr.ts_ns)
		u = NULL; /* its record was lost: no arguments */
	if (u)
		cw_format_usdt(stdout, u, a, f->c.fmt.json);
	if (!(ev->flags & CW_SIG_HELD)) {
		cw_usdt_gate_open(f->usdt, ev->fault_addr, 0);
		return;
	}
	if (!cw_admit(&f->adm, ev, &why)) {
		cw_hold_pool_release(&f->pool, ev);
		f->usdt_suppressed++;
		quiet_s = why == CW_SUPPRESSED_DUPLICATE ? f->c.o->dedup_window_s
			  : f->c.o->rate_limit > 0	 ? 1.0 / f->c.o->rate_limit
							 : 1.0;
		cw_usdt_gate_open(f->usdt, ev->fault_addr,
				  cw_boottime_ns() + (uint64_t)(quiet_s * 1e9));
		cw_admission_report(&f->adm, ev, why, stdout, &f->c.fmt);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		cw_hold_pool_release(&f->pool, ev);
		cw_usdt_gate_open(f->usdt, ev->fault_addr, 0);
		return;
	}
	j->kind = CW_HOLD_STOPPED;
	j->ev = *ev;
	j->call = (struct cw_core_call){.conn = -1, .sock = CW_COREDUMP_CONN_INIT, .consumer = -1};
	j->held_since_ns = ev->hdr.ts_ns;
	usdt_hold_args(j, u, a);
	if (cw_hold_pool_submit(&f->pool, j)) {
		f->holds_started++;
		return;
	}
	f->hold_queue_full++;
	cw_hold_pool_release(&f->pool, ev);
	cw_usdt_gate_open(f->usdt, ev->fault_addr, 0);
	free(j);
}

void cw_crash_flow_signal(struct cw_crash_flow *f, const struct cw_signal_event *ev)
{
	struct cw_format_options fmt = f->c.fmt;
	enum cw_suppressed_why why;
	bool suppressed = false, lines;

	if (ev->flags & CW_SIG_AT_USDT) {
		if (f->c.o->hold)
			usdt_signal(f, ev);
		return;
	}

	/* The process waits while we print: the hold is handed on first. */
	if (f->c.o->hold) {
		struct cw_ledger_entry *e = cw_ledger_note(&f->ledger, ev);

		/* A handler ran after the last one: this is another crash. */
		if ((ev->flags & CW_SIG_HAS_HANDLER) &&
		    !(ev->flags & (CW_SIG_AT_ABORT | CW_SIG_AT_GENERATE)))
			e->snapshotted = false;
		if (ev->flags & CW_SIG_HELD)
			held(f, e, ev, &suppressed, &why);
		/* Its stack follows the outcome: the snapshot's, or the first capture. */
		fmt.show_stack = false;
	}
	/*
	 * While holding, the record's frames (JSON) name functions only: the
	 * snapshot has the lines, and a library's first read of DWARF (~45 ms)
	 * here would keep core dumps waiting for their answer.
	 */
	/* A Rust panic may be caught: its record waits for the snapshot tool's word. */
	if (f->c.o->hold && (ev->flags & CW_SIG_AT_RUST_PANIC) && (ev->flags & CW_SIG_HELD) &&
	    !suppressed)
		return;
	lines = cw_symbolizer_source_lines(f->c.sym, !f->c.o->hold);
	cw_format_signal(stdout, ev, f->c.sym, &fmt);
	cw_symbolizer_source_lines(f->c.sym, lines);
	if (suppressed)
		suppressed_outcome(f, ev, why, cw_hold_point_of(ev));
	/* Without holds there is no outcome: the record is the crash. */
	if (!f->c.o->hold && !(ev->flags & CW_SIG_AT_GENERATE))
		cw_crash_stats_note(&f->stats, ev->sig, CW_HELD_NONE, CW_SNAP_NONE, 0);
}

/* A crashed process ended: if nothing caught it, its first capture is all there is. */
void cw_crash_flow_exit(struct cw_crash_flow *f, const struct cw_exit_event *x)
{
	struct cw_ledger_entry *e;
	enum cw_suppressed_why why;

	cw_format_exit(stdout, x, &f->c.fmt);
	if (!f->c.o->hold)
		return;
	e = cw_ledger_find(&f->ledger, (pid_t)x->task.pid, x->task.start_boottime);
	if (!e)
		return;
	if (e->holds_in_flight) {
		/* Its hold's outcome accounts for it. */
		e->ended = true;
		return;
	}
	if (!e->snapshotted) {
		if (cw_admit(&f->adm, &e->ev, &why))
			partial_outcome(f, &e->ev, f->why_unheld);
		else
			suppressed_outcome(f, &e->ev, why, CW_HELD_NONE);
	}
	cw_ledger_forget(e);
}

void cw_crash_flow_core_dump(struct cw_crash_flow *f, struct cw_core_call *call, pid_t pid,
			     pid_t tid, int sig)
{
	struct cw_ledger_entry *e;
	enum cw_suppressed_why why;
	struct cw_hold_job *j;
	bool waiting;

	if (!f->c.o->hold) {
		struct cw_core_call c = *call;

		cw_core_call_release(&c);
		return;
	}
	e = cw_ledger_find(&f->ledger, pid, 0);
	/*
	 * The coredump socket does not say which signal (Linux 6.18): the
	 * record does, for the tool and for the previous handler's %s.
	 */
	if (!sig && e)
		sig = call->sock.sig = e->ev.sig;
	/* Its SIGSTOP hold (admitted already) waits for a stop that will never come. */
	waiting = e && e->holds_in_flight && cw_hold_pool_waiting_stop(&f->pool, pid);
	/* Held and snapshotted before it died (abort, kill): let the dump go. */
	if (e && (e->snapshotted || e->holds_in_flight) && !waiting) {
		cw_hold_pool_release_core(&f->pool, call);
		return;
	}
	/*
	 * core_pattern is the host's: a crash outside --cgroup is not ours to
	 * hold.  The kernel's record says it is in; without one (lost, or
	 * not sent), where it is now says.
	 */
	if (!e && f->c.scope->n_cgroups && !cw_scope_has_pid(f->c.scope, pid)) {
		cw_hold_pool_release_core(&f->pool, call);
		return;
	}
	if (!waiting && !cw_admit(&f->adm, e ? &e->ev : NULL, &why)) {
		cw_hold_pool_release_core(&f->pool, call);
		if (e) {
			e->snapshotted = true;
			suppressed_outcome(f, &e->ev, why, CW_HELD_CORE);
		} else {
			cw_crash_stats_note(&f->stats, sig, CW_HELD_CORE, CW_SNAP_SUPPRESSED, 0);
		}
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		cw_hold_pool_release_core(&f->pool, call);
		return;
	}
	j->kind = CW_HOLD_CORE;
	j->call = *call;
	j->pid = pid;
	j->tid = tid;
	j->sig = sig;
	/* What the kernel said of this very signal, when it reported it. */
	if (e && e->ev.sig == sig)
		j->ev = e->ev;
	j->held_since_ns = j->ev.task.pid ? j->ev.hdr.ts_ns : cw_boottime_ns();
	submit(f, j->ev.task.pid ? e : NULL, j);
}

void cw_crash_flow_tick(struct cw_crash_flow *f)
{
	if (f->symbols.tool_path)
		cw_symbol_server_alive(&f->symbols);
	if (f->c.o->hold && cw_monotonic_s() - f->adm.last_flush >= AGGREGATE_FLUSH_S &&
	    cw_admission_flush(&f->adm, f->c.sym, f->c.spool) > 0)
		spooled(f);
}

void cw_crash_flow_stop(struct cw_crash_flow *f)
{
	if (!f->started)
		return;
	cw_hold_pool_stop(&f->pool);
	cw_crash_flow_holds_done(f);
	/* Suppressed crashes reach the spool before leaving: none is lost. */
	cw_admission_flush(&f->adm, f->c.sym, f->c.spool);
}

void cw_crash_flow_free(struct cw_crash_flow *f)
{
	if (!f->started)
		return;
	cw_hold_pool_free(&f->pool);
	if (f->symbols.tool_path)
		cw_symbol_server_stop(&f->symbols);
	cw_registry_destroy(&f->registry);
	f->started = false;
}

void cw_crash_flow_emit_counters(struct cw_crash_flow *f, struct cw_counter_sink *s)
{
	cw_sink_counter(s, "partial_snapshots",
			"Partial snapshots written from the kernel's first capture.",
			f->partial_snapshots);
	cw_sink_counter(s, "crashes_forgotten",
			"Crashes the ledger of recent crashes had to forget (full).",
			f->ledger.evicted);
	if (f->c.spool) {
		cw_sink_counter(s, "spool_dropped",
				"Snapshots dropped, oldest first, to keep the spool in its bounds.",
				f->spool_dropped);
		cw_sink_counter(s, "spool_write_failed", "Snapshots the spool did not take.",
				f->spool_write_failed + f->adm.write_failed);
	}
	cw_crash_stats_emit(&f->stats, s);
	if (!f->c.o->hold)
		return;
	cw_sink_counter(s, "holds_started", "Holds handed to the snapshot tool.", f->holds_started);
	cw_sink_counter(s, "hold_queue_full",
			"Crashes not held: every hold slot and queue place was taken.",
			f->hold_queue_full);
	cw_sink_counter(s, "hold_registry_unwritten",
			"Holds the watchdog's registry could not record.",
			cw_registry_unwritten(&f->registry));
	cw_sink_counter(s, "usdt_snapshots", "Snapshots taken at a USDT probe (--snapshot-on).",
			f->usdt_snapshots);
	cw_sink_counter(s, "usdt_suppressed",
			"USDT probe firings not snapshotted: duplicate or over the rate limit.",
			f->usdt_suppressed);
	cw_sink_counter(s, "suppressed_duplicate",
			"Crashes not snapshotted: a duplicate within --dedup-window.",
			f->adm.suppressed[CW_SUPPRESSED_DUPLICATE]);
	cw_sink_counter(s, "suppressed_rate_limited", "Crashes not snapshotted: over --rate-limit.",
			f->adm.suppressed[CW_SUPPRESSED_RATE_LIMITED]);
	cw_sink_counter(s, "aggregates_written",
			"Aggregate documents of suppressed crashes written to the spool.",
			f->adm.aggregates_written);
	cw_sink_counter(s, "aggregated_crashes_lost",
			"Suppressed crashes no aggregate could count (table full).",
			f->adm.table.evicted + f->adm.unknown_rate_limited);
}
