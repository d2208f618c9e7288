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
	struct cw_symbolizer *sym;
	uint64_t malformed; /* records userspace could not read */
};

static int handle_record(void *ctx, void *data, size_t size)
{
	struct watch_ctx *w = ctx;

	switch (cw_event_check(data, size)) {
	case CW_EVENT_SIGNAL:
		cw_format_signal(stdout, data, w->sym, &w->fmt);
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

int cw_watch_main(int argc, char **argv)
{
	struct cw_watch_options opts;
	struct cw_detector det = {0};
	struct watch_ctx w = {0};
	char sigs[512];
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
	fprintf(stderr,
		"crashwatch: watching %s on every process; stack copy %u bytes, ring buffer %u "
		"KiB; OOM victims %s\n",
		sigs, opts.stack_bytes, opts.ringbuf_bytes >> 10,
		det.oom_tracking ? "recognised" : "not recognised (needs Linux >= 6.8)");

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
