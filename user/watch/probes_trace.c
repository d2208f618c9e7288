// SPDX-License-Identifier: MIT
#include "probes_trace.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include "crashwatch/events.h"
#include "detect.skel.h"
#include "event_decode.h"
#include "libc_probes.h"
#include "proc_info.h"
#include "usdt_attach.h"
#include "usdt_notes.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
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

static int tracer_open(struct tracer *t, const struct cw_probes_trace_opts *o)
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
static int attach_all(struct tracer *t, const struct cw_probes_trace_opts *o,
		      struct cw_probe_files *f, const struct cw_usdt_spec *specs, unsigned n_specs)
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

int cw_probes_trace(const struct cw_probes_trace_opts *o, struct cw_probe_files *f)
{
	struct cw_usdt_spec specs[64];
	struct tracer t = {0};
	struct sigaction sa = {0};
	unsigned n_specs = 0;
	char *list = strdup(o->list), *tok, *save = NULL;
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
		o->list, t.set.n);
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
