// SPDX-License-Identifier: MIT
#include "probes_trace.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "event_decode.h"
#include "proc_info.h"
#include "usdt_tracer.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void print_event(void *ctx, const struct cw_usdt_event *ev,
			const struct cw_usdt_attachment *a)
{
	const bool *json = ctx;

	cw_format_usdt(stdout, ev, a, *json);
}

/* Each spec must be found somewhere. */
static int check_found(const struct cw_probes_trace_opts *o, const struct cw_usdt_trace_list *l,
		       const unsigned found[CW_USDT_TRACE_MAX_SPECS])
{
	for (unsigned s = 0; s < l->n; s++)
		if (!found[s]) {
			fprintf(stderr,
				"crashwatch: no probe %s:%s in %s%s; crashwatch probes %s%s lists "
				"them\n",
				l->v[s].provider, l->v[s].name,
				o->pid ? "the files pid " : o->program,
				o->pid ? "maps" : " or its libraries", o->pid ? "--pid=" : "",
				o->pid ? "PID" : o->program);
			return -ENOENT;
		}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The traced process ended (a zombie has no events left to fire either). */
static bool gone(pid_t pid)
{
	char path[32], state;
	unsigned flags;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return cw_proc_stat_state(AT_FDCWD, path, &state, &flags) < 0 || state == 'Z' ||
	       state == 'X';
}

int cw_probes_trace(const struct cw_probes_trace_opts *o, struct cw_probe_files *f)
{
	struct cw_usdt_trace_list list = {.n = 0};
	unsigned found[CW_USDT_TRACE_MAX_SPECS] = {0};
	struct cw_usdt_tracer t;
	struct sigaction sa = {0};
	bool json = o->json;
	double until = o->duration_s > 0 ? now_s() + o->duration_s : 0;
	uint64_t lost;
	int err;

	err = cw_usdt_trace_list_add(&list, o->list, "--trace");
	if (err)
		return err;
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	cw_clock_init();
	err = cw_usdt_tracer_open(
		&t, &(struct cw_usdt_tracer_options){.fn = print_event, .ctx = &json});
	if (!err)
		err = cw_usdt_tracer_attach(&t, f, &list, o->pid ? o->pid : -1, !o->pid, found,
					    NULL);
	if (!err)
		err = check_found(o, &list, found);
	if (err) {
		cw_usdt_tracer_close(&t);
		return err;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fprintf(stderr, "crashwatch: tracing %s in %zu probe attachment(s); SIGINT stops\n",
		o->list, t.set.n);
	while (!stop && (!until || now_s() < until)) {
		int n = cw_usdt_tracer_poll(&t, 200);

		if (n < 0 && n != -EINTR) {
			err = n;
			fprintf(stderr, "crashwatch: failed to read the ring buffer: %s\n",
				strerror(-err));
			break;
		}
		if (o->pid && gone(o->pid))
			break;
	}
	cw_usdt_tracer_consume(&t);
	if (t.malformed)
		fprintf(stderr, "crashwatch: %" PRIu64 " malformed record(s)\n", t.malformed);
	lost = cw_usdt_tracer_lost(&t);
	if (lost)
		fprintf(stderr,
			"crashwatch: %" PRIu64 " event(s) lost: they came faster than they were "
			"printed\n",
			lost);
	cw_usdt_tracer_close(&t);
	if (!err)
		fprintf(stderr, "crashwatch: stopped tracing, every probe detached\n");
	return err;
}
