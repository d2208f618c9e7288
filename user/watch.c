// SPDX-License-Identifier: MIT
/* `crashwatch watch`: parse → check → load and attach → poll → detach. */
#include "watch.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "detector.h"
#include "event_decode.h"
#include "event_format.h"
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
	bool hold;
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
	cw_format_snapshot(stdout, ev, r.path, r.held_ms, r.tool_status, r.timed_out, &w->fmt);
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct watch_ctx *w = ctx;

	switch (cw_event_check(data, size)) {
	case CW_EVENT_SIGNAL:
		cw_format_signal(stdout, data, w->sym, &w->fmt);
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
	};
	uint64_t c[CW_NR_COUNTERS];

	if (cw_detector_counters(d, c) < 0) {
		fprintf(stderr, "crashwatch: failed to read the counters, ignoring\n");
		return;
	}
	fprintf(stderr, "crashwatch: counters:");
	for (int i = 0; i < CW_NR_COUNTERS; i++)
		fprintf(stderr, " %s=%" PRIu64, names[i], c[i]);
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

static char hold_tool[4096], hold_registry[4096];

static int prepare_hold(const struct cw_watch_options *o, struct watch_ctx *w)
{
	int err, n;

	if (o->snapshot_tool)
		snprintf(hold_tool, sizeof(hold_tool), "%s", o->snapshot_tool);
	else if ((err = cw_default_snapshot_tool(hold_tool, sizeof(hold_tool))) < 0) {
		fprintf(stderr,
			"crashwatch: failed to find crashwatch-snapshot: %s; give "
			"--snapshot-tool\n",
			strerror(-err));
		return err;
	}
	if (access(hold_tool, X_OK) < 0) {
		err = -errno;
		fprintf(stderr,
			"crashwatch: cannot run the snapshot tool %s: %s; give --snapshot-tool\n",
			hold_tool, strerror(-err));
		return err;
	}
	err = cw_make_dir(o->spool);
	if (err < 0) {
		fprintf(stderr, "crashwatch: failed to create the spool %s: %s\n", o->spool,
			strerror(-err));
		return err;
	}
	snprintf(hold_registry, sizeof(hold_registry), "%s/.held", o->spool);
	/* A watcher that died while holding a process left it stopped: release it. */
	n = cw_hold_recover(hold_registry);
	if (n > 0)
		fprintf(stderr, "crashwatch: released %d process(es) a previous watcher held\n", n);
	w->hold = true;
	w->hold_cfg = (struct cw_hold_config){
		.tool = hold_tool,
		.dir = o->spool,
		.timeout_s = o->hold_timeout_s,
		.registry = hold_registry,
	};
	return 0;
}

/* Which hold points are active on this kernel, for the start-up line. */
static void describe_holds(const struct cw_watch_options *o, const struct cw_detector *d, char *out,
			   size_t cap)
{
	if (!o->hold) {
		snprintf(out, cap, "none (--hold to enable)");
		return;
	}
	snprintf(out, cap, "handled signals (SIGSTOP at the handler), abort() in %s, %s", d->libc,
		 d->hold_sent ? "signals sent by other processes (at generation)"
			      : "not signals sent by other processes (needs Linux >= 6.13)");
}

int cw_watch_main(int argc, char **argv)
{
	struct cw_watch_options opts;
	struct cw_detector det = {0};
	struct watch_ctx w = {0};
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

	while (!stop_requested) {
		err = cw_detector_poll(&det, 500);
		if (err == -EINTR)
			err = 0;
		if (err < 0) {
			fprintf(stderr, "crashwatch: failed to read the ring buffer: %s\n",
				strerror(-err));
			goto cleanup;
		}
		if (counters_requested) {
			counters_requested = 0;
			print_counters(&det, &w);
		}
	}
	err = 0;
	/* Records already in the ring buffer are reported before leaving. */
	cw_detector_poll(&det, 0);

cleanup:
	if (det.skel)
		print_counters(&det, &w);
	cw_detector_stop(&det);
	cw_symbolizer_free(w.sym);
	if (!err)
		fprintf(stderr, "crashwatch: stopped, everything detached\n");
	return err ? 1 : 0;
}
