// SPDX-License-Identifier: MIT
#include "snapshot_options.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "signals.h"
#include "debug_dirs.h"
#include "symbol_server.h"

static const char usage[] =
	"Usage: crashwatch-snapshot [OPTIONS] PID\n"
	"       crashwatch-snapshot [OPTIONS] --core=FILE|-\n"
	"       crashwatch-snapshot --symbol-server=SOCKPATH [--symbol-cache-bytes=SIZE]\n"
	"                           [--debug-dir=DIR]...\n"
	"\n"
	"Stop every thread of PID for a moment, copy its registers and stack, let it go,\n"
	"then unwind and symbolize every thread and write one JSON snapshot; its path is\n"
	"printed on stdout.\n"
	"\n"
	"  --fault-thread=TID   the thread that crashed (or asked): marked in the snapshot\n"
	"  --thread=TID         only these threads (repeatable; the faulted one always)\n"
	"  --classifier=NAME    a classifier to add (repeatable)\n"
	"  --kv=KEY:VALUE       an attribute to add (repeatable)\n"
	"  --error=MESSAGE      an error to record (attribute \"error\"; the cause line)\n"
	"  --error-type=TYPE    its type (attribute \"error.type\")\n"
	"  --trigger=crash|request|on-demand  why the snapshot is taken (default: crash\n"
	"                       with --signal, else on-demand)\n"
	"  --requested-by=PID:UID:GID[:COMM]  who asked the watcher for it (with\n"
	"                       --trigger=request)\n"
	"  --output=DIR|-       where the snapshot goes (default .; - for stdout)\n"
	"  --timeout=SECONDS    give up after this long, releasing the target (default 30)\n"
	"  --at-exit            the target is dying: wait for each thread's exit stop\n"
	"                       (PTRACE_O_TRACEEXIT), never interrupt it\n"
	"  --seized-fd=FD       write one byte to FD once every thread is seized (with\n"
	"                       --at-exit: then the dying process may go on)\n"
	"  --captured-fd=FD     write one byte to FD once every thread is copied and let\n"
	"                       go, before unwinding (a holder may release the process)\n"
	"  --die-with-parent=PID  end (SIGKILL) when PID, the process that started this\n"
	"                       tool, ends (the watcher gives its own pid); not with\n"
	"                       --at-exit, whose capture must finish\n"
	"  --core=FILE|-        snapshot a core file (or a core stream on stdin) instead\n"
	"  --exe=PATH           with --core: the executable\n"
	"  --signal=SIG --si-code=N --fault-addr=ADDR --sender=PID\n"
	"                       what is known of the crash; the cause is derived from it\n"
	"  --stack-bytes=SIZE   stack copied per thread while it is stopped (default 256K)\n"
	"  --stop-together=N    a live process of at most N threads is stopped as a whole\n"
	"                       while every thread is copied (default 32; 0: always);\n"
	"                       above, each thread is stopped, copied and let go in turn\n"
	"                       (tens of µs each; capture.stopped_together false).  A Go\n"
	"                       program, or one held at abort(), always stands still\n"
	"  --no-source          no source file:line (skips reading DWARF: much faster\n"
	"                       where debug info is large or compressed)\n"
	"  --go-panic-type=ADDR the panic value's runtime._type, as passed to panic()\n"
	"                       (the watcher reads it before the runtime turns an error\n"
	"                       into its text, which is all a hold at fatalpanic sees)\n"
	"  --go-fatal-message=ADDR:LEN  where a Go fatal error's message is (what throw()\n"
	"                       printed; the watcher reads it at runtime.throw/fatal)\n"
	"  --caller-goroutine=ID  a Go program's goroutine that asked for the snapshot:\n"
	"                       marked faulted (the seed's AddCallerGo)\n"
	"  --rust-panic=LOC:PAYLOAD:VTABLE  a Rust panic's &Location and payload (the\n"
	"                       &mut dyn BoxMeUp std's rust_panic_with_hook was given):\n"
	"                       its message and location are read while it is stopped\n"
	"  --rust-unwinding     held at std's rust_panic: when a catch_unwind (not std's\n"
	"                       own around main) catches the panic, no snapshot is written\n"
	"                       and the exit status is 12\n"
	"  --go-system-goroutines\n"
	"                       a Go program: list the runtime's own goroutines too\n"
	"  --env                also record the environment (it can hold secrets)\n"
	"  --redact=PATTERN     also redact the values of options and variables whose\n"
	"                       name matches this glob (repeatable; case, '-', '_' and\n"
	"                       '.' ignored); see docs/snapshot.md for the default names\n"
	"  --no-redact          record cmdline and environment as they are (by default\n"
	"                       secret-looking values are replaced by <redacted>)\n"
	"  --symbolizer=SOCKPATH  ask this symbol server for functions and source lines\n"
	"                       (warm across runs); alone when it cannot be reached\n"
	"  --symbol-server=SOCKPATH  be that server: listen on SOCKPATH (mode 0600) until\n"
	"                       stdin reaches EOF or SIGTERM\n"
	"  --symbol-cache-bytes=SIZE  the server's memory bound: least recently used\n"
	"                       modules are forgotten above this RSS (default 256M)\n"
	"  --debug-dir=DIR      also look for debug files here, before /usr/lib/debug:\n"
	"                       DIR/.build-id/xx/yyyy.debug, or the /usr/lib/debug\n"
	"                       layout (repeatable, at most 16; absolute).  With\n"
	"                       DEBUGINFOD_URLS set, libdw's debuginfod client fetches\n"
	"                       what is found nowhere, after the target is let go\n"
	"                       (DEBUGINFOD_TIMEOUT default 5, DEBUGINFOD_MAXTIME 10,\n"
	"                       no retry; a server slow for nothing is not asked again)\n"
	"  --timeline=FILE      a timeline of the process (the watcher's flight recorder) to\n"
	"                       keep with the snapshot: moved beside it in --output as\n"
	"                       <uuid>.timeline.json, named in its \"timeline\" field\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 written; 1 failed; 2 bad usage; 3 no such process; 4 kernel thread;\n"
	"5 zombie; 6 ptrace not permitted; 7 already traced; 8 timed out; 9 the process\n"
	"ended before it was captured; 10 not a readable core file; 11 the snapshot could\n"
	"not be written (a full or read-only --output); 12 --rust-unwinding: the panic is\n"
	"caught, no snapshot; 128+N killed by signal N (137:\n"
	"--die-with-parent's process had ended already).\n";

enum {
	OPT_FAULT_THREAD = 0x100,
	OPT_THREAD,
	OPT_CLASSIFIER,
	OPT_KV,
	OPT_OUTPUT,
	OPT_TIMEOUT,
	OPT_AT_EXIT,
	OPT_CORE,
	OPT_EXE,
	OPT_SIGNAL,
	OPT_SI_CODE,
	OPT_FAULT_ADDR,
	OPT_SENDER,
	OPT_STACK_BYTES,
	OPT_ENV,
	OPT_REDACT,
	OPT_NO_REDACT,
	OPT_NO_SOURCE,
	OPT_GO_SYSTEM,
	OPT_GO_PANIC_TYPE,
	OPT_GO_FATAL_MESSAGE,
	OPT_RUST_PANIC,
	OPT_RUST_UNWINDING,
	OPT_CAPTURED_FD,
	OPT_SEIZED_FD,
	OPT_SYMBOLIZER,
	OPT_SYMBOL_SERVER,
	OPT_SYMBOL_CACHE_BYTES,
	OPT_DIE_WITH_PARENT,
	OPT_DEBUG_DIR,
	OPT_ERROR,
	OPT_ERROR_TYPE,
	OPT_TRIGGER,
	OPT_REQUESTED_BY,
	OPT_STOP_TOGETHER,
	OPT_CALLER_GOROUTINE,
	OPT_TIMELINE,
};

static const struct option long_options[] = {
	{"fault-thread", required_argument, NULL, OPT_FAULT_THREAD},
	{"thread", required_argument, NULL, OPT_THREAD},
	{"classifier", required_argument, NULL, OPT_CLASSIFIER},
	{"kv", required_argument, NULL, OPT_KV},
	{"output", required_argument, NULL, OPT_OUTPUT},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"at-exit", no_argument, NULL, OPT_AT_EXIT},
	{"core", required_argument, NULL, OPT_CORE},
	{"exe", required_argument, NULL, OPT_EXE},
	{"signal", required_argument, NULL, OPT_SIGNAL},
	{"si-code", required_argument, NULL, OPT_SI_CODE},
	{"fault-addr", required_argument, NULL, OPT_FAULT_ADDR},
	{"sender", required_argument, NULL, OPT_SENDER},
	{"stack-bytes", required_argument, NULL, OPT_STACK_BYTES},
	{"env", no_argument, NULL, OPT_ENV},
	{"redact", required_argument, NULL, OPT_REDACT},
	{"no-redact", no_argument, NULL, OPT_NO_REDACT},
	{"no-source", no_argument, NULL, OPT_NO_SOURCE},
	{"go-system-goroutines", no_argument, NULL, OPT_GO_SYSTEM},
	{"go-panic-type", required_argument, NULL, OPT_GO_PANIC_TYPE},
	{"go-fatal-message", required_argument, NULL, OPT_GO_FATAL_MESSAGE},
	{"rust-panic", required_argument, NULL, OPT_RUST_PANIC},
	{"rust-unwinding", no_argument, NULL, OPT_RUST_UNWINDING},
	{"seized-fd", required_argument, NULL, OPT_SEIZED_FD},
	{"captured-fd", required_argument, NULL, OPT_CAPTURED_FD},
	{"symbolizer", required_argument, NULL, OPT_SYMBOLIZER},
	{"symbol-server", required_argument, NULL, OPT_SYMBOL_SERVER},
	{"symbol-cache-bytes", required_argument, NULL, OPT_SYMBOL_CACHE_BYTES},
	{"die-with-parent", required_argument, NULL, OPT_DIE_WITH_PARENT},
	{"debug-dir", required_argument, NULL, OPT_DEBUG_DIR},
	{"error", required_argument, NULL, OPT_ERROR},
	{"error-type", required_argument, NULL, OPT_ERROR_TYPE},
	{"trigger", required_argument, NULL, OPT_TRIGGER},
	{"requested-by", required_argument, NULL, OPT_REQUESTED_BY},
	{"stop-together", required_argument, NULL, OPT_STOP_TOGETHER},
	{"caller-goroutine", required_argument, NULL, OPT_CALLER_GOROUTINE},
	{"timeline", required_argument, NULL, OPT_TIMELINE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int bad(FILE *err, const char *what, const char *value, const char *want)
{
	fprintf(err, "crashwatch-snapshot: bad %s '%s': %s\n", what, value, want);
	return -EINVAL;
}

static int parse_pid(const char *s, pid_t *out)
{
	uint64_t v;

	if (cw_parse_u64(s, 1, 0x3fffffff /* PID_MAX_LIMIT */, &v) < 0)
		return -EINVAL;
	*out = (pid_t)v;
	return 0;
}

/* PID:UID:GID[:COMM]; the comm is the rest, colons and all. */
static int parse_requester(const char *s, struct cw_snapshot_options *o)
{
	char part[3][16];
	const char *at = s;
	uint64_t v[3];

	for (int i = 0; i < 3; i++) {
		size_t n = strcspn(at, ":");

		if (n == 0 || n >= sizeof(part[i]) || (i < 2 && at[n] != ':'))
			return -EINVAL;
		memcpy(part[i], at, n);
		part[i][n] = '\0';
		at += n;
		if (*at == ':')
			at++;
		else if (i < 2)
			return -EINVAL;
	}
	if (cw_parse_u64(part[0], 1, 0x3fffffff, &v[0]) < 0 ||
	    cw_parse_u64(part[1], 0, UINT32_MAX - 1, &v[1]) < 0 ||
	    cw_parse_u64(part[2], 0, UINT32_MAX - 1, &v[2]) < 0)
		return -EINVAL;
	o->has_requester = true;
	o->requester_pid = (pid_t)v[0];
	o->requester_uid = (uid_t)v[1];
	o->requester_gid = (gid_t)v[2];
	o->requester_comm = at > s && at[-1] == ':' && *at ? at : NULL;
	return 0;
}

int cw_snapshot_options_parse(int argc, char **argv, struct cw_snapshot_options *o, FILE *out,
			      FILE *err)
{
	uint64_t v;
	char *colon;
	int c, r;

	*o = (struct cw_snapshot_options){.output = ".",
					  .timeout_s = 30,
					  .stack_bytes = 256 << 10,
					  .stop_together = CW_SNAP_STOP_TOGETHER,
					  .source_lines = true,
					  .seized_fd = -1,
					  .captured_fd = -1,
					  .symbol_cache_bytes = CW_SYM_DEFAULT_CACHE_BYTES};
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_FAULT_THREAD:
			if (parse_pid(optarg, &o->fault_tid) < 0)
				return bad(err, "--fault-thread", optarg, "give a thread id");
			break;
		case OPT_THREAD:
			if (o->n_threads == CW_SNAP_MAX_LIST)
				return bad(err, "--thread", optarg, "too many --thread options");
			if (parse_pid(optarg, &o->threads[o->n_threads]) < 0)
				return bad(err, "--thread", optarg, "give a thread id");
			o->n_threads++;
			break;
		case OPT_CLASSIFIER:
			if (!*optarg || o->n_classifiers == CW_SNAP_MAX_LIST)
				return bad(err, "--classifier", optarg, "give a non-empty name");
			o->classifiers[o->n_classifiers++] = optarg;
			break;
		case OPT_KV:
			colon = strchr(optarg, ':');
			if (!colon || colon == optarg || o->n_kv == CW_SNAP_MAX_LIST)
				return bad(err, "--kv", optarg,
					   "give KEY:VALUE with a non-empty key");
			*colon = '\0';
			o->kv[o->n_kv++] = (struct cw_kv){optarg, colon + 1};
			break;
		case OPT_OUTPUT:
			if (!*optarg)
				return bad(err, "--output", optarg, "give a directory or -");
			o->output = optarg;
			break;
		case OPT_TIMEOUT:
			if (cw_parse_u64(optarg, 1, 86400, &v) < 0)
				return bad(err, "--timeout", optarg,
					   "give seconds from 1 to 86400");
			o->timeout_s = (unsigned)v;
			break;
		case OPT_AT_EXIT:
			o->at_exit = true;
			break;
		case OPT_CORE:
			o->core = optarg;
			break;
		case OPT_EXE:
			o->exe = optarg;
			break;
		case OPT_SIGNAL:
			o->sig = cw_signal_from_name(optarg);
			if (o->sig < 0)
				return bad(err, "--signal", optarg, "give a signal name or number");
			break;
		case OPT_SI_CODE: {
			char *end;
			long code = strtol(optarg, &end, 0);

			if (!*optarg || *end || code < -128 || code > 255)
				return bad(err, "--si-code", optarg, "give a number");
			o->si_code = (int)code;
			o->has_si_code = true;
			break;
		}
		case OPT_FAULT_ADDR:
			if (cw_parse_u64(optarg, 0, UINT64_MAX, &o->fault_addr) < 0)
				return bad(err, "--fault-addr", optarg, "give an address");
			o->has_fault_addr = true;
			break;
		case OPT_SENDER:
			if (parse_pid(optarg, &o->sender_pid) < 0)
				return bad(err, "--sender", optarg, "give a process id");
			break;
		case OPT_STACK_BYTES:
			if (cw_parse_size(optarg, 4096, 64 << 20, &v) < 0)
				return bad(err, "--stack-bytes", optarg,
					   "give a size from 4K to 64M");
			o->stack_bytes = (size_t)v;
			break;
		case OPT_ENV:
			o->env = true;
			break;
		case OPT_REDACT: {
			const char *why;

			if (cw_redact_check_pattern(optarg, &why) < 0)
				return bad(err, "--redact", optarg, why);
			if (o->n_redact == CW_REDACT_MAX_PATTERNS)
				return bad(err, "--redact", optarg, "give at most 64 patterns");
			o->redact[o->n_redact++] = optarg;
			break;
		}
		case OPT_NO_REDACT:
			o->no_redact = true;
			break;
		case OPT_NO_SOURCE:
			o->source_lines = false;
			break;
		case OPT_GO_PANIC_TYPE:
			if (cw_parse_u64(optarg, 1, UINT64_MAX, &o->go_panic_type) < 0)
				return bad(err, "--go-panic-type", optarg,
					   "give the address of a runtime._type");
			break;
		case OPT_GO_FATAL_MESSAGE:
			colon = strchr(optarg, ':');
			if (!colon ||
			    (*colon = '\0',
			     cw_parse_u64(optarg, 1, UINT64_MAX, &o->go_fatal_addr) < 0) ||
			    cw_parse_u64(colon + 1, 1, 1 << 20, &o->go_fatal_len) < 0) {
				if (colon)
					*colon = ':';
				return bad(err, "--go-fatal-message", optarg,
					   "give ADDR:LEN, where the message is in the process");
			}
			*colon = ':';
			break;
		case OPT_RUST_PANIC: {
			uint64_t *into[3] = {&o->rust_location, &o->rust_payload, &o->rust_vtable};
			char *at = optarg, *end;

			for (int k = 0; k < 3; k++) {
				end = strchr(at, ':');
				if ((k < 2) != (end != NULL))
					return bad(err, "--rust-panic", optarg,
						   "give LOCATION:PAYLOAD:VTABLE, addresses in "
						   "the process");
				if (end)
					*end = '\0';
				r = cw_parse_u64(at, 0, UINT64_MAX, into[k]);
				if (end)
					*end = ':';
				if (r < 0)
					return bad(err, "--rust-panic", optarg,
						   "give LOCATION:PAYLOAD:VTABLE, addresses in "
						   "the process");
				at = end ? end + 1 : at;
			}
			break;
		}
		case OPT_RUST_UNWINDING:
			o->rust_unwinding = true;
			break;
		case OPT_GO_SYSTEM:
			o->go_system = true;
			break;
		case OPT_SEIZED_FD:
			if (cw_parse_u64(optarg, 3, 1023, &v) < 0)
				return bad(err, "--seized-fd", optarg,
					   "give a descriptor from 3 to 1023");
			o->seized_fd = (int)v;
			break;
		case OPT_CAPTURED_FD:
			if (cw_parse_u64(optarg, 3, 1023, &v) < 0)
				return bad(err, "--captured-fd", optarg,
					   "give a descriptor from 3 to 1023");
			o->captured_fd = (int)v;
			break;
		case OPT_SYMBOLIZER:
			if (!*optarg)
				return bad(err, "--symbolizer", optarg, "give a socket path");
			o->symbolizer = optarg;
			break;
		case OPT_SYMBOL_SERVER:
			if (!*optarg)
				return bad(err, "--symbol-server", optarg, "give a socket path");
			o->symbol_server = optarg;
			break;
		case OPT_SYMBOL_CACHE_BYTES:
			if (cw_parse_size(optarg, 1 << 20, 1ULL << 40, &v) < 0)
				return bad(err, "--symbol-cache-bytes", optarg,
					   "give a size from 1M to 1024G");
			o->symbol_cache_bytes = v;
			break;
		case OPT_DIE_WITH_PARENT:
			if (parse_pid(optarg, &o->parent_pid) < 0)
				return bad(err, "--die-with-parent", optarg,
					   "give the pid of the process that started the tool");
			break;
		case OPT_DEBUG_DIR: {
			const char *why = cw_debug_dir_invalid(optarg);

			if (why)
				return bad(err, "--debug-dir", optarg, why);
			if (o->n_debug_dirs >= CW_MAX_DEBUG_DIRS)
				return bad(err, "--debug-dir", optarg, "give at most 16");
			o->debug_dirs[o->n_debug_dirs++] = optarg;
			break;
		}
		case OPT_ERROR:
		case OPT_ERROR_TYPE:
			if (!*optarg)
				return bad(err, c == OPT_ERROR ? "--error" : "--error-type", optarg,
					   "give a non-empty text");
			*(c == OPT_ERROR ? &o->error : &o->error_type) = optarg;
			break;
		case OPT_CALLER_GOROUTINE:
			if (cw_parse_u64(optarg, 1, UINT64_MAX, &o->caller_goroutine) < 0)
				return bad(err, "--caller-goroutine", optarg,
					   "give a goroutine id");
			break;
		case OPT_STOP_TOGETHER:
			if (cw_parse_u64(optarg, 0, 1 << 22, &v) < 0)
				return bad(err, "--stop-together", optarg,
					   "give a thread count (0: always together)");
			o->stop_together = (size_t)v;
			break;
		case OPT_TRIGGER:
			if (strcmp(optarg, "crash") != 0 && strcmp(optarg, "request") != 0 &&
			    strcmp(optarg, "on-demand") != 0)
				return bad(err, "--trigger", optarg,
					   "give crash, request or on-demand");
			o->trigger = optarg;
			break;
		case OPT_REQUESTED_BY:
			if (parse_requester(optarg, o) < 0)
				return bad(err, "--requested-by", optarg,
					   "give PID:UID:GID[:COMM]");
			break;
		case OPT_TIMELINE:
			if (!optarg[0])
				return bad(err, "--timeline", optarg, "give a file");
			o->timeline = optarg;
			break;
		case 'h':
			fputs(usage, out);
			return 1;
		default:
			if (optopt >= 0x100)
				fprintf(err, "crashwatch-snapshot: option '%s' needs a value\n",
					argv[optind - 1]);
			else
				fprintf(err, "crashwatch-snapshot: unknown option '%s'\n",
					argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (o->no_redact && o->n_redact)
		return bad(err, "--redact", o->redact[0], "give it or --no-redact, not both");
	if (o->symbol_server) {
		if (optind < argc)
			return bad(err, "argument", argv[optind], "--symbol-server takes no PID");
		if (o->core)
			return bad(err, "--core", o->core, "not with --symbol-server");
		return 0;
	}
	if (o->core) {
		if (optind < argc)
			return bad(err, "argument", argv[optind], "--core takes no PID");
		if (o->at_exit)
			return bad(err, "--at-exit", "", "not with --core");
		return 0;
	}
	if (optind != argc - 1) {
		fprintf(err, "crashwatch-snapshot: give one PID (or --core); see --help\n");
		return -EINVAL;
	}
	if (parse_pid(argv[optind], &o->pid) < 0)
		return bad(err, "PID", argv[optind], "give a process id");
	return 0;
}
