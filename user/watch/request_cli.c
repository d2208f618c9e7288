// SPDX-License-Identifier: MIT
#include "request_cli.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crashwatch/client.h"
#include "parse.h"

static const char usage[] =
	"Usage: crashwatch snapshot [OPTIONS] PID\n"
	"\n"
	"Ask the running watcher (crashwatch watch) for a snapshot of the live process PID:\n"
	"its threads are stopped for a moment and copied, the process goes on, and the\n"
	"snapshot is written to the watcher's spool and uploaded like a crash's, marked as\n"
	"asked for (trigger \"request\", who asked; non-fatal in the backends).  Its path is\n"
	"printed.  root may ask for any process; a user for its own processes that it could\n"
	"trace itself (dumpable, same ids, kernel.yama.ptrace_scope honoured).\n"
	"\n"
	"  --kv=KEY:VALUE       an attribute to add (repeatable, at most 64)\n"
	"  --classifier=NAME    a classifier to add (repeatable, at most 32)\n"
	"  --thread=TID         only these threads (repeatable; the faulted one always)\n"
	"  --fault-thread=TID   the thread to mark faulted\n"
	"  --error=MESSAGE      an error to record: attribute \"error\", the cause line\n"
	"  --error-type=TYPE    its type: attribute \"error.type\"\n"
	"  --timeout=SEC        the most the request may take, queue included (default 10,\n"
	"                       at most the watcher's --hold-timeout)\n"
	"  --no-wait            do not wait for the snapshot: say it was queued\n"
	"  --socket=PATH        the watcher's request socket (default " CW_REQUEST_SOCKET ")\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 written (the path printed) or, with --no-wait, queued; 1 the\n"
	"snapshot tool failed; 2 bad usage or a request the watcher refused as malformed;\n"
	"3 not permitted (the reason is printed); 4 rate-limited or busy (ask again later);\n"
	"5 no such process or thread; 6 no watcher takes requests; 7 timed out; 8 the\n"
	"watcher's answer was garbled or the connection failed.\n";

enum {
	OPT_KV = 0x100,
	OPT_CLASSIFIER,
	OPT_THREAD,
	OPT_FAULT_THREAD,
	OPT_ERROR,
	OPT_ERROR_TYPE,
	OPT_TIMEOUT,
	OPT_NO_WAIT,
	OPT_SOCKET,
};

static const struct option long_options[] = {
	{"kv", required_argument, NULL, OPT_KV},
	{"classifier", required_argument, NULL, OPT_CLASSIFIER},
	{"thread", required_argument, NULL, OPT_THREAD},
	{"fault-thread", required_argument, NULL, OPT_FAULT_THREAD},
	{"error", required_argument, NULL, OPT_ERROR},
	{"error-type", required_argument, NULL, OPT_ERROR_TYPE},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"no-wait", no_argument, NULL, OPT_NO_WAIT},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int bad(const char *what, const char *value, const char *want)
{
	fprintf(stderr, "crashwatch snapshot: bad %s '%s': %s\n", what, value, want);
	return 2;
}

static int parse_id(const char *s, int *out)
{
	uint64_t v;

	if (cw_parse_u64(s, 1, 0x3fffffff, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

int cw_request_cli_main(int argc, char **argv)
{
	static struct crashwatch_kv kv[CW_REQ_MAX_KV];
	static const char *classifiers[CW_REQ_MAX_CLASSIFIERS];
	static int threads[CW_REQ_MAX_THREADS];
	static struct crashwatch_result r;
	struct crashwatch_options o = {.kv = kv, .classifiers = classifiers, .threads = threads};
	uint64_t v;
	char *colon;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_KV:
			colon = strchr(optarg, ':');
			if (!colon || colon == optarg)
				return bad("--kv", optarg, "give KEY:VALUE with a non-empty key");
			if (o.n_kv == CW_REQ_MAX_KV)
				return bad("--kv", optarg, "give at most 64");
			*colon = '\0';
			kv[o.n_kv++] = (struct crashwatch_kv){optarg, colon + 1};
			break;
		case OPT_CLASSIFIER:
			if (!*optarg || o.n_classifiers == CW_REQ_MAX_CLASSIFIERS)
				return bad("--classifier", optarg,
					   "give at most 32 non-empty names");
			classifiers[o.n_classifiers++] = optarg;
			break;
		case OPT_THREAD:
			if (o.n_threads == CW_REQ_MAX_THREADS - 1 ||
			    parse_id(optarg, &threads[o.n_threads]) < 0)
				return bad("--thread", optarg, "give at most 255 thread ids");
			o.n_threads++;
			break;
		case OPT_FAULT_THREAD:
			if (parse_id(optarg, &o.fault_tid) < 0)
				return bad("--fault-thread", optarg, "give a thread id");
			break;
		case OPT_ERROR:
			o.error_message = optarg;
			break;
		case OPT_ERROR_TYPE:
			o.error_type = optarg;
			break;
		case OPT_TIMEOUT:
			if (cw_parse_u64(optarg, 1, CW_REQ_MAX_TIMEOUT_MS / 1000, &v) < 0)
				return bad("--timeout", optarg, "give seconds from 1 to 3600");
			o.timeout_ms = (unsigned)v * 1000;
			break;
		case OPT_NO_WAIT:
			o.flags |= CRASHWATCH_NO_WAIT;
			break;
		case OPT_SOCKET:
			o.socket_path = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fprintf(stderr, "crashwatch snapshot: %s '%s'; see --help\n",
				optopt >= 0x100 ? "option needs a value" : "unknown option",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "crashwatch snapshot: give one PID; see --help\n");
		return 2;
	}
	if (parse_id(argv[optind], &o.pid) < 0)
		return bad("PID", argv[optind], "give a process id");
	crashwatch_trace(&o, &r);
	if (r.status == CRASHWATCH_WRITTEN) {
		printf("%s\n", r.text);
		return 0;
	}
	if (r.status == CRASHWATCH_QUEUED) {
		printf("queued: the snapshot of %d will be written to the watcher's spool\n",
		       o.pid);
		return 0;
	}
	fprintf(stderr, "crashwatch snapshot: %s: %s\n", crashwatch_status_name(r.status), r.text);
	return cw_status_exit((enum cw_status)r.status);
}
