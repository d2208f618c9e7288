// SPDX-License-Identifier: MIT
#include "detector.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <errno.h>
#include <stdarg.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <limits.h>
#include <unistd.h>

#include "detect.skel.h"
#include "event_decode.h"

static bool verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, args);
}

int cw_check_environment(void)
{
	union bpf_attr attr;
	struct utsname u;
	unsigned major = 0, minor = 0;
	int fd;

	if (geteuid() != 0) {
		fprintf(stderr, "crashwatch: must run as root: loading BPF programs needs CAP_BPF, "
				"CAP_PERFMON and CAP_SYS_ADMIN; run it with sudo\n");
		return -EPERM;
	}
	if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	    (major < 5 || (major == 5 && minor < 17))) {
		fprintf(stderr,
			"crashwatch: kernel %s is too old: crashwatch needs Linux >= 5.17 (BTF "
			"tracepoints, bpf_find_vma); upgrade the kernel\n",
			u.release);
		return -ENOTSUP;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		fprintf(stderr, "crashwatch: this kernel has no BTF (/sys/kernel/btf/vmlinux is "
				"missing): use a kernel built with CONFIG_DEBUG_INFO_BTF=y, as "
				"Debian's and most distributions' are\n");
		return -ENOTSUP;
	}
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	fd = (int)syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd < 0) {
		int e = errno;

		if (e == ENOSYS)
			fprintf(stderr, "crashwatch: BPF is not available: the kernel was built "
					"without CONFIG_BPF_SYSCALL\n");
		else
			fprintf(stderr,
				"crashwatch: BPF is refused here (%s): inside a container, give it "
				"CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN or run on the host; check "
				"kernel lockdown and seccomp\n",
				strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

/*
 * oom:mark_victim passes the task since Linux 6.8 (before: an int pid).
 * Load the program only where the vmlinux BTF says its first argument is a
 * pointer.
 */
static bool kfunc_exists(const struct btf *btf, const char *name)
{
	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
}

static bool mark_victim_takes_task(const struct btf *btf)
{
	const struct btf_type *t;
	const struct btf_param *p;
	bool ok = false;
	int id;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, "btf_trace_mark_victim", BTF_KIND_TYPEDEF);
	if (id > 0) {
		t = btf__type_by_id(btf, btf__resolve_type(btf, id));
		if (t && btf_is_ptr(t))
			t = btf__type_by_id(btf, t->type);
		if (t && btf_is_func_proto(t) && btf_vlen(t) >= 2) {
			p = btf_params(t);
			t = btf__type_by_id(btf, btf__resolve_type(btf, p[1].type));
			ok = t && btf_is_ptr(t);
		}
	}
	return ok;
}

/* New executables are the detector's business (its links); every other record is the caller's. */
static int on_record(void *ctx, void *data, size_t size)
{
	struct cw_detector *d = ctx;

	if (cw_event_check(data, size) == CW_EVENT_EXEC) {
		cw_libc_probes_on_exec(&d->libcs, data);
		cw_go_probes_on_exec(&d->go, &d->libcs, data);
		cw_usdt_probes_on_exec(&d->usdt, &d->libcs, data);
		cw_rust_probes_on_exec(&d->rust, &d->libcs, data);
		return 0;
	}
	return d->fn(d->fn_ctx, data, size);
}

int cw_detector_start(struct cw_detector *d, const struct cw_watch_options *o,
		      const struct cw_scope *scope, ring_buffer_sample_fn fn, void *ctx)
{
	struct btf *vmlinux;
	int ncpus, err;

	verbose = o->verbose;
	libbpf_set_print(libbpf_print);
	memset(d, 0, sizeof(*d));

	d->skel = detect_bpf__open();
	if (!d->skel) {
		err = -errno;
		fprintf(stderr, "crashwatch: failed to open the BPF object: %s\n", strerror(-err));
		return err;
	}
	d->skel->rodata->watched_signals = o->signals;
	d->skel->rodata->self_tgid = (__u32)getpid();
	d->skel->rodata->report_nonzero_exit = o->nonzero_exit;
	d->skel->rodata->report_signal_deaths = o->signal_deaths;
	d->skel->rodata->hold_handled = o->hold;
	d->skel->rodata->view_pidns = scope->sidecar ? scope->pidns : 0;
	d->skel->rodata->filter_cgroups = scope->n_cgroups > 0;
	/* What this kernel offers, read once from its BTF. */
	vmlinux = btf__load_vmlinux_btf();
	d->hold_sent = o->hold && kfunc_exists(vmlinux, "bpf_send_signal_task");
	d->oom_tracking = mark_victim_takes_task(vmlinux);
	btf__free(vmlinux);
	d->skel->rodata->hold_sent = d->hold_sent;
	/* A hold whose record was lost stops blocking its probe after the hold deadline. */
	d->skel->rodata->usdt_busy_ns = ((__u64)o->hold_timeout_s + 5) * 1000000000ULL;

	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		fprintf(stderr, "crashwatch: failed to count the possible CPUs: %s\n",
			strerror(-ncpus));
		return ncpus ? ncpus : -EINVAL;
	}
	bpf_map__set_max_entries(d->skel->maps.scratch, (__u32)ncpus);
	bpf_map__set_max_entries(d->skel->maps.events, o->ringbuf_bytes);
	if (!o->hold) {
		bpf_program__set_autoload(d->skel->progs.on_abort, false);
		bpf_program__set_autoload(d->skel->progs.on_go_panic, false);
		bpf_program__set_autoload(d->skel->progs.on_go_fatal, false);
		bpf_program__set_autoload(d->skel->progs.on_go_preprint, false);
		bpf_program__set_autoload(d->skel->progs.on_go_throw, false);
		bpf_program__set_autoload(d->skel->progs.on_rust_hook, false);
		bpf_program__set_autoload(d->skel->progs.on_rust_panic, false);
		bpf_program__set_autoload(d->skel->progs.on_exec, false);
		bpf_program__set_autoload(d->skel->progs.identify_mappings, false);
	}
	/* Run on demand, over the watcher's own mappings only: libc_probes makes its link. */
	bpf_program__set_autoattach(d->skel->progs.identify_mappings, false);
	bpf_program__set_autoattach(d->skel->progs.on_usdt, false); /* per file: usdt_probes */
	if (!d->oom_tracking)
		bpf_program__set_autoload(d->skel->progs.on_mark_victim, false);
	if (!o->n_snapshot_on)
		bpf_program__set_autoload(d->skel->progs.on_usdt, false);

	err = detect_bpf__load(d->skel);
	if (err) {
		fprintf(stderr,
			"crashwatch: failed to load the BPF programs: %s; rerun with --verbose for "
			"the verifier's log\n",
			strerror(-err));
		return err;
	}
	/* Before attaching: an empty table would filter every process out. */
	for (unsigned i = 0; i < scope->n_cgroups; i++) {
		__u8 one = 1;

		err = bpf_map__update_elem(d->skel->maps.scope_cgroups, &scope->cgroup_ids[i],
					   sizeof(__u64), &one, sizeof(one), BPF_ANY);
		if (err) {
			fprintf(stderr, "crashwatch: failed to watch cgroup %s: %s\n",
				scope->cgroup_paths[i], strerror(-err));
			return err;
		}
	}
	err = detect_bpf__attach(d->skel);
	if (err) {
		fprintf(stderr, "crashwatch: failed to attach the BPF programs: %s\n",
			strerror(-err));
		return err;
	}
	if (o->hold) {
		err = cw_libc_probes_init(&d->libcs, d->skel->progs.on_abort,
					  d->skel->progs.identify_mappings,
					  bpf_map__fd(d->skel->maps.execs_seen), o->max_libcs);
		if (err)
			return err;
		err = cw_libc_probes_add_host(&d->libcs, d->libc, sizeof(d->libc));
		if (err)
			return err;
		err = cw_go_probes_init(&d->go, d->skel->progs.on_go_panic,
					d->skel->progs.on_go_fatal, d->skel->progs.on_go_preprint,
					d->skel->progs.on_go_throw,
					bpf_map__fd(d->skel->maps.go_exes), o->max_go_binaries);
		if (err)
			return err;
		err = cw_rust_probes_init(&d->rust, d->skel->progs.on_rust_hook,
					  d->skel->progs.on_rust_panic, o->debug_dirs,
					  o->n_debug_dirs, o->max_rust_binaries);
		if (err)
			return err;
		err = cw_usdt_probes_start(&d->usdt, o, d->skel->progs.on_usdt,
					   bpf_map__fd(d->skel->maps.usdt_gates), &d->libcs);
		if (err)
			return err;
	}
	d->fn = fn;
	d->fn_ctx = ctx;
	d->rb = ring_buffer__new(bpf_map__fd(d->skel->maps.events), on_record, d, NULL);
	if (!d->rb) {
		err = -errno;
		fprintf(stderr, "crashwatch: failed to open the ring buffer: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

int cw_detector_poll(struct cw_detector *d, int timeout_ms)
{
	return ring_buffer__poll(d->rb, timeout_ms);
}

int cw_detector_fd(struct cw_detector *d)
{
	return ring_buffer__epoll_fd(d->rb);
}

int cw_detector_consume(struct cw_detector *d)
{
	return ring_buffer__consume(d->rb);
}

int cw_detector_scope_replace(struct cw_detector *d, uint64_t old_id, uint64_t new_id)
{
	__u64 old = old_id, now = new_id;
	__u8 one = 1;

	bpf_map__delete_elem(d->skel->maps.scope_cgroups, &old, sizeof(old), 0);
	return bpf_map__update_elem(d->skel->maps.scope_cgroups, &now, sizeof(now), &one,
				    sizeof(one), BPF_ANY);
}

int cw_detector_counters(struct cw_detector *d, uint64_t out[CW_NR_COUNTERS])
{
	int ncpus = libbpf_num_possible_cpus();
	uint64_t *percpu;
	int fd;

	memset(out, 0, CW_NR_COUNTERS * sizeof(out[0]));
	if (!d->skel || ncpus <= 0)
		return -EINVAL;
	percpu = calloc((size_t)ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	fd = bpf_map__fd(d->skel->maps.counters);
	for (__u32 k = 0; k < CW_NR_COUNTERS; k++) {
		if (bpf_map_lookup_elem(fd, &k, percpu) < 0)
			continue;
		for (int c = 0; c < ncpus; c++)
			out[k] += percpu[c];
	}
	free(percpu);
	return 0;
}

void cw_detector_stop(struct cw_detector *d)
{
	ring_buffer__free(d->rb);
	d->rb = NULL;
	cw_usdt_probes_free(&d->usdt);
	cw_go_probes_free(&d->go);
	cw_rust_probes_free(&d->rust);
	cw_libc_probes_free(&d->libcs);
	detect_bpf__destroy(d->skel);
	d->skel = NULL;
}
