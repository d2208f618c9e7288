// SPDX-License-Identifier: MIT
/* `crashwatch watch`: parse → check → load and attach → poll → detach. */
#include "watch.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "detector.h"
#include "event_decode.h"
#include "event_format.h"
#include "core_install.h"
#include "hold.h"
#include "symbolize.h"
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
	int core_sock; /* where core handlers call, -1 */
	/* The last signal records: a core handler's call finds si_code and address here. */
#define RECENT 64
	struct cw_crash_signal recent[RECENT];
	size_t recent_next;
	/* Processes already snapshotted by a SIGSTOP hold: their core dump needs none. */
	pid_t snapshotted[RECENT];
	size_t snapshotted_next;
	bool core_installed;
	struct cw_hold_config hold_cfg;
	struct cw_symbolizer *sym;
	uint64_t malformed; /* records userspace could not read */
};

static void hold(struct watch_ctx *w, const struct cw_signal_event *ev)
{
	struct cw_hold_result r;
	int err = cw_hold_snapshot(&w->hold_cfg, ev, &r);

	if (err < 0 && err != -ESRCH)
		fprintf(stderr, "crashwatch: failed to snapshot held process %u: %s, released\n",
			ev->task.pid, strerror(-err));
	if (r.path[0])
		w->snapshotted[w->snapshotted_next++ % RECENT] = (pid_t)ev->task.pid;
	cw_format_snapshot(stdout, ev, r.path, r.held_ms, r.tool_status, r.timed_out, &w->fmt);
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct watch_ctx *w = ctx;

	switch (cw_event_check(data, size)) {
	case CW_EVENT_SIGNAL:
		cw_format_signal(stdout, data, w->sym, &w->fmt);
		cw_crash_signal_of(data, &w->recent[w->recent_next++ % RECENT]);
		if (((const struct cw_signal_event *)data)->flags & CW_SIG_HELD)
			hold(w, data);
		break;
	case CW_EVENT_EXIT:
		cw_format_exit(stdout, data, &w->fmt);
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
	fprintf(stderr, " malformed=%" PRIu64 "\n", w->malformed);
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
 * to seize the process before it lets the dump finish.
 */
static int install_core_hold(struct watch_ctx *w)
{
	char self[4096], err[512];
	ssize_t n;
	int r;

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
	w->core_sock = cw_core_listen(err, sizeof(err));
	if (w->core_sock < 0 || (r = cw_core_install(self, err, sizeof(err))) < 0) {
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
	const struct cw_crash_signal *known = NULL;
	struct cw_signal_event ev = {0};
	struct cw_hold_result r;
	struct timespec now;
	pid_t pid, tid;
	int sig;

	if (conn < 0)
		return;
	if (cw_hold_core_request(conn, &pid, &tid, &sig) < 0) {
		close(conn); /* the handler goes on by itself */
		return;
	}
	/* The kernel's record of this very crash may still wait in the ring buffer. */
	cw_detector_consume(det);
	for (size_t i = 0; i < RECENT; i++)
		if (w->snapshotted[i] == pid) {
			/* Held and snapshotted before it died (abort, kill): let the dump go. */
			w->snapshotted[i] = 0;
			close(conn);
			return;
		}
	for (size_t i = 0; i < RECENT; i++)
		if (w->recent[i].pid == pid && w->recent[i].sig == sig)
			known = &w->recent[i];
	clock_gettime(CLOCK_BOOTTIME, &now);
	cw_hold_core(&w->hold_cfg, conn, pid, tid, sig, known, &r);
	ev.task.pid = (__u32)pid;
	ev.task.tid = (__u32)tid;
	ev.hdr.ts_ns = (__u64)now.tv_sec * 1000000000ULL + (__u64)now.tv_nsec;
	cw_format_snapshot(stdout, &ev, r.path, r.held_ms, r.tool_status, r.timed_out, &w->fmt);
}

static int prepare_hold(const struct cw_watch_options *o, struct watch_ctx *w)
{
	int err, n;

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
	/* A watcher that died while holding a process left it stopped: release it. */
	n = cw_hold_recover(w->hold_registry);
	if (n > 0)
		fprintf(stderr, "crashwatch: released %d process(es) a previous watcher held\n", n);
	err = install_core_hold(w);
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
			err = cw_detector_consume(det);
			if (err < 0 && err != -EINTR) {
				fprintf(stderr, "crashwatch: failed to read the ring buffer: %s\n",
					strerror(-err));
				close(ep);
				return err;
			}
			err = 0;
		}
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
static void describe_holds(const struct cw_watch_options *o, const struct cw_detector *d, char *out,
			   size_t cap)
{
	if (!o->hold) {
		snprintf(out, cap, "none (--hold to enable)");
		return;
	}
	snprintf(out, cap,
		 "handled signals (SIGSTOP at the handler), abort() in %s and in the libcs of "
		 "other mount namespaces (containers) as their programs start, default-action "
		 "faults (core dump, kernel.core_pattern), %s",
		 d->libc,
		 d->hold_sent ? "signals sent by other processes (at generation)"
			      : "not signals sent by other processes (needs Linux >= 6.13)");
}

int cw_watch_main(int argc, char **argv)
{
	struct cw_watch_options opts;
	struct cw_detector det = {0};
	struct watch_ctx w = {.core_sock = -1};
	char sigs[512], holds[8192];
	int err;

	err = cw_watch_options_parse(argc, argv, &opts, stdout, stderr);
	if (err)
		return err > 0 ? 0 : 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	cw_clock_init();
	w.fmt.json = opts.json;
	w.fmt.show_stack = opts.show_stack;

	err = cw_check_environment();
	if (err)
		goto cleanup;
	err = install_handlers();
	if (err) {
		fprintf(stderr, "crashwatch: failed to install signal handlers: %s\n",
			strerror(-err));
		goto cleanup;
	}
	if (opts.hold) {
		err = prepare_hold(&opts, &w);
		if (err)
			goto cleanup;
	}
	w.sym = cw_symbolizer_new();
	if (!w.sym) {
		err = -ENOMEM;
		fprintf(stderr, "crashwatch: failed to allocate the symbolizer: %s\n",
			strerror(-err));
		goto cleanup;
	}
	err = cw_detector_start(&det, &opts, handle_record, &w);
	if (err)
		goto cleanup;

	cw_signal_mask_text(opts.signals, sigs, sizeof(sigs));
	describe_holds(&opts, &det, holds, sizeof(holds));
	fprintf(stderr,
		"crashwatch: watching %s on every process; stack copy %u bytes, ring buffer %u "
		"KiB; OOM victims %s; hold points: %s\n",
		sigs, opts.stack_bytes, opts.ringbuf_bytes >> 10,
		det.oom_tracking ? "recognised" : "not recognised (needs Linux >= 6.8)", holds);

	err = watch_loop(&det, &w);

cleanup:
	uninstall_core_hold(&w);
	if (det.skel)
		print_counters(&det, &w);
	cw_detector_stop(&det);
	cw_symbolizer_free(w.sym);
	if (!err)
		fprintf(stderr, "crashwatch: stopped, everything detached\n");
	return err ? 1 : 0;
}
