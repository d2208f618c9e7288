// SPDX-License-Identifier: MIT
/*
 * `crashwatch probes`: the USDT probes of a program and of the libraries it
 * maps, read from their notes; with --trace, the probes fired, as they fire.
 */
#include "probes_main.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "elf_info.h"
#include "parse.h"
#include "probe_files.h"
#include "probes_trace.h"
#include "usdt_notes.h"

static const char usage[] =
	"Usage: crashwatch probes [--json] PROGRAM | --pid=PID\n"
	"       crashwatch probes --trace=PROVIDER:NAME[,...] [--json] [--duration=SEC]\n"
	"                         PROGRAM | --pid=PID\n"
	"\n"
	"List the USDT probes (sys/sdt.h, include/crashwatch/trace.h) of a program and of\n"
	"the libraries it maps: PROVIDER:NAME, its arguments (size, signedness, where the\n"
	"value is; names and strings as trace.h declares them) and its semaphore.  A\n"
	"PROGRAM's libraries are those the system's dynamic loader would map for it; a\n"
	"process's are those it maps now.\n"
	"\n"
	"  --pid=PID            a running process instead of a PROGRAM file\n"
	"  --json               one JSON object a line: a probe (listing) or an event (--trace)\n"
	"  --trace=LIST         attach to these probes and print each event as it fires, with\n"
	"                       its arguments, until SIGINT/SIGTERM, --duration, or the end of\n"
	"                       --pid's process; PROGRAM: every process running it\n"
	"  --duration=SEC       stop tracing after SEC seconds\n"
	"  -v, --verbose        show libbpf's messages\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 done (a program without probes included), 1 the program or process\n"
	"could not be read or traced (the message says why), 2 bad usage.\n";

struct probes_opts {
	const char *program;
	pid_t pid;
	bool json, verbose;
	const char *trace;
	double duration_s;
};

static const char *arg_type(const struct cw_usdt_arg *a, char *buf, size_t cap)
{
	if (a->string)
		return "string";
	if (!a->size)
		return "?";
	snprintf(buf, cap, "%s%d", a->is_signed ? "s" : "u", a->size * 8);
	return buf;
}

static void hex_or_null(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, v ? json_sprintf("0x%" PRIx64, v) : json_null());
}

static void probe_json(const char *path, const char *build_id, const struct cw_usdt_probe *p)
{
	json_t *o = json_object(), *args = json_array();

	json_object_set_new(o, "file", json_string(path));
	json_object_set_new(o, "build_id", build_id[0] ? json_string(build_id) : json_null());
	json_object_set_new(o, "probe", json_sprintf("%s:%s", p->provider, p->name));
	json_object_set_new(o, "provider", json_string(p->provider));
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "pc", json_sprintf("0x%" PRIx64, p->pc));
	json_object_set_new(o, "base", json_sprintf("0x%" PRIx64, p->base));
	hex_or_null(o, "semaphore", p->semaphore);
	for (unsigned i = 0; i < p->n_args; i++) {
		const struct cw_usdt_arg *a = &p->args[i];
		json_t *j = json_object();

		json_object_set_new(j, "index", json_integer(i));
		json_object_set_new(j, "size", a->size ? json_integer(a->size) : json_null());
		json_object_set_new(j, "signed", json_boolean(a->is_signed));
		json_object_set_new(j, "spec", json_string(a->spec));
		json_object_set_new(j, "name", a->name[0] ? json_string(a->name) : json_null());
		json_object_set_new(j, "string", json_boolean(a->string));
		json_array_append_new(args, j);
	}
	json_object_set_new(o, "args", args);
	json_object_set_new(o, "args_truncated", json_boolean(p->args_truncated));
	json_dumpf(o, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(o);
}

static void probe_text(const struct cw_usdt_probe *p)
{
	char type[8];

	printf("  %s:%s  pc=0x%" PRIx64, p->provider, p->name, p->pc);
	if (p->semaphore)
		printf(" semaphore=0x%" PRIx64, p->semaphore);
	else
		printf(" no-semaphore");
	printf(" args=%u%s", p->n_args, p->n_args ? ":" : "");
	for (unsigned i = 0; i < p->n_args; i++) {
		const struct cw_usdt_arg *a = &p->args[i];

		printf(" %s%s%s(%s)", a->name, a->name[0] ? ":" : "",
		       arg_type(a, type, sizeof(type)), a->spec);
	}
	if (p->args_truncated)
		printf(" ...");
	putchar('\n');
}

static int list(const struct probes_opts *o, struct cw_probe_files *f)
{
	size_t probes = 0, with = 0;

	for (size_t i = 0; i < f->n; i++) {
		struct cw_usdt_notes notes;
		uint8_t id[CW_BUILD_ID_MAX];
		char hex[2 * CW_BUILD_ID_MAX + 1] = "";
		int r = cw_usdt_notes_read_fd(f->v[i].fd, &notes), len;

		if (r < 0) {
			if (r != -ENOEXEC || i == 0)
				fprintf(stderr, "crashwatch: failed to read the probes of %s: %s\n",
					f->v[i].path,
					r == -ENOEXEC ? "not an ELF file" : strerror(-r));
			if (i == 0 && !o->pid)
				return r;
			continue;
		}
		if (notes.malformed)
			fprintf(stderr, "crashwatch: %s: %zu malformed probe note(s) left out\n",
				f->v[i].path, notes.malformed);
		if (notes.n) {
			len = cw_elf_build_id_fd(f->v[i].fd, id, sizeof(id));
			if (len > 0)
				cw_hex(id, (size_t)len, hex);
			with++;
			if (!o->json)
				printf("%s%s%s%s:\n", f->v[i].path, hex[0] ? " (build-id " : "",
				       hex, hex[0] ? ")" : "");
		}
		for (size_t k = 0; k < notes.n; k++) {
			if (o->json)
				probe_json(f->v[i].path, hex, &notes.v[k]);
			else
				probe_text(&notes.v[k]);
		}
		probes += notes.n;
		cw_usdt_notes_free(&notes);
	}
	if (!o->json)
		printf("%zu probe(s) in %zu of %zu file(s)\n", probes, with, f->n);
	return 0;
}

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

int cw_probes_main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"pid", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"trace", required_argument, NULL, 't'},
		{"duration", required_argument, NULL, 'd'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct probes_opts o = {0};
	struct cw_probe_files f = {0};
	uint64_t v;
	int c, r;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", long_options, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (cw_parse_u64(optarg, 1, INT_MAX, &v) < 0) {
				fprintf(stderr, "crashwatch: bad --pid '%s': give a process id\n",
					optarg);
				return 2;
			}
			o.pid = (pid_t)v;
			break;
		case 'j':
			o.json = true;
			break;
		case 't':
			o.trace = optarg;
			break;
		case 'd':
			if (cw_parse_u64(optarg, 1, 86400, &v) < 0) {
				fprintf(stderr,
					"crashwatch: bad --duration '%s': give seconds from 1 to "
					"86400\n",
					optarg);
				return 2;
			}
			o.duration_s = (double)v;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fprintf(stderr,
				"crashwatch: bad option '%s'\nTry 'crashwatch probes --help'.\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc)
		o.program = argv[optind++];
	if ((!o.program) == (!o.pid) || optind < argc) {
		fprintf(stderr, "crashwatch: give a PROGRAM or --pid=PID, one of them\nTry "
				"'crashwatch probes --help'.\n");
		return 2;
	}
	if (o.duration_s && !o.trace) {
		fprintf(stderr, "crashwatch: --duration goes with --trace\n");
		return 2;
	}
	verbose = o.verbose;
	libbpf_set_print(libbpf_print);
	r = cw_probe_files_collect(&f, o.program, o.pid);
	if (r == 0 && o.trace)
		r = cw_probes_trace(&(struct cw_probes_trace_opts){.list = o.trace,
								   .program = o.program,
								   .pid = o.pid,
								   .json = o.json,
								   .duration_s = o.duration_s},
				    &f);
	else if (r == 0)
		r = list(&o, &f);
	cw_probe_files_free(&f);
	return r == -EINVAL && o.trace ? 2 : r < 0 ? 1 : 0;
}
