// SPDX-License-Identifier: MIT
#include "timeline_main.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "detector.h"
#include "parse.h"
#include "scope.h"
#include "timeline_compact.h"
#include "timeline_events.h"
#include "timeline_recorder.h"
#include "watch_options.h"

static const char usage[] =
	"Usage: crashwatch timeline (--pid=PID... | --cgroup=PATH...) [OPTIONS]\n"
	"\n"
	"Record a wall-clock timeline of every thread of the processes: each CPU samples\n"
	"the thread it runs at HZ, and a thread off the CPU is recorded from when it left\n"
	"to when it ran again, in the stack it left in; written as Chrome Trace Event\n"
	"Format JSON (fgtrace's), to open in Perfetto UI or chrome://tracing.\n"
	"\n"
	"  --pid=PID            a process to record (repeatable)\n"
	"  --cgroup=PATH        every process in this cgroup v2 cgroup and below\n"
	"                       (repeatable; as /proc/PID/cgroup shows it, or under the\n"
	"                       cgroup2 mount)\n"
	"  --seconds=S          how long to record (default 30; fractions allowed); ends\n"
	"                       early at SIGINT/SIGTERM or when every --pid process ended\n"
	"  --hz=N               samples a second (default 99, at most 10000)\n"
	"  --output=FILE        where the trace goes (default timeline.json; - for stdout)\n"
	"  --state-frames=WHERE the thread's state (running, runnable, sleeping, disk,\n"
	"                       stopped) as a virtual frame at the root (default), the leaf,\n"
	"                       or no\n"
	"  --stack-bytes=N      top of the stack copied per record for CFI unwinding\n"
	"                       (default 512, at most 1024)\n"
	"  --off-cpu=yes|no     record threads off the CPU, from sched_switch (default\n"
	"                       yes); no: samples only, a thread off the CPU is a gap,\n"
	"                       and the host's context switches cost nothing\n"
	"  --events=LIST        trace events (USDT probes: PROVIDER:NAME,...; repeatable)\n"
	"                       of the processes and the libraries they map, each one\n"
	"                       fired an instant on its thread's track, with its\n"
	"                       arguments; `crashwatch probes --pid=PID` lists them\n"
	"  -v, --verbose        libbpf's messages\n"
	"  -h, --help           this help\n"
	"\n"
	"Exit status: 0 the trace is written; 1 could not record or write; 2 bad usage.\n";

int cw_tl_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(v) || v <= 0 || v > 86400)
		return -EINVAL;
	*out = v;
	return 0;
}

static volatile sig_atomic_t stop;
static bool verbose;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Every record, copied. */
struct collected {
	struct cw_tl_record **v;
	size_t n, cap;
	int err;
};

static int collect(void *ctx, const struct cw_tl_record *r)
{
	struct collected *c = ctx;
	struct cw_tl_record *copy;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct cw_tl_record **nv = realloc(c->v, cap * sizeof(*nv));

		if (!nv) {
			c->err = -ENOMEM;
			return -ENOMEM;
		}
		c->v = nv;
		c->cap = cap;
	}
	/* Kept compact while recording: the frame slots it does not use are most of it. */
	copy = cw_tl_compact(r);
	if (!copy) {
		c->err = -ENOMEM;
		return -ENOMEM;
	}
	c->v[c->n++] = copy;
	return 0;
}

/* The records whole again, for the writer: at the end, off the recording's clock. */
static int expand_all(struct collected *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct cw_tl_record *full = cw_tl_expand(c->v[i]);

		if (!full)
			return -ENOMEM;
		free(c->v[i]);
		c->v[i] = full;
	}
	return 0;
}

/* Still running: not gone, and not a zombie waiting for its parent. */
static bool any_alive(const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char path[64], buf[512], *paren;
		FILE *f;
		size_t len;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pids[i]);
		f = fopen(path, "re");
		if (!f)
			continue;
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		paren = strrchr(buf, ')');
		if (paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X')
			return true;
	}
	return false;
}

struct args {
	pid_t pids[CW_TL_MAX_PIDS];
	size_t n_pids;
	struct cw_watch_options scope_opts; /* only its --cgroup */
	double seconds;
	uint64_t hz, stack_bytes;
	const char *output;
	enum cw_tl_state_frames frames;
	bool on_cpu_only;
	struct cw_usdt_trace_list events;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"cgroup", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 's'},
		{"hz", required_argument, NULL, 'z'},
		{"output", required_argument, NULL, 'o'},
		{"state-frames", required_argument, NULL, 'f'},
		{"stack-bytes", required_argument, NULL, 'b'},
		{"events", required_argument, NULL, 'e'},
		{"off-cpu", required_argument, NULL, 'O'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	uint64_t v;
	int c;

	a->seconds = CW_TL_DEFAULT_SECONDS;
	a->hz = CW_TL_DEFAULT_HZ;
	a->stack_bytes = CW_TL_DEFAULT_STACK_BYTES;
	a->output = CW_TL_DEFAULT_OUTPUT;
	a->frames = CW_TL_FRAMES_ROOT;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (cw_parse_u64(optarg, 1, 0x7fffffff, &v) < 0) {
				fprintf(stderr, "crashwatch: bad --pid '%s': a process id\n",
					optarg);
				return 2;
			}
			if (a->n_pids == CW_TL_MAX_PIDS) {
				fprintf(stderr, "crashwatch: at most %d --pid\n", CW_TL_MAX_PIDS);
				return 2;
			}
			a->pids[a->n_pids++] = (pid_t)v;
			break;
		case 'c':
			if (a->scope_opts.n_cgroups == CW_MAX_SCOPE_CGROUPS) {
				fprintf(stderr, "crashwatch: at most %d --cgroup\n",
					CW_MAX_SCOPE_CGROUPS);
				return 2;
			}
			a->scope_opts.cgroups[a->scope_opts.n_cgroups++] = optarg;
			break;
		case 's':
			if (cw_tl_parse_seconds(optarg, &a->seconds) < 0) {
				fprintf(stderr,
					"crashwatch: bad --seconds '%s': a number of seconds > 0\n",
					optarg);
				return 2;
			}
			break;
		case 'z':
			if (cw_parse_u64(optarg, 1, CW_TL_MAX_HZ, &a->hz) < 0) {
				fprintf(stderr, "crashwatch: bad --hz '%s': 1 to %d\n", optarg,
					CW_TL_MAX_HZ);
				return 2;
			}
			break;
		case 'o':
			if (!*optarg) {
				fprintf(stderr, "crashwatch: bad --output '': a file, or -\n");
				return 2;
			}
			a->output = optarg;
			break;
		case 'f':
			if (cw_tl_parse_state_frames(optarg, &a->frames) < 0) {
				fprintf(stderr,
					"crashwatch: bad --state-frames '%s': root, leaf or no\n",
					optarg);
				return 2;
			}
			break;
		case 'b':
			if (cw_parse_u64(optarg, 0, CW_TL_STACK_MAX, &a->stack_bytes) < 0) {
				fprintf(stderr, "crashwatch: bad --stack-bytes '%s': 0 to %d\n",
					optarg, CW_TL_STACK_MAX);
				return 2;
			}
			break;
		case 'e':
			if (cw_usdt_trace_list_add(&a->events, optarg, "--events") < 0)
				return 2;
			break;
		case 'O':
			if (strcmp(optarg, "yes") && strcmp(optarg, "no")) {
				fprintf(stderr, "crashwatch: bad --off-cpu '%s': yes or no\n",
					optarg);
				return 2;
			}
			a->on_cpu_only = strcmp(optarg, "no") == 0;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			fprintf(stderr, "crashwatch: bad option '%s'\n%s", argv[optind - 1], usage);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "crashwatch: unexpected argument '%s'\n%s", argv[optind], usage);
		return 2;
	}
	if (!a->n_pids && !a->scope_opts.n_cgroups) {
		fprintf(stderr, "crashwatch: timeline needs --pid or --cgroup\n%s", usage);
		return 2;
	}
	if (a->n_pids && a->scope_opts.n_cgroups) {
		fprintf(stderr, "crashwatch: give --pid or --cgroup, not both\n");
		return 2;
	}
	return 0;
}

/* Wait up to ms for records or trace events, and take them.  0 or -errno. */
static int poll_both(struct cw_tl_recorder *rec, struct cw_tl_events *ev, int ms)
{
	struct pollfd fds[2] = {
		{.fd = cw_tl_recorder_fd(rec), .events = POLLIN},
		{.fd = cw_tl_events_fd(ev), .events = POLLIN},
	};
	int n, err;

	if (fds[1].fd < 0)
		return cw_tl_recorder_poll(rec, ms);
	n = poll(fds, 2, ms);
	if (n < 0)
		return -errno;
	err = cw_tl_recorder_consume(rec);
	n = cw_tl_events_consume(ev);
	return err < 0 ? err : n < 0 ? n : 0;
}

/* Write the trace to a temporary file beside path, then rename: never half a file. */
static int write_trace(const char *path, struct collected *c, const struct cw_tl_json_options *jo,
		       struct cw_tl_json_stats *st)
{
	char tmp[4200];
	FILE *f;
	int err;

	if (strcmp(path, "-") == 0)
		return cw_tl_write_json(stdout, (const struct cw_tl_record *const *)c->v, c->n, jo,
					st);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	err = cw_tl_write_json(f, (const struct cw_tl_record *const *)c->v, c->n, jo, st);
	if (fclose(f) != 0 && !err)
		err = -EIO;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int cw_timeline_main(int argc, char **argv)
{
	struct args *a = calloc(1, sizeof(*a));
	struct cw_tl_recorder rec = {0};
	struct cw_tl_events events = {0};
	struct cw_tl_recorder_options ro = {0};
	struct collected c = {0};
	struct cw_scope scope;
	struct cw_tl_json_options jo;
	struct cw_tl_json_stats st;
	char goroutines[48] = "";
	uint64_t t0, deadline, counters[CW_TL_NR_COUNTERS] = {0};
	bool scope_resolved = false;
	int ret = 1, err;

	if (!a)
		return 1;
	err = parse_args(argc, argv, a);
	if (err) {
		ret = err == 1 ? 0 : err;
		goto cleanup;
	}
	libbpf_set_print(libbpf_print);
	if (cw_check_environment() < 0)
		goto cleanup;
	for (size_t i = 0; i < a->n_pids; i++)
		if (kill(a->pids[i], 0) < 0 && errno == ESRCH) {
			fprintf(stderr, "crashwatch: no process %d\n", (int)a->pids[i]);
			goto cleanup;
		}
	if (a->scope_opts.n_cgroups) {
		if (cw_scope_resolve(&a->scope_opts, &scope, stderr) < 0)
			goto cleanup;
		scope_resolved = true;
		ro.all = true;
		ro.view_pidns = scope.sidecar ? scope.pidns : 0;
		ro.cgroup_ids = scope.cgroup_ids;
		ro.n_cgroups = scope.n_cgroups;
	}
	ro.hz = (unsigned)a->hz;
	ro.stack_bytes = (unsigned)a->stack_bytes;
	ro.pids = a->pids;
	ro.n_pids = a->n_pids;
	ro.ringbuf_bytes = 16U << 20;
	ro.on_cpu_only = a->on_cpu_only;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (cw_tl_recorder_start(&rec, &ro, collect, &c) < 0)
		goto cleanup;
	t0 = boottime_ns();
	err = cw_tl_recorder_seed(&rec, a->n_pids == 1 ? a->pids[0] : 0);
	if (err < 0)
		fprintf(stderr,
			"crashwatch: failed to read the threads already waiting: %s, ignoring\n",
			strerror(-err));
	if (a->events.n) {
		err = cw_tl_events_start(&events, &a->events, a->pids, a->n_pids,
					 scope_resolved ? &scope : NULL);
		if (err < 0) {
			ret = err == -EINVAL ? 2 : 1;
			goto cleanup;
		}
	}
	deadline = t0 + (uint64_t)(a->seconds * 1e9);
	fprintf(stderr, "crashwatch: recording %s for %gs at %u Hz\n",
		a->n_pids ? "the process" : "the cgroup", a->seconds, (unsigned)a->hz);
	while (!stop && !c.err) {
		uint64_t now = boottime_ns();
		int ms;

		if (now >= deadline || (a->n_pids && !any_alive(a->pids, a->n_pids)))
			break;
		ms = (int)((deadline - now) / 1000000) + 1;
		err = poll_both(&rec, &events, ms < 100 ? ms : 100);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "crashwatch: failed to read the timeline records: %s\n",
				strerror(-err));
			goto cleanup;
		}
	}
	/* Every probe detaches now, together: the semaphores go back down. */
	cw_tl_events_stop(&events);
	err = cw_tl_recorder_flush(&rec, a->n_pids == 1 ? a->pids[0] : 0);
	if (err < 0)
		fprintf(stderr,
			"crashwatch: failed to end the intervals still open: %s, ignoring\n",
			strerror(-err));
	jo = (struct cw_tl_json_options){
		.hz = (unsigned)a->hz,
		.state_frames = a->frames,
		.start_ns = t0,
		.end_ns = boottime_ns(),
		.instants = events.v,
		.n_instants = events.n,
	};
	cw_tl_recorder_counters(&rec, counters);
	/* The programs stop before the writing: it reads the processes' files. */
	cw_tl_recorder_stop(&rec);
	if (c.err || events.err) {
		fprintf(stderr, "crashwatch: failed to keep the records: %s\n",
			strerror(-(c.err ? c.err : events.err)));
		goto cleanup;
	}
	err = expand_all(&c);
	if (!err)
		err = write_trace(a->output, &c, &jo, &st);
	if (err < 0) {
		fprintf(stderr, "crashwatch: failed to write %s: %s\n", a->output, strerror(-err));
		goto cleanup;
	}
	if (st.goroutines)
		snprintf(goroutines, sizeof(goroutines), ", %zu goroutines", st.goroutines);
	fprintf(stderr,
		"crashwatch: %s: %zu threads%s of %zu processes over %.3fs, %zu events "
		"(samples %llu, off-CPU intervals %llu, lost %llu)\n",
		a->output, st.threads, goroutines, st.processes,
		(double)(jo.end_ns - jo.start_ns) / 1e9, st.events,
		(unsigned long long)counters[CW_TL_CNT_SAMPLES],
		(unsigned long long)counters[CW_TL_CNT_OFF_CPU],
		(unsigned long long)counters[CW_TL_CNT_DROPPED]);
	if (a->events.n)
		fprintf(stderr,
			"crashwatch: %zu trace event(s) on the threads' tracks (lost %" PRIu64
			")\n",
			st.instants, events.lost);
	ret = 0;
cleanup:
	cw_tl_events_free(&events);
	cw_tl_recorder_stop(&rec);
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i]);
	free(c.v);
	if (scope_resolved)
		cw_scope_close(&scope);
	free(a);
	return ret;
}
