// SPDX-License-Identifier: MIT
/* `crashwatch watch`: parse → check → load and attach → poll → detach. */
#include "watch.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "detector.h"
#include "flight_recorder.h"
#include "event_decode.h"
#include "event_format.h"
#include "config.h"
#include "core_install.h"
#include "core_call_check.h"
#include "coredump_socket.h"
#include "counter_sink.h"
#include "crash_flow.h"
#include "hold.h"
#include "hold_registry.h"
#include "hold_watchdog.h"
#include "metrics_server.h"
#include "output_queue.h"
#include "timeline_http.h"
#include "request_server.h"
#include "spool.h"
#include "symbolize.h"
#include "trusted_dir.h"
#include "upload_target.h"
#include "uploader.h"
#include "watch_options.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t counters_requested;
/*
 * The uploader's stop flag, set by the signal itself: a thread waiting on an
 * upload (--upload-mode=sync) or in one must not keep the main loop from
 * seeing the stop.  A lock-free atomic store is safe in a handler.
 */
static atomic_bool *upload_abort;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
	if (upload_abort)
		atomic_store(upload_abort, true);
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
	int core_sock;	     /* where core handlers (or the kernel) call, -1 */
	bool core_by_socket; /* the kernel's coredump socket, not the pipe helper */
	bool drop_cores;
	char core_previous[256];     /* the core_pattern crashwatch's replaced */
	uint64_t core_calls_refused; /* not from a dump's own helper, or not a dump */
	uint64_t refused_unsaid;     /* refused since the last word of it */
	double refused_said_at;	     /* monotonic seconds */
	int hold_lock;		     /* this watcher holds crashes on the host (flock), -1 */
	bool core_installed;
	struct cw_scope *scope;
	struct cw_hold_watchdog watchdog;
	struct cw_crash_flow *flow; /* every crash's way to its outcome */
	struct cw_symbolizer *sym;
	uint64_t malformed; /* records userspace could not read */
	struct cw_upload_target target;
	struct cw_uploader up;
	struct cw_metrics_server metrics;   /* --metrics */
	struct cw_tl_http_server timelines; /* --http */
	const struct cw_watch_options *o;
	struct cw_request_server *requests; /* with holds and --max-requests > 0 */
	struct cw_flight_recorder flight;   /* started with --flight-recorder */
};

static int handle_record(void *ctx, void *data, size_t size)
{
	struct watch_ctx *w = ctx;

	switch (cw_event_check(data, size)) {
	case CW_EVENT_SIGNAL:
		cw_crash_flow_signal(w->flow, data);
		break;
	case CW_EVENT_EXIT:
		cw_crash_flow_exit(w->flow, data);
		break;
	case CW_EVENT_USDT:
		cw_crash_flow_usdt(w->flow, data);
		break;
	default:
		w->malformed++;
		break;
	}
	return 0;
}

/* What waits in the spool now (uploaded or not). */
static void emit_spool_gauges(const char *spool, struct cw_counter_sink *s)
{
	struct cw_spool_file *files = NULL;
	uint64_t bytes = 0;
	size_t n = 0;

	if (cw_spool_list(spool, &files, &n) < 0)
		return; /* said nowhere: a spool that cannot be read is said where it is written */
	for (size_t i = 0; i < n; i++)
		bytes += files[i].size;
	free(files);
	cw_sink_gauge(s, "spool_files", "Snapshots waiting in the spool.", n);
	cw_sink_gauge(s, "spool_bytes", "Bytes of the snapshots waiting in the spool.", bytes);
}

/* Every counter, through one sink: the SIGUSR1 line and /metrics say the same. */
static int emit_counters(struct cw_detector *d, struct watch_ctx *w, struct cw_counter_sink *s)
{
	static const struct {
		const char *name, *help;
	} names[CW_NR_COUNTERS] = {
		[CW_CNT_SIGNAL_SEEN] = {"signals_seen", "Watched signals seen at delivery."},
		[CW_CNT_SIGNAL_EMITTED] = {"signals_emitted",
					   "Signal records sent to the watcher."},
		[CW_CNT_FILTERED] = {"filtered",
				     "Watched signals filtered out (the watcher's own)."},
		[CW_CNT_SENDER_SEEN] = {"senders_seen", "Watched signals sent by another process."},
		[CW_CNT_EXIT_EMITTED] = {"exits_emitted", "Exit records sent to the watcher."},
		[CW_CNT_DROPPED_RINGBUF] = {"dropped_ringbuf_full",
					    "Records lost: the ring buffer was full."},
		[CW_CNT_CAPTURE_PARTIAL] = {"captures_partial",
					    "First captures missing registers or stack."},
		[CW_CNT_FLAG_TABLE_FULL] = {"flag_table_full",
					    "Crashing processes not remembered for their exit."},
		[CW_CNT_OOM_VICTIMS] = {"oom_victims", "Processes the OOM killer chose."},
		[CW_CNT_EXECS_NEW] = {"execs_new", "Executables first run in a mount namespace."},
		[CW_CNT_OUT_OF_SCOPE] = {"out_of_scope",
					 "Crash records not sent: outside the watched scope."},
		[CW_CNT_GO_FATAL] = {"go_fatal_seen", "Go panics and fatal errors seen."},
		[CW_CNT_USDT_FIRED] = {"usdt_fired", "USDT probes of --snapshot-on that fired."},
		[CW_CNT_USDT_UNHELD] =
			{"usdt_unheld",
			 "USDT probe firings not held: one hold per probe at a time."},
		[CW_CNT_RUST_PANIC] =
			{"rust_panics_seen",
			 "Rust panics seen at rust_panic_with_hook (caught ones too)."},
	};
	uint64_t c[CW_NR_COUNTERS];

	if (cw_detector_counters(d, c) < 0)
		return -EIO;
	for (int i = 0; i < CW_NR_COUNTERS; i++)
		cw_sink_counter(s, names[i].name, names[i].help, c[i]);
	cw_libc_probes_emit_counters(&d->libcs, s);
	cw_go_probes_emit_counters(&d->go, s);
	cw_usdt_probes_emit_counters(&d->usdt, s);
	cw_rust_probes_emit_counters(&d->rust, s);
	cw_sink_counter(s, "malformed", "Records the watcher could not read.", w->malformed);
	cw_sink_counter(s, "core_calls_refused",
			"Calls to the core socket refused: not a core dump's own.",
			w->core_calls_refused);
	if (w->up.target)
		cw_upload_emit_counters(&w->up, s);
	if (w->spool)
		emit_spool_gauges(w->spool, s);
	cw_crash_flow_emit_counters(w->flow, s);
	if (w->requests)
		cw_request_server_emit_counters(w->requests, s);
	cw_flight_emit_counters(&w->flight, s);
	cw_output_queues_emit_counters(s);
	cw_tl_http_emit_counters(&w->timelines, s);
	return 0;
}

static void print_counters(struct cw_detector *d, struct watch_ctx *w)
{
	struct cw_counter_sink s = {.out = stderr, .format = CW_SINK_LINE};
	char *text = NULL;
	size_t len = 0;

	/* Written whole: a line half-printed when a read fails would be misread. */
	s.out = open_memstream(&text, &len);
	if (!s.out || emit_counters(d, w, &s) < 0) {
		if (s.out)
			fclose(s.out);
		free(text);
		fprintf(stderr, "crashwatch: failed to read the counters, ignoring\n");
		return;
	}
	fclose(s.out);
	fprintf(stderr, "crashwatch: counters:%s\n", text);
	free(text);
}

/* A scrape waits: the counters now, in the Prometheus text format. */
static void publish_metrics(struct cw_detector *d, struct watch_ctx *w)
{
	struct cw_counter_sink s = {.format = CW_SINK_PROMETHEUS};
	char *text = NULL;
	size_t len = 0;

	cw_metrics_server_wanted(&w->metrics);
	s.out = open_memstream(&text, &len);
	if (!s.out) {
		fprintf(stderr, "crashwatch: failed to render /metrics: %s, ignoring\n",
			strerror(errno));
		return;
	}
	if (emit_counters(d, w, &s) < 0) {
		fclose(s.out);
		free(text);
		fprintf(stderr, "crashwatch: failed to read the counters for /metrics, ignoring\n");
		return;
	}
	fclose(s.out);
	cw_metrics_server_publish(&w->metrics, text, len);
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
 * The kernel calls us itself for each core dump (core_pattern = @@socket):
 * no helper process to start, the process's pidfd, and the core goes where
 * it went before exactly as the kernel would have sent it.
 */
static int install_core_socket(struct watch_ctx *w, const struct cw_watch_options *o)
{
	char err[512];
	int r;

	w->core_sock = cw_coredump_socket_listen(CW_COREDUMP_SOCKET, err, sizeof(err));
	if (w->core_sock < 0 || (r = cw_core_install_pattern(CW_CORE_SOCKET_PATTERN, o->drop_cores,
							     err, sizeof(err))) < 0) {
		r = w->core_sock < 0 ? w->core_sock : r;
		fprintf(stderr, "crashwatch: %s\n", err);
		return r;
	}
	if (cw_core_previous(w->core_previous, sizeof(w->core_previous)) < 0)
		w->core_previous[0] = '\0';
	w->core_by_socket = true;
	w->core_installed = true;
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
	char self[4096], beside[4200], command[4300], err[4400];
	const char *handler;
	ssize_t n;
	int r;

	/* Not even a saved one is a sidecar's to put back: its /run may be the host's. */
	if (w->scope->sidecar) {
		snprintf(w->flow->why_unheld, sizeof(w->flow->why_unheld),
			 "default-action faults are not held in a sidecar: kernel.core_pattern "
			 "is the host's");
		fprintf(stderr, "crashwatch: %s\n", w->flow->why_unheld);
		return 0;
	}
	/* A watcher that died owning core_pattern left the previous one saved: put it back. */
	if (cw_core_restore() > 0)
		fprintf(stderr, "crashwatch: restored the kernel.core_pattern a previous watcher "
				"left\n");
	w->drop_cores = o->drop_cores;
	if (!o->host_core_handler && o->core_hold != CW_CORE_HOLD_PIPE) {
		r = cw_coredump_socket_supported();
		if (r == 1)
			return install_core_socket(w, o);
		if (o->core_hold == CW_CORE_HOLD_SOCKET) {
			fprintf(stderr,
				"crashwatch: --core-hold=socket: this kernel takes no coredump "
				"socket in kernel.core_pattern (needs Linux >= 6.17 and the host's "
				"mount namespace); use --core-hold=pipe\n");
			return -EOPNOTSUPP;
		}
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		r = -errno;
		fprintf(stderr, "crashwatch: failed to find this executable: %s\n", strerror(-r));
		return r;
	}
	self[n] = '\0';
	/*
	 * The static crashwatch-core-handler beside us starts in 0.6 ms where
	 * this program (libbpf, libcurl, libdw...) takes 4 ms: the kernel
	 * starts one for every core dump.
	 */
	snprintf(beside, sizeof(beside), "%.*s/crashwatch-core-handler",
		 (int)(strrchr(self, '/') - self), self);
	if (o->host_core_handler)
		handler = o->host_core_handler;
	else
		handler = access(beside, X_OK) == 0 ? beside : self;
	snprintf(command, sizeof(command), "%s%s", handler, handler == self ? " core-handler" : "");
	r = o->host_core_handler ? cw_core_handler_copy(self, handler, err, sizeof(err)) : 0;
	if (r == 0)
		r = cw_core_reachable(handler, err, sizeof(err));
	if (r < 0) {
		snprintf(w->flow->why_unheld, sizeof(w->flow->why_unheld),
			 "default-action faults are not held: %s", err);
		fprintf(stderr, "crashwatch: %s\n", w->flow->why_unheld);
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
	if (w->core_by_socket) {
		close(w->core_sock);
		unlink(CW_COREDUMP_SOCKET);
	} else {
		cw_core_unlisten(w->core_sock);
	}
	w->core_sock = -1;
}

/* Refused calls are counted; said at most once a minute, with how many since. */
static void refuse_core_call(struct watch_ctx *w, const char *why)
{
	double now = cw_monotonic_s();

	w->core_calls_refused++;
	w->refused_unsaid++;
	if (w->refused_said_at && now - w->refused_said_at < 60)
		return;
	fprintf(stderr,
		"crashwatch: refused a core dump call: %s (%" PRIu64
		" refused since the last such line; counter core_calls_refused)\n",
		why, w->refused_unsaid);
	w->refused_unsaid = 0;
	w->refused_said_at = now;
}

static void core_call(struct watch_ctx *w, struct cw_detector *det)
{
	struct cw_core_call call = {.conn = -1,
				    .sock = CW_COREDUMP_CONN_INIT,
				    .previous = w->core_previous,
				    .drop = w->drop_cores,
				    .consumer = -1};
	pid_t pid, tid;
	char err[512];
	int sig;

	if (w->core_by_socket) {
		/* A peer that is not a dumping process, or a bad request: closed, no core. */
		if (cw_coredump_socket_accept(w->core_sock, &call.sock, err, sizeof(err)) < 0) {
			refuse_core_call(w, err);
			return;
		}
		pid = call.sock.pid;
		tid = call.sock.tid;
		sig = call.sock.sig;
	} else {
		call.conn = accept4(w->core_sock, NULL, NULL, SOCK_CLOEXEC);
		if (call.conn < 0)
			return;
		/* Closed unanswered: the handler goes on by itself. */
		if (cw_hold_core_request(call.conn, &pid, &tid, &sig) < 0) {
			close(call.conn);
			refuse_core_call(w, "a request that is not \"PID TID SIG\"");
			return;
		}
		if (cw_core_call_check(call.conn, pid, &tid, err, sizeof(err)) < 0) {
			close(call.conn);
			refuse_core_call(w, err);
			return;
		}
	}
	/* The kernel's record of this very crash may still wait in the ring buffer. */
	cw_detector_consume(det);
	cw_crash_flow_core_dump(w->flow, &call, pid, tid, sig);
}

/*
 * Holds to release and files to upload are read back from the spool as
 * root: it must be root's alone, and take files, before anything is read
 * from it or a crash is held.
 */
static int check_spool(const char *spool)
{
	char why[PATH_MAX + 256], fix[2 * PATH_MAX + 64];
	int err = cw_make_dir(spool);

	if (err < 0) {
		fprintf(stderr, "crashwatch: failed to create the spool %s: %s\n", spool,
			strerror(-err));
		return err;
	}
	err = cw_dir_writable(spool, why, sizeof(why));
	if (err < 0) {
		fprintf(stderr,
			"crashwatch: cannot use the spool %s: %s; give --spool a writable "
			"directory\n",
			spool, why);
		return err;
	}
	err = cw_dir_trusted(spool, why, sizeof(why), fix, sizeof(fix));
	if (err < 0)
		fprintf(stderr, "crashwatch: cannot use the spool %s: %s%s%s%s\n", spool, why,
			err == -EPERM ? ", so others could plant holds to release and files to "
					"upload there"
				      : "",
			fix[0] ? "; fix: " : "", fix);
	return err;
}

static int prepare_hold(const struct cw_watch_options *o, struct watch_ctx *w)
{
	char msg[512], why[PATH_MAX + 256], fix[2 * PATH_MAX + 64] = "";
	pid_t holder;
	int err, n;

	/* The saved core_pattern there is written back as root: root's alone. */
	err = cw_make_dir(CW_STATE_DIR);
	if (err == 0)
		err = cw_dir_trusted(CW_STATE_DIR, why, sizeof(why), fix, sizeof(fix));
	else
		snprintf(why, sizeof(why), "failed to create it: %s", strerror(-err));
	if (err < 0) {
		fprintf(stderr, "crashwatch: cannot use %s: %s%s%s%s\n", CW_STATE_DIR, why,
			err == -EPERM ? ", so others could plant the core_pattern the watcher "
					"puts back or take its sockets"
				      : "",
			fix[0] ? "; fix: " : "", fix);
		return err;
	}
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
	snprintf(w->hold_registry, sizeof(w->hold_registry), "%s/.held", o->spool);
	w->spool = o->spool;
	/* A watcher that died while holding a process left it stopped: release it. */
	n = cw_registry_release(w->hold_registry, UINT64_MAX, 1);
	if (n > 0)
		fprintf(stderr, "crashwatch: released %d process(es) a previous watcher held\n", n);
	/*
	 * Before the core socket, the BPF objects and any thread: the watchdog
	 * must hold none of them.
	 */
	err = cw_hold_watchdog_start(&w->watchdog, w->hold_registry);
	if (err < 0) {
		fprintf(stderr, "crashwatch: failed to start the hold watchdog: %s\n",
			strerror(-err));
		return err;
	}
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
	if (cw_crash_flow_done_fd(w->flow) >= 0) {
		ev.data.fd = cw_crash_flow_done_fd(w->flow);
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if (cw_metrics_server_want_fd(&w->metrics) >= 0) {
		ev.data.fd = cw_metrics_server_want_fd(&w->metrics);
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
		publish_metrics(det, w);
	}
	if (w->requests) {
		err = cw_request_server_start(w->requests,
					      &(struct cw_request_server_config){
						      .flow = w->flow,
						      .epfd = ep,
						      .rate = w->o->request_rate,
						      .burst = w->o->request_burst,
						      .max_timeout_s = w->o->hold_timeout_s,
					      },
					      CW_REQUEST_SOCKET);
		if (err < 0) {
			close(ep);
			return err;
		}
		w->flow->requests = w->requests;
		fprintf(stderr,
			"crashwatch: snapshot requests on %s (crashwatch snapshot, libcrashwatch): "
			"%u at once, %u waiting, %g a second per user (burst %g)\n",
			CW_REQUEST_SOCKET, w->o->max_requests, w->o->request_queue,
			w->o->request_rate, w->o->request_burst);
	}
	if (w->flight.started) {
		ev.data.fd = cw_flight_fd(&w->flight);
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
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
				core_call(w, det);
				continue;
			}
			if (w->flight.started && ready[i].data.fd == cw_flight_fd(&w->flight)) {
				cw_flight_consume(&w->flight);
				continue;
			}
			if (ready[i].data.fd == cw_crash_flow_done_fd(w->flow)) {
				cw_crash_flow_holds_done(w->flow);
				continue;
			}
			if (ready[i].data.fd == cw_metrics_server_want_fd(&w->metrics)) {
				publish_metrics(det, w);
				continue;
			}
			if (w->requests && cw_request_server_owns(w->requests, ready[i].data.fd)) {
				cw_request_server_ready(w->requests, ready[i].data.fd);
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
		cw_crash_flow_tick(w->flow);
		if (w->requests)
			cw_request_server_tick(w->requests);
		if (counters_requested) {
			counters_requested = 0;
			print_counters(det, w);
		}
	}
	/* Requests in flight are answered as their holds end (cw_crash_flow_stop). */
	if (w->requests)
		cw_request_server_stop(w->requests, CW_REQUEST_SOCKET);
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
		 "other mount namespaces (containers) as their programs start, Go panics and "
		 "fatal errors (runtime.fatalpanic, runtime.fatalthrow) in Go executables as "
		 "they start (at most %u), Rust panics (std's rust_panic) in Rust executables "
		 "as they start (at most %u), %s, %s",
		 d->libc, o->max_go_binaries, o->max_rust_binaries,
		 !w->core_installed ? "not default-action faults (partial snapshots: see above)"
		 : w->core_by_socket
			 ? "default-action faults (core dump: the kernel's coredump socket)"
			 : "default-action faults (core dump: kernel.core_pattern pipe helper)",
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
	/* A stalled reader of our output must not stall crash handling: lines are queued. */
	err = cw_output_queues_start(CW_OUTPUT_QUEUE_BYTES);
	if (err) {
		fprintf(stderr, "crashwatch: failed to start the output writers: %s\n",
			strerror(-err));
		free(all);
		cw_config_free(&conf);
		return 1;
	}
	/*
	 * No fastbins: a snapshot document read for its cause (2.4 MiB with
	 * 1,000 goroutines) frees some 10^5 small chunks, and the next
	 * request of 1 KiB or more in that arena consolidated them all first,
	 * ~10 ms on the CPU in the next crash's hold (fopen in the registry).
	 */
	mallopt(M_MXFAST, 0);
	/*
	 * The watcher never handles its own crash (a core dump of it would wait
	 * for itself), and its memory holds the upload token: nobody's to read.
	 */
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		fprintf(stderr, "crashwatch: failed to set PR_SET_DUMPABLE 0: %s, ignoring\n",
			strerror(errno));
	cw_clock_init();
	w.fmt.json = opts.json;
	w.fmt.show_stack = opts.show_stack;
	w.flow = calloc(1, sizeof(*w.flow));
	if (!w.flow) {
		err = -ENOMEM;
		fprintf(stderr, "crashwatch: failed to allocate the crash ledger: %s\n",
			strerror(-err));
		goto cleanup;
	}

	err = cw_check_environment();
	if (err)
		goto cleanup;
	err = cw_scope_resolve(&opts, &scope, stderr);
	if (err) {
		bad_usage = true;
		goto cleanup;
	}
	w.scope = &scope;
	upload_abort = &w.up.aborting;
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
		w.target.timeout_s = opts.upload_timeout_s;
	}
	if (opts.hold || opts.upload) {
		w.spool = opts.spool;
		err = check_spool(opts.spool);
		if (err)
			goto cleanup;
	}
	if (opts.hold) {
		err = prepare_hold(&opts, &w);
		if (err)
			goto cleanup;
	}
	if (opts.upload) {
		w.up.target = &w.target;
		w.up.spool = opts.spool;
		w.up.verbose = true;
		cw_bucket_init(&w.up.bucket, opts.rate_limit, opts.rate_burst, cw_monotonic_s());
		err = cw_uploader_start(&w.up);
		if (err) {
			fprintf(stderr, "crashwatch: failed to start the uploader: %s\n",
				strerror(-err));
			goto cleanup;
		}
	}
	if (opts.flight_seconds > 0) {
		if (!opts.hold) {
			fprintf(stderr,
				"crashwatch: --flight-recorder needs --hold: its timeline is "
				"kept beside a crash's snapshot\n");
			bad_usage = true;
			err = -EINVAL;
			goto cleanup;
		}
		err = cw_flight_start(&w.flight, opts.flight_seconds, opts.flight_bytes, &scope);
		if (err)
			goto cleanup;
		fprintf(stderr,
			"crashwatch: flight recorder: the last %gs of every watched thread, "
			"sampled "
			"at %u Hz, in at most %" PRIu64 " MiB\n",
			opts.flight_seconds, w.flight.hz, opts.flight_bytes >> 20);
	}
	w.sym = cw_symbolizer_new();
	if (!w.sym) {
		err = -ENOMEM;
		fprintf(stderr, "crashwatch: failed to allocate the symbolizer: %s\n",
			strerror(-err));
		goto cleanup;
	}
	err = cw_crash_flow_start(w.flow, &(struct cw_crash_flow_config){
						  .o = &opts,
						  .fmt = w.fmt,
						  .spool = w.spool,
						  .tool = w.hold_tool,
						  .registry = w.hold_registry,
						  .symbol_server = !opts.snapshot_tool,
						  .up = &w.up,
						  .upload_timeout_s = w.target.timeout_s,
						  .scope = &scope,
						  .sym = w.sym,
						  .flight = w.flight.started ? &w.flight : NULL,
					  });
	if (err)
		goto cleanup;
	if (opts.metrics) {
		char msg[512];

		err = cw_metrics_server_start(&w.metrics, opts.metrics, msg, sizeof(msg));
		if (err) {
			fprintf(stderr, "crashwatch: %s\n", msg);
			bad_usage = err == -EINVAL;
			goto cleanup;
		}
		fprintf(stderr, "crashwatch: serving the counters at http://%s/metrics\n",
			w.metrics.where);
	}
	if (opts.http) {
		char msg[512];

		err = cw_tl_http_start(&w.timelines, opts.http, msg, sizeof(msg));
		if (err) {
			fprintf(stderr, "crashwatch: %s\n", msg);
			bad_usage = err == -EINVAL;
			goto cleanup;
		}
		if (w.timelines.l.family == AF_UNIX)
			fprintf(stderr, "crashwatch: serving timelines at /debug/timeline on %s\n",
				w.timelines.l.where);
		else
			fprintf(stderr,
				"crashwatch: serving timelines at http://%s/debug/timeline\n",
				w.timelines.l.where);
	}
	if (opts.hold) {
		err = install_core_hold(&w, &opts);
		if (err)
			goto cleanup;
	}
	w.o = &opts;
	if (opts.hold && opts.max_requests > 0) {
		w.requests = calloc(1, sizeof(*w.requests));
		if (!w.requests) {
			err = -ENOMEM;
			fprintf(stderr, "crashwatch: failed to allocate the request server: %s\n",
				strerror(-err));
			goto cleanup;
		}
		w.requests->fd = -1;
	}
	err = cw_detector_start(&det, &opts, &scope, handle_record, &w);
	if (err)
		goto cleanup;
	w.flow->usdt = det.usdt.started ? &det.usdt.set : NULL;
	err = cw_scope_watch(&scope, stderr);
	if (err)
		goto cleanup;

	cw_signal_mask_text(opts.signals, sigs, sizeof(sigs));
	describe_holds(&opts, &det, &w, holds, sizeof(holds));
	cw_scope_describe(&scope, where, sizeof(where));
	fprintf(stderr,
		"crashwatch: watching %s in %s; stack copy %u bytes a thread, ring buffer %u "
		"KiB; OOM victims %s; hold points: %s\n",
		sigs, where, opts.stack_bytes, opts.ringbuf_bytes >> 10,
		det.oom_tracking ? "recognised" : "not recognised (needs Linux >= 6.8)", holds);

	if (w.spool)
		fprintf(stderr,
			"crashwatch: spool %s (at most %" PRIu64 " snapshots, %" PRIu64
			" bytes; 0: no bound); uploads: %s%s\n",
			w.spool, opts.spool_max_files, opts.spool_max_bytes,
			w.up.target ? w.target.url : "none (--upload to send them)",
			w.up.target ? (opts.upload_sync ? " (sync)" : " (async)") : "");

	err = watch_loop(&det, &w);

cleanup:
	/* First: a backend that never answers must not delay the rest of the shutdown. */
	cw_uploader_abort(&w.up);
	cw_metrics_server_stop(&w.metrics);
	cw_tl_http_stop(&w.timelines);
	uninstall_core_hold(&w);
	/* Holds end (their outcomes written); suppressed crashes reach the spool. */
	if (w.flow)
		cw_crash_flow_stop(w.flow);
	/*
	 * What is not uploaded yet stays in the spool for the next start.  The
	 * uploader's thread ends before its counters are read: one that had
	 * just uploaded a file would otherwise be counted late, or not at all.
	 */
	upload_abort = NULL; /* w is gone after the return */
	cw_uploader_stop(&w.up);
	if (det.skel)
		print_counters(&det, &w);
	/* After the holds (they write its timelines) and its counters. */
	cw_flight_stop(&w.flight);
	cw_detector_stop(&det);
	cw_scope_close(&scope);
	cw_upload_target_free(&w.target);
	curl_global_cleanup();
	if (w.flow)
		cw_crash_flow_free(w.flow);
	free(w.flow);
	free(w.requests);
	cw_symbolizer_free(w.sym);
	free(all);
	cw_config_free(&conf);
	if (w.hold_lock >= 0)
		close(w.hold_lock); /* last: core_pattern is given back by now */
	cw_hold_watchdog_stop(&w.watchdog);
	if (!err)
		fprintf(stderr, "crashwatch: stopped, everything detached\n");
	return bad_usage ? 2 : err ? 1 : 0;
}
