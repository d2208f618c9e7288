// SPDX-License-Identifier: MIT
/* `crashwatch watch`: parse → check → load and attach → poll → detach. */
#include "watch.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "detector.h"
#include "event_decode.h"
#include "event_format.h"
#include "admission.h"
#include "config.h"
#include "core_install.h"
#include "crash_ledger.h"
#include "hold.h"
#include "hold_registry.h"
#include "hold_watchdog.h"
#include "partial_snapshot.h"
#include "spool.h"
#include "symbolize.h"
#include "upload_target.h"
#include "uploader.h"
#include "watch_options.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t counters_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	counters_requested = 1;
}

struct watch_ctx {
	struct cw_format_options fmt;
	char hold_tool[4096], hold_registry[4096];
	const char *spool;
	int core_sock; /* where core handlers call, -1 */
	int hold_lock; /* this watcher holds crashes on the host (flock), -1 */
	bool holding;
	bool core_installed;
	struct cw_scope *scope;
	/* Why a crash no hold caught got only its first capture. */
	char why_unheld[4608];
	struct cw_hold_config hold_cfg;
	struct cw_hold_watchdog watchdog;
	struct cw_crash_ledger *ledger; /* recent crashes, with --hold */
	struct cw_admission *adm;	/* which crashes get a snapshot */
	struct cw_symbolizer *sym;
	uint64_t malformed; /* records userspace could not read */
	uint64_t partial_snapshots;
	/* The spool's bounds, and its uploader (when --upload). */
	uint64_t spool_max_files, spool_max_bytes, spool_dropped;
	struct cw_upload_target target;
	struct cw_uploader up;
	bool upload_sync;
};

/* A snapshot entered the spool: keep the spool in bounds and send it on. */
static void spooled(struct watch_ctx *w)
{
	int n = cw_spool_enforce(w->spool, (size_t)w->spool_max_files, w->spool_max_bytes);

	if (n > 0) {
		w->spool_dropped += (uint64_t)n;
		fprintf(stderr,
			"crashwatch: the spool %s is full: dropped the %d oldest snapshot(s) "
			"(--spool-max-files, --spool-max-bytes)\n",
			w->spool, n);
	}
	cw_uploader_kick(&w->up);
	if (w->upload_sync && !cw_uploader_wait(&w->up, w->target.timeout_s + 5.0))
		fprintf(stderr, "crashwatch: the upload did not finish in time: it goes on in the "
				"background\n");
}

/* No hold caught this crash, or the tool failed: the kernel's first capture stands in. */
static void write_partial(struct watch_ctx *w, struct cw_ledger_entry *e,
			  struct cw_snapshot_outcome *out, const char *why)
{
	static char path[4096];
	char err[512];

	e->snapshotted = true;
	out->partial = true;
	out->why_partial = why;
	if (cw_partial_snapshot_write(&e->ev, w->sym, why, w->spool, path, sizeof(path), err,
				      sizeof(err)) < 0) {
		fprintf(stderr, "crashwatch: failed to write a partial snapshot of %u: %s\n",
			e->ev.task.pid, err);
		path[0] = '\0';
	} else {
		w->partial_snapshots++;
		cw_admission_snapshotted(w->adm, &e->ev, path);
	}
	out->path = path;
}

static const char *why_hold_failed(int err, const struct cw_hold_result *r, char *buf, size_t cap)
{
	if (err == -ESRCH)
		snprintf(buf, cap, "the process did not stop for the hold");
	else if (r->timed_out)
		snprintf(buf, cap, "the snapshot tool did not finish within the hold deadline");
	else if (r->tool_status >= 0)
		snprintf(buf, cap, "the snapshot tool failed with exit status %d", r->tool_status);
	else
		snprintf(buf, cap, "the snapshot tool could not run: %s", strerror(-err));
	return buf;
}

static void report_hold(struct watch_ctx *w, struct cw_ledger_entry *e,
			const struct cw_signal_event *ev, int err, const struct cw_hold_result *r)
{
	struct cw_snapshot_outcome out = {
		.path = r->path,
		.held_ms = r->held_ms,
		.tool_status = r->tool_status,
		.timed_out = r->timed_out,
	};
	char why[160];

	/*
	 * It never stopped: a signal sent by another process can be delivered
	 * before the SIGSTOP sent at its generation (a lower number goes
	 * first).  Its core dump, or its exit, accounts for it then.
	 */
	if (err == -ESRCH && e && !r->path[0]) {
		fprintf(stderr,
			"crashwatch: %u did not stop for its hold; its core dump or its exit will "
			"be caught instead\n",
			ev->task.pid);
		return;
	}
	if (r->path[0] && e) {
		e->snapshotted = true;
		cw_admission_snapshotted(w->adm, &e->ev, r->path);
	} else if (e)
		write_partial(w, e, &out, why_hold_failed(err, r, why, sizeof(why)));
	cw_format_snapshot(stdout, ev, &out, &w->fmt);
	if (out.path[0])
		spooled(w);
}

static void hold(struct watch_ctx *w, struct cw_ledger_entry *e, const struct cw_signal_event *ev)
{
	enum cw_suppressed_why why;
	struct cw_hold_result r;
	int err;

	/* Held earlier in this crash (at generation, then delivered): accounted for. */
	if (e && e->snapshotted) {
		cw_hold_release(&w->hold_cfg, ev);
		return;
	}
	if (!cw_admit(w->adm, ev, &why, stdout, &w->fmt)) {
		cw_hold_release(&w->hold_cfg, ev);
		if (e)
			e->snapshotted = true;
		return;
	}
	err = cw_hold_snapshot(&w->hold_cfg, ev, &r);

	if (err < 0 && err != -ESRCH)
		fprintf(stderr, "crashwatch: failed to snapshot held process %u: %s, released\n",
			ev->task.pid, strerror(-err));
	report_hold(w, e, ev, err, &r);
}

/* A crashed process ended: if nothing caught it, its first capture is all there is. */
static void crash_ended(struct watch_ctx *w, const struct cw_exit_event *x)
{
	struct cw_ledger_entry *e =
		cw_ledger_find(w->ledger, (pid_t)x->task.pid, x->task.start_boottime);
	struct cw_snapshot_outcome out = {.path = "", .tool_status = -1};
	enum cw_suppressed_why why;

	if (!e)
		return;
	if (!e->snapshotted && cw_admit(w->adm, &e->ev, &why, stdout, &w->fmt)) {
		write_partial(w, e, &out, w->why_unheld);
		cw_format_snapshot(stdout, &e->ev, &out, &w->fmt);
		if (out.path[0])
			spooled(w);
	}
	cw_ledger_forget(e);
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct watch_ctx *w = ctx;
	struct cw_ledger_entry *e = NULL;

	switch (cw_event_check(data, size)) {
	case CW_EVENT_SIGNAL:
		cw_format_signal(stdout, data, w->sym, &w->fmt);
		if (w->holding) {
			const struct cw_signal_event *ev = data;

			e = cw_ledger_note(w->ledger, ev);
			/* A handler ran after the last one: this is another crash. */
			if ((ev->flags & CW_SIG_HAS_HANDLER) &&
			    !(ev->flags & (CW_SIG_AT_ABORT | CW_SIG_AT_GENERATE)))
				e->snapshotted = false;
		}
		if (((const struct cw_signal_event *)data)->flags & CW_SIG_HELD)
			hold(w, e, data);
		break;
	case CW_EVENT_EXIT:
		cw_format_exit(stdout, data, &w->fmt);
		if (w->holding)
			crash_ended(w, data);
		break;
	default:
		w->malformed++;
		break;
	}
	return 0;
}

static void print_counters(struct cw_detector *d, const struct watch_ctx *w)
{
	static const char *const names[CW_NR_COUNTERS] = {
		[CW_CNT_SIGNAL_SEEN] = "signals_seen",
		[CW_CNT_SIGNAL_EMITTED] = "signals_emitted",
		[CW_CNT_FILTERED] = "filtered",
		[CW_CNT_SENDER_SEEN] = "senders_seen",
		[CW_CNT_EXIT_EMITTED] = "exits_emitted",
		[CW_CNT_DROPPED_RINGBUF] = "dropped_ringbuf_full",
		[CW_CNT_CAPTURE_PARTIAL] = "captures_partial",
		[CW_CNT_FLAG_TABLE_FULL] = "flag_table_full",
		[CW_CNT_OOM_VICTIMS] = "oom_victims",
		[CW_CNT_EXECS_NEW] = "execs_new",
		[CW_CNT_OUT_OF_SCOPE] = "out_of_scope",
	};
	uint64_t c[CW_NR_COUNTERS];

	if (cw_detector_counters(d, c) < 0) {
		fprintf(stderr, "crashwatch: failed to read the counters, ignoring\n");
		return;
	}
	fprintf(stderr, "crashwatch: counters:");
	for (int i = 0; i < CW_NR_COUNTERS; i++)
		fprintf(stderr, " %s=%" PRIu64, names[i], c[i]);
	cw_libc_probes_print_counters(&d->libcs, stderr);
	fprintf(stderr,
		" malformed=%" PRIu64 " partial_snapshots=%" PRIu64 " crashes_forgotten=%" PRIu64,
		w->malformed, w->partial_snapshots, w->ledger ? w->ledger->evicted : 0);
	if (w->up.target)
		fprintf(stderr,
			" uploaded=%" PRIu64 " upload_refused=%" PRIu64 " upload_retries=%" PRIu64,
			w->up.uploaded, w->up.refused, w->up.retries);
	if (w->spool)
		fprintf(stderr, " spool_dropped=%" PRIu64, w->spool_dropped);
	if (w->adm)
		fprintf(stderr,
			" suppressed_duplicate=%" PRIu64 " suppressed_rate_limited=%" PRIu64
			" aggregates_written=%" PRIu64 " aggregated_crashes_lost=%" PRIu64,
			w->adm->suppressed[CW_SUPPRESSED_DUPLICATE],
			w->adm->suppressed[CW_SUPPRESSED_RATE_LIMITED], w->adm->aggregates_written,
			w->adm->table.evicted + w->adm->unknown_rate_limited);
	fputc('\n', stderr);
}

static int install_handlers(void)
{
	struct sigaction sa = {0};

	/* No SA_RESTART: the poll must return on a signal. */
	sa.sa_handler = on_stop;
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	sa.sa_handler = on_usr1;
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -errno;
	/* A reader that went away must not kill the watcher. */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/*
 * Default-action faults are held by the kernel's core dump: core_pattern
 * pipes the core to `crashwatch core-handler`, which asks us over a socket
 * to seize the process before it lets the dump finish.  Where that cannot
 * be, they are reported with their first capture (a partial snapshot).
 */
static int install_core_hold(struct watch_ctx *w, const struct cw_watch_options *o)
{
	char self[4096], command[4200], err[4400];
	const char *handler;
	ssize_t n;
	int r;

	snprintf(w->why_unheld, sizeof(w->why_unheld),
		 "no hold point caught this crash (not dumpable, traced, or kernel.core_pattern "
		 "not crashwatch's)");
	/* Not even a saved one is a sidecar's to put back: its /run may be the host's. */
	if (w->scope->sidecar) {
		snprintf(w->why_unheld, sizeof(w->why_unheld),
			 "default-action faults are not held in a sidecar: kernel.core_pattern "
			 "is the host's");
		fprintf(stderr, "crashwatch: %s\n", w->why_unheld);
		return 0;
	}
	/* A watcher that died owning core_pattern left the previous one saved: put it back. */
	if (cw_core_restore() > 0)
		fprintf(stderr, "crashwatch: restored the kernel.core_pattern a previous watcher "
				"left\n");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		r = -errno;
		fprintf(stderr, "crashwatch: failed to find this executable: %s\n", strerror(-r));
		return r;
	}
	self[n] = '\0';
	handler = o->host_core_handler ? o->host_core_handler : self;
	snprintf(command, sizeof(command), "%s%s", handler,
		 o->host_core_handler ? "" : " core-handler");
	r = o->host_core_handler ? cw_core_handler_copy(self, handler, err, sizeof(err)) : 0;
	if (r == 0)
		r = cw_core_reachable(handler, err, sizeof(err));
	if (r < 0) {
		snprintf(w->why_unheld, sizeof(w->why_unheld),
			 "default-action faults are not held: %s", err);
		fprintf(stderr, "crashwatch: %s\n", w->why_unheld);
		return 0;
	}
	w->core_sock = cw_core_listen(err, sizeof(err));
	if (w->core_sock < 0 ||
	    (r = cw_core_install(command, o->drop_cores, err, sizeof(err))) < 0) {
		r = w->core_sock < 0 ? w->core_sock : r;
		fprintf(stderr, "crashwatch: %s\n", err);
		return r;
	}
	w->core_installed = true;
	return 0;
}

static void uninstall_core_hold(struct watch_ctx *w)
{
	int r;

	if (w->core_installed) {
		r = cw_core_restore();
		if (r < 0)
			fprintf(stderr,
				"crashwatch: failed to restore kernel.core_pattern from %s: %s; "
				"restore it by hand (see README)\n",
				CW_CORE_SAVED, strerror(-r));
		w->core_installed = false;
	}
	cw_core_unlisten(w->core_sock);
	w->core_sock = -1;
}

static void hold_core(struct watch_ctx *w, struct cw_detector *det)
{
	int conn = accept4(w->core_sock, NULL, NULL, SOCK_CLOEXEC);
	struct cw_crash_signal known;
	struct cw_ledger_entry *e;
	enum cw_suppressed_why why;
	struct cw_signal_event ev = {0};
	struct cw_hold_result r;
	struct timespec now;
	pid_t pid, tid;
	int sig, err;

	if (conn < 0)
		return;
	if (cw_hold_core_request(conn, &pid, &tid, &sig) < 0) {
		close(conn); /* the handler goes on by itself */
		return;
	}
	/* The kernel's record of this very crash may still wait in the ring buffer. */
	cw_detector_consume(det);
	e = cw_ledger_find(w->ledger, pid, 0);
	if (e && e->snapshotted) {
		/* Held and snapshotted before it died (abort, kill): let the dump go. */
		close(conn);
		return;
	}
	/*
	 * core_pattern is the host's: a crash outside --cgroup is not ours to
	 * hold.  The kernel's record says it is in; without one (lost, or
	 * not sent), where it is now says.
	 */
	if (!e && w->scope->n_cgroups && !cw_scope_has_pid(w->scope, pid)) {
		cw_hold_core_release(conn);
		return;
	}
	if (!cw_admit(w->adm, e ? &e->ev : NULL, &why, stdout, &w->fmt)) {
		cw_hold_core_release(conn);
		if (e)
			e->snapshotted = true;
		return;
	}
	if (e && e->ev.sig == sig)
		cw_crash_signal_of(&e->ev, &known);
	err = cw_hold_core(&w->hold_cfg, conn, pid, tid, sig, e && e->ev.sig == sig ? &known : NULL,
			   &r);
	clock_gettime(CLOCK_BOOTTIME, &now);
	ev.task.pid = (__u32)pid;
	ev.task.tid = (__u32)tid;
	ev.hdr.ts_ns = (__u64)now.tv_sec * 1000000000ULL + (__u64)now.tv_nsec;
	report_hold(w, e, e ? &e->ev : &ev, err, &r);
}

static int prepare_hold(const struct cw_watch_options *o, struct watch_ctx *w)
{
	char msg[512];
	pid_t holder;
	int err, n;

	w->hold_lock = cw_hold_lock(&holder, msg, sizeof(msg));
	if (w->hold_lock < 0) {
		fprintf(stderr, "crashwatch: %s\n", msg);
		return w->hold_lock;
	}

	if (o->snapshot_tool)
		snprintf(w->hold_tool, sizeof(w->hold_tool), "%s", o->snapshot_tool);
	else if ((err = cw_default_snapshot_tool(w->hold_tool, sizeof(w->hold_tool))) < 0) {
		fprintf(stderr,
			"crashwatch: failed to find crashwatch-snapshot: %s; give "
			"--snapshot-tool\n",
			strerror(-err));
		return err;
	}
	if (access(w->hold_tool, X_OK) < 0) {
		err = -errno;
		fprintf(stderr,
			"crashwatch: cannot run the snapshot tool %s: %s; give --snapshot-tool\n",
			w->hold_tool, strerror(-err));
		return err;
	}
	err = cw_make_dir(o->spool);
	if (err < 0) {
		fprintf(stderr, "crashwatch: failed to create the spool %s: %s\n", o->spool,
			strerror(-err));
		return err;
	}
	snprintf(w->hold_registry, sizeof(w->hold_registry), "%s/.held", o->spool);
	w->spool = o->spool;
	w->ledger = calloc(1, sizeof(*w->ledger));
	if (!w->ledger) {
		fprintf(stderr, "crashwatch: failed to allocate the crash ledger: %s\n",
			strerror(ENOMEM));
		return -ENOMEM;
	}
	w->adm = calloc(1, sizeof(*w->adm));
	if (!w->adm) {
		fprintf(stderr, "crashwatch: failed to allocate the crash signature table: %s\n",
			strerror(ENOMEM));
		return -ENOMEM;
	}
	cw_admission_init(w->adm, o->rate_limit, o->rate_burst, o->dedup_window_s);
	w->holding = true;
	/* A watcher that died while holding a process left it stopped: release it. */
	n = cw_registry_release(w->hold_registry, UINT64_MAX, 1);
	if (n > 0)
		fprintf(stderr, "crashwatch: released %d process(es) a previous watcher held\n", n);
	/* Before the core socket and the BPF objects: the watchdog must hold none of them. */
	err = cw_hold_watchdog_start(&w->watchdog, w->hold_registry);
	if (err < 0) {
		fprintf(stderr, "crashwatch: failed to start the hold watchdog: %s\n",
			strerror(-err));
		return err;
	}
	err = install_core_hold(w, o);
	if (err)
		return err;
	w->hold_cfg = (struct cw_hold_config){
		.tool = w->hold_tool,
		.dir = o->spool,
		.timeout_s = o->hold_timeout_s,
		.registry = w->hold_registry,
	};
	return 0;
}

struct cgroup_change {
	struct cw_detector *det;
	struct cw_scope *scope;
};

static void cgroup_made_again(void *ctx, unsigned i, uint64_t old_id, uint64_t new_id)
{
	struct cgroup_change *c = ctx;
	int r = cw_detector_scope_replace(c->det, old_id, new_id);

	if (r < 0)
		fprintf(stderr, "crashwatch: failed to watch cgroup %s made again: %s\n",
			c->scope->cgroup_paths[i], strerror(-r));
	else
		fprintf(stderr,
			"crashwatch: cgroup %s was made again (id %" PRIu64 "): watching it\n",
			c->scope->cgroup_paths[i], new_id);
}

/* Suppressed crashes reach the spool within this, as aggregates. */
#define AGGREGATE_FLUSH_S 60

/* Records from the kernel and core handlers' calls, until SIGINT or SIGTERM. */
static int watch_loop(struct cw_detector *det, struct watch_ctx *w)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int ep = epoll_create1(EPOLL_CLOEXEC), err = 0;

	if (ep < 0) {
		err = -errno;
		fprintf(stderr, "crashwatch: failed to create an epoll fd: %s\n", strerror(-err));
		return err;
	}
	ev.data.fd = cw_detector_fd(det);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	if (w->core_sock >= 0) {
		ev.data.fd = w->core_sock;
		epoll_ctl(ep, EPOLL_CTL_ADD, w->core_sock, &ev);
	}
	if (w->scope->inotify_fd >= 0) {
		ev.data.fd = w->scope->inotify_fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, w->scope->inotify_fd, &ev);
	}
	while (!stop_requested) {
		struct epoll_event ready[4];
		int n = epoll_wait(ep, ready, 4, 500);

		if (n < 0 && errno != EINTR) {
			err = -errno;
			fprintf(stderr, "crashwatch: failed to wait for events: %s\n",
				strerror(-err));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (ready[i].data.fd == w->core_sock) {
				hold_core(w, det);
				continue;
			}
			if (ready[i].data.fd == w->scope->inotify_fd) {
				struct cgroup_change c = {det, w->scope};

				cw_scope_refresh(w->scope, cgroup_made_again, &c);
				continue;
			}
			err = cw_detector_consume(det);
			if (err < 0 && err != -EINTR) {
				fprintf(stderr, "crashwatch: failed to read the ring buffer: %s\n",
					strerror(-err));
				close(ep);
				return err;
			}
			err = 0;
		}
		if (w->adm && cw_monotonic_s() - w->adm->last_flush >= AGGREGATE_FLUSH_S &&
		    cw_admission_flush(w->adm, w->sym, w->spool) > 0)
			spooled(w);
		if (counters_requested) {
			counters_requested = 0;
			print_counters(det, w);
		}
	}
	close(ep);
	/* Records already in the ring buffer are reported before leaving. */
	cw_detector_consume(det);
	return err;
}

/* Which hold points are active on this kernel, for the start-up line. */
static void describe_holds(const struct cw_watch_options *o, const struct cw_detector *d,
			   const struct watch_ctx *w, char *out, size_t cap)
{
	if (!o->hold) {
		snprintf(out, cap, "none (--no-hold)");
		return;
	}
	snprintf(out, cap,
		 "handled signals (SIGSTOP at the handler), abort() in %s and in the libcs of "
		 "other mount namespaces (containers) as their programs start, %s, %s",
		 d->libc,
		 w->core_installed ? "default-action faults (core dump, kernel.core_pattern)"
				   : "not default-action faults (partial snapshots: see above)",
		 d->hold_sent ? "signals sent by other processes (at generation)"
			      : "not signals sent by other processes (needs Linux >= 6.13)");
}

/*
 * The config file's settings, placed before the command line's flags so
 * that these win: all = argv[0], the file's, argv[1..].
 */
static int read_config(int argc, char **argv, struct cw_config *c, char ***all)
{
	const char *path = CW_DEFAULT_CONFIG;
	bool given = false;
	int n;

	c->args = NULL;
	c->n = 0;
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--config=", 9)) {
			path = argv[i] + 9;
			given = true;
		} else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			path = argv[++i];
			given = true;
		}
	}
	if (path[0]) {
		n = cw_config_read(path, c, stderr);
		if (n > 0) {
			fprintf(stderr,
				"crashwatch: fix the %d problem(s) in %s (crashwatch config check "
				"%s)\n",
				n, path, path);
			cw_config_free(c);
			return -EINVAL;
		}
		if (n < 0 && (given || n != -ENOENT)) {
			fprintf(stderr, "crashwatch: cannot read the config file %s: %s\n", path,
				strerror(-n));
			return n;
		}
	}
	*all = calloc((size_t)argc + c->n + 1, sizeof(**all));
	if (!*all) {
		cw_config_free(c);
		return -ENOMEM;
	}
	(*all)[0] = argv[0];
	for (size_t i = 0; i < c->n; i++)
		(*all)[1 + i] = c->args[i];
	for (int i = 1; i < argc; i++)
		(*all)[c->n + (size_t)i] = argv[i];
	return 0;
}

int cw_watch_main(int argc, char **argv)
{
	struct cw_config conf;
	char **all = NULL;
	struct cw_watch_options opts;
	struct cw_detector det = {0};
	struct watch_ctx w = {
		.core_sock = -1, .hold_lock = -1, .watchdog = {.lifeline = -1, .pid = -1}};
	char sigs[512], holds[8192], where[CW_MAX_SCOPE_CGROUPS * 520];
	struct cw_scope scope = {.inotify_fd = -1};
	bool bad_usage = false; /* a --cgroup that is not one */
	int err;

	err = read_config(argc, argv, &conf, &all);
	if (err)
		return 2;
	err = cw_watch_options_parse(argc + (int)conf.n, all, &opts, stdout, stderr);
	if (err) {
		free(all);
		cw_config_free(&conf);
		return err > 0 ? 0 : 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	cw_clock_init();
	w.fmt.json = opts.json;
	w.fmt.show_stack = opts.show_stack;

	err = cw_check_environment();
	if (err)
		goto cleanup;
	err = cw_scope_resolve(&opts, &scope, stderr);
	if (err) {
		bad_usage = true;
		goto cleanup;
	}
	w.scope = &scope;
	err = install_handlers();
	if (err) {
		fprintf(stderr, "crashwatch: failed to install signal handlers: %s\n",
			strerror(-err));
		goto cleanup;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (opts.upload) {
		char msg[512];

		if (cw_upload_target_parse(opts.upload, opts.upload_token, &w.target, msg,
					   sizeof(msg)) < 0) {
			fprintf(stderr, "crashwatch: %s\n", msg);
			curl_global_cleanup();
			return 2;
		}
	}
	if (opts.hold) {
		err = prepare_hold(&opts, &w);
		if (err)
			goto cleanup;
	}
	if (opts.hold || opts.upload) {
		w.spool = opts.spool;
		w.spool_max_files = opts.spool_max_files;
		w.spool_max_bytes = opts.spool_max_bytes;
		if ((err = cw_make_dir(opts.spool)) < 0) {
			fprintf(stderr, "crashwatch: failed to create the spool %s: %s\n",
				opts.spool, strerror(-err));
			goto cleanup;
		}
	}
	if (opts.upload) {
		w.up.target = &w.target;
		w.up.spool = opts.spool;
		w.upload_sync = opts.upload_sync;
		w.up.verbose = true;
		cw_bucket_init(&w.up.bucket, opts.rate_limit, opts.rate_burst, cw_monotonic_s());
		err = cw_uploader_start(&w.up);
		if (err) {
			fprintf(stderr, "crashwatch: failed to start the uploader: %s\n",
				strerror(-err));
			goto cleanup;
		}
	}
	w.sym = cw_symbolizer_new();
	if (!w.sym) {
		err = -ENOMEM;
		fprintf(stderr, "crashwatch: failed to allocate the symbolizer: %s\n",
			strerror(-err));
		goto cleanup;
	}
	err = cw_detector_start(&det, &opts, &scope, handle_record, &w);
	if (err)
		goto cleanup;
	err = cw_scope_watch(&scope, stderr);
	if (err)
		goto cleanup;

	cw_signal_mask_text(opts.signals, sigs, sizeof(sigs));
	describe_holds(&opts, &det, &w, holds, sizeof(holds));
	cw_scope_describe(&scope, where, sizeof(where));
	fprintf(stderr,
		"crashwatch: watching %s in %s; stack copy %u bytes, ring buffer %u "
		"KiB; OOM victims %s; hold points: %s\n",
		sigs, where, opts.stack_bytes, opts.ringbuf_bytes >> 10,
		det.oom_tracking ? "recognised" : "not recognised (needs Linux >= 6.8)", holds);

	if (w.spool)
		fprintf(stderr,
			"crashwatch: spool %s (at most %" PRIu64 " snapshots, %" PRIu64
			" bytes; 0: no bound); uploads: %s%s\n",
			w.spool, w.spool_max_files, w.spool_max_bytes,
			w.up.target ? w.target.url : "none (--upload to send them)",
			w.up.target ? (w.upload_sync ? " (sync)" : " (async)") : "");

	err = watch_loop(&det, &w);

cleanup:
	uninstall_core_hold(&w);
	/* Suppressed crashes reach the spool before leaving: none is lost. */
	if (w.adm)
		cw_admission_flush(w.adm, w.sym, w.spool);
	if (det.skel)
		print_counters(&det, &w);
	cw_detector_stop(&det);
	cw_scope_close(&scope);
	/* What is not uploaded yet stays in the spool for the next start. */
	cw_uploader_stop(&w.up);
	cw_upload_target_free(&w.target);
	curl_global_cleanup();
	cw_symbolizer_free(w.sym);
	free(w.ledger);
	free(w.adm);
	free(all);
	cw_config_free(&conf);
	if (w.hold_lock >= 0)
		close(w.hold_lock); /* last: core_pattern is given back by now */
	cw_hold_watchdog_stop(&w.watchdog);
	if (!err)
		fprintf(stderr, "crashwatch: stopped, everything detached\n");
	return bad_usage ? 2 : err ? 1 : 0;
}
