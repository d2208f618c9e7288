// SPDX-License-Identifier: MIT
#include "watch_options.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include "crashwatch/events.h"
#include "hold_pool.h"
#include "parse.h"
#include "signals.h"
#include "upload_target.h"
#include "crashwatch/request.h"
#include "usdt_attach.h"

static const char usage[] =
	"Usage: crashwatch watch [OPTIONS]\n"
	"\n"
	"Watch every process on the host for fatal signals and report each crash, with a\n"
	"first capture of the faulting thread taken in the kernel, and how the process ended.\n"
	"\n"
	"  --signals=LIST       fatal signals to watch, by name or number\n"
	"                       (default " CW_DEFAULT_SIGNALS "); not KILL, STOP,\n"
	"                       CONT, TSTP, TTIN, TTOU, CHLD, WINCH, URG, 32 or 33\n"
	"  --stack-bytes=SIZE   stack copied per thread of a held process, for its unwind\n"
	"                       (the snapshot tool's --stack-bytes; default 256K, 4K-64M)\n"
	"  --ringbuf-size=SIZE  kernel-to-daemon ring buffer, a power of two (default 4M)\n"
	"  --nonzero-exit       also report processes that exit with a non-zero code\n"
	"  --signal-deaths      also report deaths by signals not watched (SIGKILL, SIGTERM...)\n"
	"  --no-hold            only report crashes: do not hold them for a snapshot, leave\n"
	"                       kernel.core_pattern alone, write nothing to the spool\n"
	"  --hold               hold every crash (the default): at its handler's entry, at\n"
	"                       abort(), before a sent signal is delivered, or in its core\n"
	"                       dump (kernel.core_pattern is owned while watching, then\n"
	"                       given back); take a full snapshot, then let it die as it\n"
	"                       would have\n"
	"  --hold-timeout=SEC   the most a process is held (default 30)\n"
	"  --max-holds=N        snapshots taken at once (default 4); a crash beyond waits\n"
	"  --hold-queue=N       crashes that may wait for one (default 64); beyond, a crash\n"
	"                       is released at once with its first capture (a partial\n"
	"                       snapshot, counted in hold_queue_full)\n"
	"  --max-requests=N     snapshots asked for on " CW_REQUEST_SOCKET "\n"
	"                       (crashwatch snapshot, libcrashwatch) taken at once, on\n"
	"                       threads of their own: never a crash's (default 1; 0: no\n"
	"                       request socket)\n"
	"  --request-queue=N    requests that may wait for one (default 8); beyond, busy\n"
	"  --request-rate=RATE  request snapshots a second per requesting user (default 1;\n"
	"                       0: none); under --rate-limit too, of which requests never\n"
	"                       take the last half of the burst: crashes go first\n"
	"  --request-burst=N    request snapshots a user may ask for at once (default 5)\n"
	"  --drop-cores         do not pass core dumps on to the previous core_pattern\n"
	"  --core-hold=HOW      how core dumps reach the watcher: socket (the kernel's\n"
	"                       coredump socket, Linux >= 6.17), pipe (core_pattern runs\n"
	"                       crashwatch core-handler), auto (default: socket where the\n"
	"                       kernel has it and no --host-core-handler is given)\n"
	"  --host-core-handler=PATH  copy crashwatch-core-handler (static) to PATH and point\n"
	"                       core_pattern there: for a watcher in a container, PATH on a\n"
	"                       host directory mounted at the same path, with the host's\n"
	"                       /run/crashwatch (README, Kubernetes)\n"
	"  --rate-limit=RATE    snapshots a second for the whole host (default 1; 0: none);\n"
	"                       crashes over it are counted and aggregated, not lost\n"
	"  --rate-burst=N       snapshots allowed at once above the rate (default 10)\n"
	"  --dedup-window=SEC   a crash alike (executable, signal, top frames) to one\n"
	"                       snapshotted within SEC is counted on it (default 300; 0: off)\n"
	"  --spool-max-files=N  at most N snapshots wait in the spool; the oldest go first\n"
	"                       (default 1000; 0: no bound)\n"
	"  --spool-max-bytes=SIZE  and at most SIZE bytes, K/M/G suffixes (default 256M)\n"
	"  --upload=KIND:WHERE  upload the spool: generic:URL (POST of the snapshot),\n"
	"                       sentry:DSN, backtrace:ENDPOINT; a file leaves the spool once\n"
	"                       the backend accepted it\n"
	"  --upload-token=TOKEN bearer token (generic) or submission token (backtrace)\n"
	"  --upload-mode=MODE   async (default: a thread uploads in the background) or sync\n"
	"                       (each snapshot is uploaded before the next crash is handled)\n"
	"  --upload-timeout=SEC the most one request may take, connecting included (default\n"
	"                       30, 1-3600); then it is retried with the same idempotency key\n"
	"  --spool=DIR          where snapshots are written (default " CW_DEFAULT_SPOOL ")\n"
	"  --snapshot-tool=PATH the snapshot tool (default: crashwatch-snapshot beside this\n"
	"                       program)\n"
	"  --config=FILE        settings read before these flags (default\n"
	"                       /etc/crashwatch/crashwatch.conf when it exists; '' for none)\n"
	"  --max-libcs=N        with --hold, the most libc files abort() is probed in: the\n"
	"                       host's, and those of programs started in other mount\n"
	"                       namespaces (containers); default 256, at most 1024; past\n"
	"                       it, aborts are held in their core dump\n"
	"  --max-go-binaries=N  with --hold, the most Go executable files whose panics and\n"
	"                       fatal errors are probed (found as they start, in any\n"
	"                       mount namespace); default 256, at most 4096; past it, a\n"
	"                       Go program's faults are held at its signal handler and\n"
	"                       its panics are reported at its exit\n"
	"  --max-rust-binaries=N  with --hold, the most Rust executable files whose panics\n"
	"                       are probed (std's panic path, found as they start);\n"
	"                       default 256, at most 4096; past it, a panic=abort panic\n"
	"                       is held at abort() without its message, a panic=unwind\n"
	"                       one is not seen\n"
	"  --cgroup=PATH        watch only the processes in this cgroup v2 cgroup and below\n"
	"                       it, including cgroups made later; PATH as /proc/PID/cgroup\n"
	"                       shows it or under the cgroup2 mount; repeat for more (at\n"
	"                       most 64).  Default: every process the watcher's pid\n"
	"                       namespace sees (the host's, or a sidecar's container)\n"
	"  --redact=PATTERN     the snapshot tool also redacts the values of options and\n"
	"                       variables whose name matches this glob (repeatable, at\n"
	"                       most 64; docs/snapshot.md says what is redacted)\n"
	"  --no-redact          snapshots keep command lines as they are\n"
	"  --debug-dir=DIR      the snapshot tool and the symbol server also look for\n"
	"                       debug files here (DIR/.build-id/xx/yyyy.debug, or the\n"
	"                       /usr/lib/debug layout; repeatable, at most 16).\n"
	"                       DEBUGINFOD_URLS in the watcher's environment lets them\n"
	"                       fetch the rest, after the hold (docs/snapshot.md)\n"
	"  --metrics=ADDR:PORT  serve the counters at http://ADDR:PORT/metrics in the\n"
	"                       Prometheus text format; a PORT alone listens on\n"
	"                       127.0.0.1 (default: not served)\n"
	"  --http=ADDR          serve timelines at http://ADDR/debug/timeline?pid=PID&\n"
	"                       seconds=S&hz=N (as crashwatch timeline records them) to\n"
	"                       whoever could ptrace PID; ADDR: 127.0.0.1:PORT, [::1]:PORT,\n"
	"                       localhost:PORT, a PORT alone or unix:/PATH, loopback only\n"
	"                       (default: not served)\n"
	"  --snapshot-on=PROVIDER:NAME[@PROGRAM]  take a snapshot when this USDT probe\n"
	"                       fires (crashwatch probes lists a program's): the firing\n"
	"                       thread is paused and marked faulted until the capture is\n"
	"                       done, the probe's arguments are attributes usdt.arg0...,\n"
	"                       then the program goes on; rate limit and dedup apply.\n"
	"                       @/PATH: in that file (program or library); @NAME: in the\n"
	"                       executables of that name; alone: in every program, those\n"
	"                       running and those started later (repeatable, at most 64)\n"
	"  --flight-recorder=SECONDS  keep the last SECONDS (at most 3600) of every watched\n"
	"                       thread's timeline, sampled at 99 Hz, and write a crashing\n"
	"                       process's beside its snapshot (<uuid>.timeline.json, Chrome\n"
	"                       trace JSON), uploaded with it; default 0: off\n"
	"  --flight-recorder-size=SIZE  the most memory the kept records take (default\n"
	"                       64M); past it the oldest go first\n"
	"  --json               one JSON object per line instead of readable lines\n"
	"  --no-stack           do not print the captured frames under each crash\n"
	"  -v, --verbose        show libbpf's messages\n"
	"  -h, --help           show this help\n"
	"\n"
	"SIGUSR1 prints the counters; SIGINT or SIGTERM detach everything and exit 0 at once\n"
	"(an upload in flight is abandoned: its snapshot stays in the spool).\n"
	"Exit status: 0 stopped cleanly, 1 could not watch (the message says why), 2 bad usage.\n";

enum {
	OPT_SIGNALS = 0x100,
	OPT_STACK_BYTES,
	OPT_RINGBUF_SIZE,
	OPT_NONZERO_EXIT,
	OPT_SIGNAL_DEATHS,
	OPT_JSON,
	OPT_NO_STACK,
	OPT_HOLD,
	OPT_NO_HOLD,
	OPT_HOLD_TIMEOUT,
	OPT_MAX_HOLDS,
	OPT_HOLD_QUEUE,
	OPT_DROP_CORES,
	OPT_CORE_HOLD,
	OPT_RATE_LIMIT,
	OPT_RATE_BURST,
	OPT_MAX_REQUESTS,
	OPT_REQUEST_QUEUE,
	OPT_REQUEST_RATE,
	OPT_REQUEST_BURST,
	OPT_DEDUP_WINDOW,
	OPT_SPOOL_MAX_FILES,
	OPT_SPOOL_MAX_BYTES,
	OPT_UPLOAD,
	OPT_UPLOAD_TOKEN,
	OPT_UPLOAD_MODE,
	OPT_UPLOAD_TIMEOUT,
	OPT_CONFIG,
	OPT_SPOOL,
	OPT_SNAPSHOT_TOOL,
	OPT_MAX_LIBCS,
	OPT_MAX_GO,
	OPT_MAX_RUST,
	OPT_CGROUP,
	OPT_HOST_CORE_HANDLER,
	OPT_REDACT,
	OPT_NO_REDACT,
	OPT_DEBUG_DIR,
	OPT_METRICS,
	OPT_HTTP,
	OPT_SNAPSHOT_ON,
	OPT_FLIGHT_RECORDER,
	OPT_FLIGHT_RECORDER_SIZE,
};

static const struct option long_options[] = {
	{"signals", required_argument, NULL, OPT_SIGNALS},
	{"stack-bytes", required_argument, NULL, OPT_STACK_BYTES},
	{"ringbuf-size", required_argument, NULL, OPT_RINGBUF_SIZE},
	{"nonzero-exit", no_argument, NULL, OPT_NONZERO_EXIT},
	{"signal-deaths", no_argument, NULL, OPT_SIGNAL_DEATHS},
	{"json", no_argument, NULL, OPT_JSON},
	{"no-stack", no_argument, NULL, OPT_NO_STACK},
	{"hold", no_argument, NULL, OPT_HOLD},
	{"no-hold", no_argument, NULL, OPT_NO_HOLD},
	{"drop-cores", no_argument, NULL, OPT_DROP_CORES},
	{"core-hold", required_argument, NULL, OPT_CORE_HOLD},
	{"rate-limit", required_argument, NULL, OPT_RATE_LIMIT},
	{"rate-burst", required_argument, NULL, OPT_RATE_BURST},
	{"dedup-window", required_argument, NULL, OPT_DEDUP_WINDOW},
	{"spool-max-files", required_argument, NULL, OPT_SPOOL_MAX_FILES},
	{"spool-max-bytes", required_argument, NULL, OPT_SPOOL_MAX_BYTES},
	{"upload", required_argument, NULL, OPT_UPLOAD},
	{"upload-token", required_argument, NULL, OPT_UPLOAD_TOKEN},
	{"upload-mode", required_argument, NULL, OPT_UPLOAD_MODE},
	{"upload-timeout", required_argument, NULL, OPT_UPLOAD_TIMEOUT},
	{"hold-timeout", required_argument, NULL, OPT_HOLD_TIMEOUT},
	{"max-holds", required_argument, NULL, OPT_MAX_HOLDS},
	{"hold-queue", required_argument, NULL, OPT_HOLD_QUEUE},
	{"max-requests", required_argument, NULL, OPT_MAX_REQUESTS},
	{"request-queue", required_argument, NULL, OPT_REQUEST_QUEUE},
	{"request-rate", required_argument, NULL, OPT_REQUEST_RATE},
	{"request-burst", required_argument, NULL, OPT_REQUEST_BURST},
	{"spool", required_argument, NULL, OPT_SPOOL},
	{"snapshot-tool", required_argument, NULL, OPT_SNAPSHOT_TOOL},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"max-libcs", required_argument, NULL, OPT_MAX_LIBCS},
	{"max-go-binaries", required_argument, NULL, OPT_MAX_GO},
	{"max-rust-binaries", required_argument, NULL, OPT_MAX_RUST},
	{"cgroup", required_argument, NULL, OPT_CGROUP},
	{"host-core-handler", required_argument, NULL, OPT_HOST_CORE_HANDLER},
	{"redact", required_argument, NULL, OPT_REDACT},
	{"no-redact", no_argument, NULL, OPT_NO_REDACT},
	{"debug-dir", required_argument, NULL, OPT_DEBUG_DIR},
	{"metrics", required_argument, NULL, OPT_METRICS},
	{"http", required_argument, NULL, OPT_HTTP},
	{"snapshot-on", required_argument, NULL, OPT_SNAPSHOT_ON},
	{"flight-recorder", required_argument, NULL, OPT_FLIGHT_RECORDER},
	{"flight-recorder-size", required_argument, NULL, OPT_FLIGHT_RECORDER_SIZE},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

int cw_watch_option_kind(const char *name)
{
	for (const struct option *o = long_options; o->name; o++)
		if (!strcmp(o->name, name))
			return o->has_arg == no_argument ? 0 : 1;
	return -1;
}

static int parse_number(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min && v <= max))
		return -EINVAL;
	*out = v;
	return 0;
}

int cw_watch_options_parse(int argc, char **argv, struct cw_watch_options *o, FILE *out, FILE *err)
{
	const char *bad;
	uint64_t v;
	int c;

	*o = (struct cw_watch_options){
		.stack_bytes = 256 << 10,
		.ringbuf_bytes = 4 << 20,
		.show_stack = true,
		.hold = true,
		.rate_limit = 1,
		.rate_burst = 10,
		.dedup_window_s = 300,
		.spool_max_files = CW_DEFAULT_SPOOL_MAX_FILES,
		.spool_max_bytes = CW_DEFAULT_SPOOL_MAX_BYTES,
		.hold_timeout_s = 30,
		.upload_timeout_s = CW_UPLOAD_TIMEOUT_DEFAULT_S,
		.max_holds = CW_DEFAULT_MAX_HOLDS,
		.hold_queue = CW_DEFAULT_HOLD_QUEUE,
		.max_requests = CW_DEFAULT_MAX_REQUESTS,
		.request_queue = CW_DEFAULT_REQUEST_QUEUE,
		.request_rate = 1,
		.request_burst = 5,
		.spool = CW_DEFAULT_SPOOL,
		.max_libcs = CW_DEFAULT_MAX_LIBCS,
		.max_go_binaries = CW_DEFAULT_MAX_GO,
		.max_rust_binaries = CW_DEFAULT_MAX_RUST,
		.flight_bytes = 64ULL << 20,
	};
	cw_parse_signal_list(CW_DEFAULT_SIGNALS, &o->signals, &bad);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_SIGNALS:
			if (cw_parse_signal_list(optarg, &o->signals, &bad) < 0) {
				fprintf(err,
					"crashwatch: bad --signals '%s': '%s' is not a signal name "
					"or "
					"number 1-64\n",
					optarg, bad ? bad : "");
				return -EINVAL;
			}
			for (int sig = 1; sig <= 64; sig++) {
				const char *why = cw_signal_unwatchable(sig);

				if (why && (o->signals & (1ULL << (sig - 1)))) {
					fprintf(err,
						"crashwatch: bad --signals '%s': %s cannot be "
						"watched: %s\n",
						optarg, cw_signal_name(sig), why);
					return -EINVAL;
				}
			}
			break;
		case OPT_STACK_BYTES:
			if (cw_parse_size(optarg, 4096, 64 << 20, &v) < 0) {
				fprintf(err,
					"crashwatch: bad --stack-bytes '%s': give a size from 4K "
					"to "
					"64M\n",
					optarg);
				return -EINVAL;
			}
			o->stack_bytes = (uint32_t)v;
			break;
		case OPT_RINGBUF_SIZE:
			if (cw_parse_size(optarg, 4096, 1U << 30, &v) < 0 || (v & (v - 1))) {
				fprintf(err,
					"crashwatch: bad --ringbuf-size '%s': give a power of two "
					"from 4K to 1G\n",
					optarg);
				return -EINVAL;
			}
			o->ringbuf_bytes = (uint32_t)v;
			break;
		case OPT_NONZERO_EXIT:
			o->nonzero_exit = true;
			break;
		case OPT_SIGNAL_DEATHS:
			o->signal_deaths = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_NO_STACK:
			o->show_stack = false;
			break;
		case OPT_HOLD:
			o->hold = true;
			break;
		case OPT_NO_HOLD:
			o->hold = false;
			break;
		case OPT_DROP_CORES:
			o->drop_cores = true;
			break;
		case OPT_RATE_LIMIT:
			if (parse_number(optarg, 0, 1e6, &o->rate_limit) < 0) {
				fprintf(err,
					"crashwatch: bad --rate-limit '%s': give snapshots a "
					"second, e.g. 0.5 (0 for no limit)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_SPOOL_MAX_FILES:
			if (cw_parse_u64(optarg, 0, 10000000, &o->spool_max_files) < 0) {
				fprintf(err,
					"crashwatch: bad --spool-max-files '%s': give a count (0: "
					"no bound)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_SPOOL_MAX_BYTES:
			if (cw_parse_size(optarg, 0, 1ULL << 40, &o->spool_max_bytes) < 0) {
				fprintf(err,
					"crashwatch: bad --spool-max-bytes '%s': give a size such "
					"as 512M (0: no bound)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_UPLOAD:
			o->upload = optarg;
			break;
		case OPT_UPLOAD_TOKEN:
			o->upload_token = optarg;
			break;
		case OPT_UPLOAD_MODE:
			if (strcmp(optarg, "sync") && strcmp(optarg, "async")) {
				fprintf(err,
					"crashwatch: bad --upload-mode '%s': give sync or async\n",
					optarg);
				return -EINVAL;
			}
			o->upload_sync = strcmp(optarg, "sync") == 0;
			break;
		case OPT_UPLOAD_TIMEOUT:
			if (cw_parse_u64(optarg, 1, CW_UPLOAD_TIMEOUT_MAX_S, &v) < 0) {
				fprintf(err,
					"crashwatch: bad --upload-timeout '%s': give seconds from "
					"1 "
					"to %d\n",
					optarg, CW_UPLOAD_TIMEOUT_MAX_S);
				return -EINVAL;
			}
			o->upload_timeout_s = (unsigned)v;
			break;
		case OPT_RATE_BURST:
			if (cw_parse_u64(optarg, 1, 100000, &v) < 0) {
				fprintf(err,
					"crashwatch: bad --rate-burst '%s': give a count from 1 "
					"to 100000\n",
					optarg);
				return -EINVAL;
			}
			o->rate_burst = (double)v;
			break;
		case OPT_DEDUP_WINDOW:
			if (parse_number(optarg, 0, 30 * 86400, &o->dedup_window_s) < 0) {
				fprintf(err,
					"crashwatch: bad --dedup-window '%s': give seconds from 0 "
					"to 2592000\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_HOLD_TIMEOUT:
			if (cw_parse_u64(optarg, 1, 3600, &v) < 0) {
				fprintf(err,
					"crashwatch: bad --hold-timeout '%s': give seconds from 1 "
					"to "
					"3600\n",
					optarg);
				return -EINVAL;
			}
			o->hold_timeout_s = (unsigned)v;
			break;
		case OPT_CORE_HOLD:
			if (!strcmp(optarg, "auto"))
				o->core_hold = CW_CORE_HOLD_AUTO;
			else if (!strcmp(optarg, "socket"))
				o->core_hold = CW_CORE_HOLD_SOCKET;
			else if (!strcmp(optarg, "pipe"))
				o->core_hold = CW_CORE_HOLD_PIPE;
			else {
				fprintf(err,
					"crashwatch: bad --core-hold '%s': give auto, socket or "
					"pipe\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_MAX_HOLDS:
			if (cw_parse_u64(optarg, 1, CW_HOLD_WORKERS_MAX, &v) < 0) {
				fprintf(err,
					"crashwatch: bad --max-holds '%s': give a number from 1 to "
					"%d\n",
					optarg, CW_HOLD_WORKERS_MAX);
				return -EINVAL;
			}
			o->max_holds = (unsigned)v;
			break;
		case OPT_MAX_REQUESTS:
		case OPT_REQUEST_QUEUE: {
			unsigned max = c == OPT_MAX_REQUESTS ? CW_REQUEST_WORKERS_MAX
							     : CW_REQUEST_QUEUE_MAX;

			if (cw_parse_u64(optarg, 0, max, &v) < 0) {
				fprintf(err,
					"crashwatch: bad %s '%s': give a number from 0 to %u\n",
					c == OPT_MAX_REQUESTS ? "--max-requests"
							      : "--request-queue",
					optarg, max);
				return -EINVAL;
			}
			*(c == OPT_MAX_REQUESTS ? &o->max_requests : &o->request_queue) =
				(unsigned)v;
			break;
		}
		case OPT_REQUEST_RATE:
			if (parse_number(optarg, 0, 1e6, &o->request_rate) < 0) {
				fprintf(err,
					"crashwatch: bad --request-rate '%s': give snapshots a "
					"second, e.g. 0.5 (0 for no limit)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_REQUEST_BURST:
			if (cw_parse_u64(optarg, 1, 100000, &v) < 0) {
				fprintf(err,
					"crashwatch: bad --request-burst '%s': give a count from 1 "
					"to 100000\n",
					optarg);
				return -EINVAL;
			}
			o->request_burst = (double)v;
			break;
		case OPT_HOLD_QUEUE:
			if (cw_parse_u64(optarg, 0, CW_HOLD_QUEUE_MAX, &v) < 0) {
				fprintf(err,
					"crashwatch: bad --hold-queue '%s': give a number from 0 "
					"to "
					"%d\n",
					optarg, CW_HOLD_QUEUE_MAX);
				return -EINVAL;
			}
			o->hold_queue = (unsigned)v;
			break;
		case OPT_SPOOL:
			if (optarg[0] != '/') {
				fprintf(err,
					"crashwatch: bad --spool '%s': give an absolute path\n",
					optarg);
				return -EINVAL;
			}
			o->spool = optarg;
			break;
		case OPT_SNAPSHOT_TOOL:
			o->snapshot_tool = optarg;
			break;
		case OPT_CONFIG:
			break; /* read before parsing: see cw_watch_main */
		case OPT_MAX_LIBCS:
			if (cw_parse_u64(optarg, 1, CW_MAX_LIBCS_LIMIT, &v) < 0) {
				fprintf(err,
					"crashwatch: bad --max-libcs '%s': give a number from 1 to "
					"%d\n",
					optarg, CW_MAX_LIBCS_LIMIT);
				return -EINVAL;
			}
			o->max_libcs = (unsigned)v;
			break;
		case OPT_MAX_GO:
			if (cw_parse_u64(optarg, 1, CW_MAX_GO_LIMIT, &v) < 0) {
				fprintf(err,
					"crashwatch: bad --max-go-binaries '%s': give a number "
					"from 1 "
					"to %d\n",
					optarg, CW_MAX_GO_LIMIT);
				return -EINVAL;
			}
			o->max_go_binaries = (unsigned)v;
			break;
		case OPT_MAX_RUST:
			if (cw_parse_u64(optarg, 1, CW_MAX_RUST_LIMIT, &v) < 0) {
				fprintf(err,
					"crashwatch: bad --max-rust-binaries '%s': give a number "
					"from 1 to %d\n",
					optarg, CW_MAX_RUST_LIMIT);
				return -EINVAL;
			}
			o->max_rust_binaries = (unsigned)v;
			break;
		case OPT_CGROUP:
			if (!optarg[0] || o->n_cgroups == CW_MAX_SCOPE_CGROUPS) {
				fprintf(err,
					"crashwatch: bad --cgroup '%s': give a cgroup's path, at "
					"most %d times\n",
					optarg, CW_MAX_SCOPE_CGROUPS);
				return -EINVAL;
			}
			o->cgroups[o->n_cgroups++] = optarg;
			break;
		case OPT_HOST_CORE_HANDLER:
			/* The name marks core_pattern as ours (CW_CORE_HANDLER_MARK). */
			if (optarg[0] != '/' || strlen(optarg) < 24 ||
			    strcmp(optarg + strlen(optarg) - 24, "/crashwatch-core-handler")) {
				fprintf(err,
					"crashwatch: bad --host-core-handler '%s': give an "
					"absolute path ending in /crashwatch-core-handler\n",
					optarg);
				return -EINVAL;
			}
			o->host_core_handler = optarg;
			break;
		case OPT_REDACT:
			if (cw_redact_check_pattern(optarg, &bad) < 0 ||
			    (o->n_redact == CW_REDACT_MAX_PATTERNS &&
			     (bad = "give at most 64 patterns"))) {
				fprintf(err, "crashwatch: bad --redact '%s': %s\n", optarg, bad);
				return -EINVAL;
			}
			o->redact[o->n_redact++] = optarg;
			break;
		case OPT_NO_REDACT:
			o->no_redact = true;
			break;
		case OPT_DEBUG_DIR:
			bad = cw_debug_dir_invalid(optarg);
			if (!bad && o->n_debug_dirs == CW_MAX_DEBUG_DIRS)
				bad = "give at most 16";
			if (bad) {
				fprintf(err, "crashwatch: bad --debug-dir '%s': %s\n", optarg, bad);
				return -EINVAL;
			}
			o->debug_dirs[o->n_debug_dirs++] = optarg;
			break;
		case OPT_METRICS:
			/* Checked where it is bound: one parser of the address. */
			o->metrics = optarg[0] ? optarg : NULL;
			break;
		case OPT_HTTP:
			/* Checked where it is bound, as --metrics. */
			o->http = optarg[0] ? optarg : NULL;
			break;
		case OPT_SNAPSHOT_ON: {
			struct cw_usdt_spec spec;

			if (cw_usdt_spec_parse(optarg, true, &spec, &bad) < 0 ||
			    (o->n_snapshot_on == CW_MAX_SNAPSHOT_ON && (bad = "give at most 64"))) {
				fprintf(err,
					"crashwatch: bad --snapshot-on '%s': %s "
					"(PROVIDER:NAME[@PROGRAM])\n",
					optarg, bad);
				return -EINVAL;
			}
			o->snapshot_on[o->n_snapshot_on++] = optarg;
			break;
		}
		case OPT_FLIGHT_RECORDER:
			if (parse_number(optarg, 0, 3600, &o->flight_seconds) < 0) {
				fprintf(err,
					"crashwatch: bad --flight-recorder '%s': give seconds from "
					"0 "
					"(off) to 3600\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_FLIGHT_RECORDER_SIZE:
			if (cw_parse_size(optarg, 1 << 20, 1ULL << 40, &o->flight_bytes) < 0) {
				fprintf(err,
					"crashwatch: bad --flight-recorder-size '%s': give a size "
					"of at "
					"least 1M, K/M/G suffixes\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(usage, out);
			return 1;
		default:
			if (optopt && optopt < 0x100)
				fprintf(err, "crashwatch: unknown option '-%c'\n", optopt);
			else if (optopt)
				fprintf(err, "crashwatch: option '%s' needs a value\n",
					argv[optind - 1]);
			else
				fprintf(err, "crashwatch: unknown option '%s'\n", argv[optind - 1]);
			fprintf(err, "Try 'crashwatch watch --help'.\n");
			return -EINVAL;
		}
	}
	if (o->no_redact && o->n_redact) {
		fprintf(err, "crashwatch: bad --redact '%s': give it or --no-redact, not both\n",
			o->redact[0]);
		return -EINVAL;
	}
	if (o->n_snapshot_on && !o->hold) {
		fprintf(err,
			"crashwatch: bad --snapshot-on '%s': a snapshot needs holding: drop "
			"--no-hold\n",
			o->snapshot_on[0]);
		return -EINVAL;
	}
	if (optind < argc) {
		fprintf(err,
			"crashwatch: unexpected argument '%s'\nTry 'crashwatch watch --help'.\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

void cw_signal_mask_text(uint64_t mask, char *out, size_t cap)
{
	size_t len = 0;

	if (cap)
		out[0] = '\0';
	for (int sig = 1; sig <= 64; sig++) {
		int w;

		if (!(mask & (1ULL << (sig - 1))))
			continue;
		w = snprintf(out + len, cap - len, "%s%s", len ? "," : "", cw_signal_name(sig));
		if (w < 0 || (size_t)w >= cap - len)
			break;
		len += (size_t)w;
	}
}
