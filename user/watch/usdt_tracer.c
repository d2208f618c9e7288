// SPDX-License-Identifier: MIT
#include "usdt_tracer.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crashwatch/events.h"
#include "detect.skel.h"
#include "event_decode.h"
#include "usdt_notes.h"

int cw_usdt_trace_list_add(struct cw_usdt_trace_list *l, const char *list, const char *option)
{
	char *copy = strdup(list), *tok, *save = NULL;
	unsigned added = 0;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		struct cw_usdt_spec s;
		const char *why = "at most 64 probes";
		bool dup = false;

		if (l->n == CW_USDT_TRACE_MAX_SPECS ||
		    cw_usdt_spec_parse(tok, false, &s, &why) < 0) {
			fprintf(stderr, "crashwatch: bad %s '%s': %s\n", option, tok, why);
			err = -EINVAL;
			break;
		}
		for (unsigned i = 0; i < l->n && !dup; i++)
			dup = strcmp(l->v[i].provider, s.provider) == 0 &&
			      strcmp(l->v[i].name, s.name) == 0;
		if (!dup)
			l->v[l->n++] = s;
		added++;
	}
	free(copy);
	if (!err && !added) {
		fprintf(stderr, "crashwatch: bad %s '%s': give PROVIDER:NAME[,...]\n", option,
			list);
		err = -EINVAL;
	}
	return err;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct cw_usdt_tracer *t = ctx;
	struct cw_usdt_event ev;

	if (cw_event_check(data, size) != CW_EVENT_USDT) {
		t->malformed++;
		return 0;
	}
	memcpy(&ev, data, sizeof(ev));
	cw_usdt_read_strings(&ev);
	t->fn(t->ctx, &ev, cw_usdt_of(&t->set, ev.cookie));
	return 0;
}

static int scope_cgroups(struct cw_usdt_tracer *t, const struct cw_usdt_tracer_options *o)
{
	for (unsigned i = 0; i < o->n_cgroups; i++) {
		__u8 one = 1;
		int err = bpf_map__update_elem(t->skel->maps.scope_cgroups, &o->cgroup_ids[i],
					       sizeof(__u64), &one, sizeof(one), BPF_ANY);

		if (err) {
			fprintf(stderr,
				"crashwatch: failed to record cgroup %llu for the probes: %s\n",
				(unsigned long long)o->cgroup_ids[i], strerror(-err));
			return err;
		}
	}
	return 0;
}

int cw_usdt_tracer_open(struct cw_usdt_tracer *t, const struct cw_usdt_tracer_options *o)
{
	struct bpf_program *prog;
	int err;

	memset(t, 0, sizeof(*t));
	t->fn = o->fn;
	t->ctx = o->ctx;
	t->skel = detect_bpf__open();
	if (!t->skel) {
		err = -errno;
		fprintf(stderr, "crashwatch: failed to open the BPF object: %s\n", strerror(-err));
		return err;
	}
	t->skel->rodata->self_tgid = (__u32)getpid();
	t->skel->rodata->view_pidns = o->view_pidns;
	t->skel->rodata->filter_cgroups = o->n_cgroups > 0;
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
	err = scope_cgroups(t, o);
	if (err)
		return err;
	err = cw_libc_probes_init(&t->identify, NULL, t->skel->progs.identify_mappings, -1, 1);
	if (err)
		return err;
	err = cw_usdt_set_init(&t->set, t->skel->progs.on_usdt, -1, false, -1);
	if (err) {
		fprintf(stderr, "crashwatch: failed to allocate the probes: %s\n", strerror(-err));
		return err;
	}
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), on_record, t, NULL);
	if (!t->rb) {
		err = -errno;
		fprintf(stderr, "crashwatch: failed to open the probes' ring buffer: %s\n",
			strerror(-err));
		return err;
	}
	return 0;
}

int cw_usdt_tracer_attach(struct cw_usdt_tracer *t, const struct cw_probe_files *f,
			  const struct cw_usdt_trace_list *l, pid_t pid, bool exe_only,
			  unsigned found[CW_USDT_TRACE_MAX_SPECS], size_t *declared)
{
	char err[512];
	int r;

	t->set.pid = pid;
	for (size_t i = 0; i < f->n; i++) {
		struct cw_usdt_notes notes;
		struct cw_file_key key;

		/* The program itself is identified even without probes: exe_only needs it. */
		if (cw_usdt_notes_read_fd(f->v[i].fd, &notes) < 0 ||
		    (!notes.n && !(exe_only && i == 0))) {
			cw_usdt_notes_free(&notes);
			continue;
		}
		if (declared)
			*declared += notes.n;
		r = cw_libc_probes_real_file(&t->identify, f->v[i].fd, &key);
		if (r < 0) {
			fprintf(stderr, "crashwatch: failed to identify %s: %s\n", f->v[i].path,
				strerror(-r));
			cw_usdt_notes_free(&notes);
			return r;
		}
		if (exe_only && i == 0) {
			t->skel->bss->trace_exe = key;
			t->skel->bss->trace_exe_only = true;
		}
		for (unsigned s = 0; s < l->n; s++) {
			const struct cw_usdt_probe *p =
				cw_usdt_notes_find(&notes, l->v[s].provider, l->v[s].name);

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
	return 0;
}

int cw_usdt_tracer_fd(const struct cw_usdt_tracer *t)
{
	return ring_buffer__epoll_fd(t->rb);
}

int cw_usdt_tracer_consume(struct cw_usdt_tracer *t)
{
	return ring_buffer__consume(t->rb);
}

int cw_usdt_tracer_poll(struct cw_usdt_tracer *t, int timeout_ms)
{
	return ring_buffer__poll(t->rb, timeout_ms);
}

uint64_t cw_usdt_tracer_lost(const struct cw_usdt_tracer *t)
{
	int n_cpus = libbpf_num_possible_cpus();
	__u32 idx = CW_CNT_DROPPED_RINGBUF;
	uint64_t sum = 0;
	__u64 *v;

	if (!t->skel || n_cpus <= 0 || !(v = calloc((size_t)n_cpus, sizeof(*v))))
		return 0;
	if (bpf_map__lookup_elem(t->skel->maps.counters, &idx, sizeof(idx), v,
				 sizeof(*v) * (size_t)n_cpus, 0) == 0)
		for (int c = 0; c < n_cpus; c++)
			sum += v[c];
	free(v);
	return sum;
}

void cw_usdt_tracer_close(struct cw_usdt_tracer *t)
{
	ring_buffer__free(t->rb);
	cw_usdt_set_free(&t->set);
	cw_libc_probes_free(&t->identify);
	detect_bpf__destroy(t->skel);
	memset(t, 0, sizeof(*t));
}
