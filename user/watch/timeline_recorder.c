// SPDX-License-Identifier: MIT
#include "timeline_recorder.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "timeline.skel.h"
#include "timeline_go.h"

const struct cw_tl_record *cw_tl_record_check(const void *data, size_t size)
{
	const struct cw_tl_record *r = data;

	if (size < CW_TL_RECORD_HEAD || r->hdr.version != CW_TL_VERSION || r->hdr.size > size ||
	    r->stack_len > CW_TL_STACK_MAX || r->hdr.size != CW_TL_RECORD_HEAD + r->stack_len ||
	    r->nframes > CW_TL_MAX_FRAMES || r->state >= CW_TL_NR_STATES ||
	    (r->hdr.kind != CW_TL_ON_CPU && r->hdr.kind != CW_TL_OFF_CPU))
		return NULL;
	return r;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct cw_tl_recorder *r = ctx;
	const struct cw_tl_record *rec = cw_tl_record_check(data, size);

	if (!rec) {
		r->malformed++;
		return 0;
	}
	return r->fn(r->ctx, rec);
}

static int open_cpu_clock(int cpu, unsigned hz)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_freq = hz,
		.freq = 1,
	};
	int fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* One cpu-clock event per online CPU (an offline one answers ENODEV), the sampler on each. */
static int attach_perf_events(struct cw_tl_recorder *r, unsigned hz)
{
	int attached = 0;

	r->perf_fds = malloc(sizeof(int) * (size_t)r->n_cpus);
	r->perf_links = calloc((size_t)r->n_cpus, sizeof(*r->perf_links));
	if (!r->perf_fds || !r->perf_links)
		return -ENOMEM;
	for (int cpu = 0; cpu < r->n_cpus; cpu++)
		r->perf_fds[cpu] = -1;
	for (int cpu = 0; cpu < r->n_cpus; cpu++) {
		int err;

		r->perf_fds[cpu] = open_cpu_clock(cpu, hz);
		if (r->perf_fds[cpu] == -ENODEV)
			continue;
		if (r->perf_fds[cpu] < 0) {
			err = r->perf_fds[cpu];
			fprintf(stderr,
				"crashwatch: failed to open a cpu-clock perf event on CPU %d: %s\n",
				cpu, strerror(-err));
			return err;
		}
		r->perf_links[cpu] = bpf_program__attach_perf_event(r->skel->progs.on_cpu_sample,
								    r->perf_fds[cpu]);
		if (!r->perf_links[cpu]) {
			err = -errno;
			fprintf(stderr, "crashwatch: failed to attach the sampler on CPU %d: %s\n",
				cpu, strerror(-err));
			return err;
		}
		attached++;
	}
	if (!attached) {
		fprintf(stderr, "crashwatch: failed to sample any CPU: none is online\n");
		return -ENODEV;
	}
	return 0;
}

/*
 * A Go process: its records then say which goroutine ran (goroutine tracks).
 * Not one: nothing to do; one that cannot be read keeps one track per thread.
 */
static void mark_go(struct cw_tl_recorder *r, pid_t pid)
{
	struct cw_tl_go_proc go;
	__u32 key = (__u32)pid;
	char why[256];
	int err = cw_tl_go_proc_read(pid, &go, why, sizeof(why));

	if (err == 0)
		err = bpf_map__update_elem(r->skel->maps.go_procs, &key, sizeof(key), &go,
					   sizeof(go), BPF_ANY);
	else if (err == -ENOEXEC && !why[0])
		return;
	if (err || why[0])
		fprintf(stderr,
			"crashwatch: process %d: its goroutines stay on their threads' tracks: "
			"%s\n",
			(int)pid, why[0] ? why : strerror(-err));
}

int cw_tl_recorder_start(struct cw_tl_recorder *r, const struct cw_tl_recorder_options *o,
			 cw_tl_record_fn fn, void *ctx)
{
	__u32 ring;
	int err;

	memset(r, 0, sizeof(*r));
	r->fn = fn;
	r->ctx = ctx;
	r->n_cpus = libbpf_num_possible_cpus();
	if (r->n_cpus <= 0) {
		fprintf(stderr, "crashwatch: failed to count the possible CPUs: %s\n",
			strerror(-r->n_cpus));
		return r->n_cpus ? r->n_cpus : -EINVAL;
	}
	r->skel = timeline_bpf__open();
	if (!r->skel) {
		err = -errno;
		fprintf(stderr, "crashwatch: failed to open the timeline BPF object: %s\n",
			strerror(-err));
		return err;
	}
	r->skel->rodata->self_tgid = (__u32)getpid();
	r->skel->rodata->period_ns = 1000000000ULL / (o->hz ? o->hz : CW_TL_DEFAULT_HZ);
	r->skel->rodata->stack_bytes =
		o->stack_bytes <= CW_TL_STACK_MAX ? o->stack_bytes : CW_TL_STACK_MAX;
	r->skel->rodata->all_pids = o->all;
	r->skel->rodata->view_pidns = o->all ? o->view_pidns : 0;
	r->skel->rodata->filter_cgroups = o->all && o->n_cgroups > 0;
	ring = o->ringbuf_bytes ? o->ringbuf_bytes : 4U << 20;
	bpf_map__set_max_entries(r->skel->maps.samples, ring);
	r->skel->rodata->wakeup_bytes = ring / 16;
	err = timeline_bpf__load(r->skel);
	if (err) {
		fprintf(stderr, "crashwatch: failed to load the timeline BPF programs: %s\n",
			strerror(-err));
		return err;
	}
	/* Before attaching: an empty table would leave everything out. */
	for (size_t i = 0; i < o->n_pids; i++) {
		__u32 pid = (__u32)o->pids[i];
		__u8 one = 1;

		err = bpf_map__update_elem(r->skel->maps.pids, &pid, sizeof(pid), &one, sizeof(one),
					   BPF_ANY);
		if (err) {
			fprintf(stderr, "crashwatch: failed to record process %u: %s\n", pid,
				strerror(-err));
			return err;
		}
	}
	for (size_t i = 0; i < o->n_pids; i++)
		mark_go(r, o->pids[i]);
	for (unsigned i = 0; o->all && i < o->n_cgroups; i++) {
		__u8 one = 1;

		err = bpf_map__update_elem(r->skel->maps.scope_cgroups, &o->cgroup_ids[i],
					   sizeof(__u64), &one, sizeof(one), BPF_ANY);
		if (err) {
			fprintf(stderr, "crashwatch: failed to record cgroup %llu: %s\n",
				(unsigned long long)o->cgroup_ids[i], strerror(-err));
			return err;
		}
	}
	r->rb = ring_buffer__new(bpf_map__fd(r->skel->maps.samples), on_record, r, NULL);
	if (!r->rb) {
		err = -errno;
		fprintf(stderr, "crashwatch: failed to open the timeline ring buffer: %s\n",
			strerror(-err));
		return err;
	}
	r->on_cpu_only = o->on_cpu_only;
	if (o->on_cpu_only)
		return attach_perf_events(r, o->hz ? o->hz : CW_TL_DEFAULT_HZ);
	/* Off the CPU first: a thread's first sample then finds the switches that follow it. */
	r->skel->links.on_switch = bpf_program__attach(r->skel->progs.on_switch);
	if (!r->skel->links.on_switch) {
		err = -errno;
		fprintf(stderr, "crashwatch: failed to attach to sched_switch: %s\n",
			strerror(-err));
		return err;
	}
	return attach_perf_events(r, o->hz ? o->hz : CW_TL_DEFAULT_HZ);
}

int cw_tl_recorder_fd(const struct cw_tl_recorder *r)
{
	return ring_buffer__epoll_fd(r->rb);
}

int cw_tl_recorder_consume(struct cw_tl_recorder *r)
{
	return ring_buffer__consume(r->rb);
}

/* Woken only once wakeup_bytes wait (timeline.bpf.c): what waits is read at the timeout too. */
int cw_tl_recorder_poll(struct cw_tl_recorder *r, int timeout_ms)
{
	int n = ring_buffer__poll(r->rb, timeout_ms);

	return n < 0 ? n : ring_buffer__consume(r->rb);
}

/* One run of the task iterator, in mode, over pid's threads (0: every task). */
static int iterate(struct cw_tl_recorder *r, enum cw_tl_iter_mode mode, pid_t pid)
{
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info info;
	struct bpf_link *link;
	char buf[64];
	int fd, err = 0;

	memset(&info, 0, sizeof(info));
	info.task.pid = (__u32)pid;
	if (pid) {
		opts.link_info = &info;
		opts.link_info_len = sizeof(info);
	}
	r->skel->bss->iter_mode = mode;
	r->skel->bss->iter_pid = (__u32)pid;
	link = bpf_program__attach_iter(r->skel->progs.iter_tasks, pid ? &opts : NULL);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
	} else {
		ssize_t n;

		while ((n = read(fd, buf, sizeof(buf))) > 0)
			;
		if (n < 0)
			err = -errno;
		close(fd);
	}
	bpf_link__destroy(link);
	return err;
}

int cw_tl_recorder_seed(struct cw_tl_recorder *r, pid_t pid)
{
	/* Samples only: no interval is ever open. */
	return r->on_cpu_only ? 0 : iterate(r, CW_TL_ITER_SEED, pid);
}

int cw_tl_recorder_flush(struct cw_tl_recorder *r, pid_t pid)
{
	if (r->on_cpu_only)
		return 0;
	int err = iterate(r, CW_TL_ITER_FLUSH, pid);
	int n = ring_buffer__consume(r->rb);

	return err ? err : n < 0 ? n : 0;
}

int cw_tl_recorder_counters(const struct cw_tl_recorder *r, uint64_t out[CW_TL_NR_COUNTERS])
{
	__u64 *v = calloc((size_t)r->n_cpus, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (__u32 i = 0; i < CW_TL_NR_COUNTERS; i++) {
		int err = bpf_map__lookup_elem(r->skel->maps.counters, &i, sizeof(i), v,
					       sizeof(*v) * (size_t)r->n_cpus, 0);

		out[i] = 0;
		if (err) {
			free(v);
			return err;
		}
		for (int c = 0; c < r->n_cpus; c++)
			out[i] += v[c];
	}
	free(v);
	return 0;
}

void cw_tl_recorder_stop(struct cw_tl_recorder *r)
{
	for (int cpu = 0; r->perf_links && cpu < r->n_cpus; cpu++)
		bpf_link__destroy(r->perf_links[cpu]);
	for (int cpu = 0; r->perf_fds && cpu < r->n_cpus; cpu++)
		if (r->perf_fds[cpu] >= 0)
			close(r->perf_fds[cpu]);
	free(r->perf_links);
	free(r->perf_fds);
	ring_buffer__free(r->rb);
	timeline_bpf__destroy(r->skel);
	memset(r, 0, sizeof(*r));
}
