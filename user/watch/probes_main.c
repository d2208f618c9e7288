// SPDX-License-Identifier: MIT
/*
 * `crashwatch probes`: the USDT probes of a program and of the libraries it
 * maps, read from their notes; with --trace, the probes fired, as they fire.
 */
#include "probes_main.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include "crashwatch/events.h"
#include "detect.skel.h"
#include "elf_info.h"
#include "event_decode.h"
#include "libc_probes.h"
#include "parse.h"
#include "proc_info.h"
#include "proc_maps.h"
#include "usdt_attach.h"
#include "usdt_notes.h"

extern char **environ;

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

/* A file to look at: its path as shown and an fd on the very file. */
struct file {
	char path[PATH_MAX];
	int fd;
};

struct files {
	struct file *v;
	size_t n, cap;
};

static void files_free(struct files *f)
{
	for (size_t i = 0; i < f->n; i++)
		close(f->v[i].fd);
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}

/* Add the file open on fd (taken) unless the same file is there already. */
static int files_add(struct files *f, const char *path, int fd)
{
	struct stat st, other;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	for (size_t i = 0; i < f->n; i++)
		if (fstat(f->v[i].fd, &other) == 0 && other.st_dev == st.st_dev &&
		    other.st_ino == st.st_ino) {
			close(fd);
			return 0;
		}
	if (f->n == f->cap) {
		size_t want = f->cap ? 2 * f->cap : 16;
		struct file *v = realloc(f->v, want * sizeof(*v));

		if (!v) {
			close(fd);
			return -ENOMEM;
		}
		f->v = v;
		f->cap = want;
	}
	snprintf(f->v[f->n].path, sizeof(f->v[f->n].path), "%s", path);
	f->v[f->n++].fd = fd;
	return 0;
}

/* PT_INTERP of the ELF file open on fd into out, "" when none. */
static void elf_interp(int fd, char *out, size_t cap)
{
	Elf *elf;
	size_t n;

	out[0] = '\0';
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return;
	if (elf_kind(elf) == ELF_K_ELF && elf_getphdrnum(elf, &n) == 0)
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);
			ssize_t got;

			if (!ph || ph->p_type != PT_INTERP || ph->p_filesz == 0 ||
			    ph->p_filesz >= cap)
				continue;
			got = pread(fd, out, ph->p_filesz, (off_t)ph->p_offset);
			out[got > 0 ? got : 0] = '\0';
			out[strnlen(out, cap - 1)] = '\0';
			break;
		}
	elf_end(elf);
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/*
 * The libraries the dynamic loader maps for program, as `ld.so --list`
 * says (what ldd runs).  Only this system's own loader, the one this
 * program runs with, is run: it maps the libraries and runs no code of
 * theirs nor of the program's.  A program with another loader (or none:
 * static) is listed alone.
 */
static void add_libraries(struct files *f, const char *program, int program_fd)
{
	char interp[PATH_MAX], ours[PATH_MAX], buf[65536], *line, *save = NULL;
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), out[2], st;
	posix_spawn_file_actions_t fa;
	size_t got = 0;
	pid_t child;
	ssize_t n;

	elf_interp(program_fd, interp, sizeof(interp));
	ours[0] = '\0';
	if (self >= 0) {
		elf_interp(self, ours, sizeof(ours));
		close(self);
	}
	if (!interp[0] || !ours[0] || !same_file(interp, ours) || pipe2(out, O_CLOEXEC) < 0)
		return;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&child, ours, &fa, NULL, (char *[]){ours, "--list", (char *)program, NULL},
			environ) != 0)
		child = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	while (child > 0 && got < sizeof(buf) - 1 &&
	       ((n = read(out[0], buf + got, sizeof(buf) - 1 - got)) > 0 ||
		(n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	close(out[0]);
	buf[got] = '\0';
	if (child > 0)
		while (waitpid(child, &st, 0) < 0 && errno == EINTR)
			;
	/* "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", "\t/lib64/ld-... (0x...)" */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *path = strstr(line, " => "), *end;
		int fd;

		path = path ? path + 4 : line + strspn(line, " \t");
		if (path[0] != '/')
			continue;
		end = strstr(path, " (");
		if (end)
			*end = '\0';
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && files_add(f, path, fd) < 0)
			return;
	}
}

/* Every file a process maps, through map_files: the very file, in any mount namespace. */
static int add_mapped(struct files *f, pid_t pid)
{
	struct cw_maps maps;
	char link[96];
	int r = cw_maps_read(pid, &maps);

	if (r < 0)
		return r;
	for (size_t i = 0; i < maps.n; i++) {
		const struct cw_mapping *m = &maps.v[i];
		int fd;

		if (!m->path || m->path[0] != '/' ||
		    (i && maps.v[i - 1].path && strcmp(maps.v[i - 1].path, m->path) == 0))
			continue;
		snprintf(link, sizeof(link), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
			 m->start, m->end);
		fd = open(link, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && (r = files_add(f, m->path, fd)) < 0)
			break;
	}
	cw_maps_free(&maps);
	return r < 0 ? r : 0;
}

static int collect(const struct probes_opts *o, struct files *f)
{
	int fd, r;

	if (o->pid) {
		r = add_mapped(f, o->pid);
		if (r < 0)
			fprintf(stderr, "crashwatch: failed to read the mappings of pid %d: %s\n",
				(int)o->pid, strerror(-r));
		return r;
	}
	fd = open(o->program, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "crashwatch: cannot open %s: %s\n", o->program, strerror(-r));
		return r;
	}
	r = files_add(f, o->program, fd);
	if (r == 0 && f->n == 0) {
		fprintf(stderr, "crashwatch: %s is not a regular file: give a program's path\n",
			o->program);
		return -EINVAL;
	}
	if (r == 0)
		add_libraries(f, o->program, f->v[0].fd);
	return r;
}

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

static int list(const struct probes_opts *o, struct files *f)
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

/* ---- --trace ---------------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

struct tracer {
	struct detect_bpf *skel;
	struct cw_libc_probes identify; /* only its iterator: files' real inodes */
	struct cw_usdt_set set;
	struct ring_buffer *rb;
	bool json;
	uint64_t malformed;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	const struct cw_usdt_event *ev = data;

	if (cw_event_check(data, size) != CW_EVENT_USDT) {
		t->malformed++;
		return 0;
	}
	cw_format_usdt(stdout, ev, cw_usdt_of(&t->set, ev->cookie), t->json);
	return 0;
}

static int tracer_open(struct tracer *t, const struct probes_opts *o)
{
	struct bpf_program *prog;
	int err;

	t->skel = detect_bpf__open();
	if (!t->skel) {
		err = -errno;
		fprintf(stderr, "crashwatch: failed to open the BPF object: %s\n", strerror(-err));
		return err;
	}
	t->skel->rodata->self_tgid = (__u32)getpid();
	/* Only the USDT program, and the iterator that tells files apart. */
	bpf_object__for_each_program(prog, t->skel->obj)
	{
		bool ours =
			prog == t->skel->progs.on_usdt || prog == t->skel->progs.identify_mappings;

		bpf_program__set_autoload(prog, ours);
		bpf_program__set_autoattach(prog, false);
	}
	bpf_map__set_max_entries(t->skel->maps.events, 1 << 22);
	err = detect_bpf__load(t->skel);
	if (err) {
		fprintf(stderr,
			"crashwatch: failed to load the BPF programs: %s; run as root, and rerun "
			"with --verbose for the verifier's log\n",
			strerror(-err));
		return err;
	}
	err = cw_libc_probes_init(&t->identify, NULL, t->skel->progs.identify_mappings, -1, 1);
	if (err)
		return err;
	err = cw_usdt_set_init(&t->set, t->skel->progs.on_usdt, -1, false, o->pid ? o->pid : -1);
	if (err) {
		fprintf(stderr, "crashwatch: failed to allocate the probes: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

static void tracer_close(struct tracer *t)
{
	ring_buffer__free(t->rb);
	cw_usdt_set_free(&t->set);
	cw_libc_probes_free(&t->identify);
	detect_bpf__destroy(t->skel);
}

/* Attach every spec to every file that has it; each spec must be found somewhere. */
static int attach_all(struct tracer *t, const struct probes_opts *o, struct files *f,
		      const struct cw_usdt_spec *specs, unsigned n_specs)
{
	unsigned found[64] = {0};
	char err[512];
	int r;

	for (size_t i = 0; i < f->n; i++) {
		struct cw_usdt_notes notes;
		struct cw_file_key key;

		/* A PROGRAM's probes, its libraries' included, fire only in processes running it.
		 */
		if (cw_usdt_notes_read_fd(f->v[i].fd, &notes) < 0 || (!notes.n && (i || o->pid))) {
			cw_usdt_notes_free(&notes);
			continue;
		}
		r = cw_libc_probes_real_file(&t->identify, f->v[i].fd, &key);
		if (r < 0) {
			fprintf(stderr, "crashwatch: failed to identify %s: %s\n", f->v[i].path,
				strerror(-r));
			cw_usdt_notes_free(&notes);
			return r;
		}
		if (i == 0 && !o->pid) {
			t->skel->bss->trace_exe = key;
			t->skel->bss->trace_exe_only = true;
		}
		for (unsigned s = 0; s < n_specs; s++) {
			const struct cw_usdt_probe *p =
				cw_usdt_notes_find(&notes, specs[s].provider, specs[s].name);

			if (!p)
				continue;
			r = cw_usdt_attach(&t->set, f->v[i].fd, &key, f->v[i].path, p, s, err,
					   sizeof(err));
			if (r < 0) {
				fprintf(stderr, "crashwatch: %s\n", err);
				cw_usdt_notes_free(&notes);
				return r;
			}
			found[s]++;
		}
		cw_usdt_notes_free(&notes);
	}
	for (unsigned s = 0; s < n_specs; s++)
		if (!found[s]) {
			fprintf(stderr,
				"crashwatch: no probe %s:%s in %s%s; crashwatch probes %s%s lists "
				"them\n",
				specs[s].provider, specs[s].name,
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

static int trace(const struct probes_opts *o, struct files *f)
{
	struct cw_usdt_spec specs[64];
	struct tracer t = {0};
	struct sigaction sa = {0};
	unsigned n_specs = 0;
	char *list = strdup(o->trace), *tok, *save = NULL;
	double until = o->duration_s > 0 ? now_s() + o->duration_s : 0;
	int err = 0;

	if (!list)
		return -ENOMEM;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const char *why;

		if (n_specs == 64 || cw_usdt_spec_parse(tok, false, &specs[n_specs], &why) < 0) {
			fprintf(stderr, "crashwatch: bad --trace '%s': %s\n", tok,
				n_specs == 64 ? "at most 64 probes" : why);
			free(list);
			return -EINVAL;
		}
		n_specs++;
	}
	free(list);
	if (!n_specs) {
		fprintf(stderr, "crashwatch: bad --trace '': give PROVIDER:NAME[,...]\n");
		return -EINVAL;
	}
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	t.json = o->json;
	cw_clock_init();
	err = tracer_open(&t, o);
	if (!err)
		err = attach_all(&t, o, f, specs, n_specs);
	if (!err) {
		t.rb = ring_buffer__new(bpf_map__fd(t.skel->maps.events), on_record, &t, NULL);
		if (!t.rb) {
			err = -errno;
			fprintf(stderr, "crashwatch: failed to open the ring buffer: %s\n",
				strerror(-err));
		}
	}
	if (err) {
		tracer_close(&t);
		return err;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fprintf(stderr, "crashwatch: tracing %s in %zu probe attachment(s); SIGINT stops\n",
		o->trace, t.set.n);
	while (!stop && (!until || now_s() < until)) {
		int n = ring_buffer__poll(t.rb, 200);

		if (n < 0 && n != -EINTR) {
			err = n;
			fprintf(stderr, "crashwatch: failed to read the ring buffer: %s\n",
				strerror(-err));
			break;
		}
		if (o->pid && gone(o->pid))
			break;
	}
	ring_buffer__consume(t.rb);
	if (t.malformed)
		fprintf(stderr, "crashwatch: %" PRIu64 " malformed record(s)\n", t.malformed);
	tracer_close(&t);
	if (!err)
		fprintf(stderr, "crashwatch: stopped tracing, every probe detached\n");
	return err;
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
	struct files f = {0};
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
	r = collect(&o, &f);
	if (r == 0)
		r = o.trace ? trace(&o, &f) : list(&o, &f);
	files_free(&f);
	return r == -EINVAL && o.trace ? 2 : r < 0 ? 1 : 0;
}
