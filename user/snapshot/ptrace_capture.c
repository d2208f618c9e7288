// SPDX-License-Identifier: MIT
#include "ptrace_capture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc_info.h"
#include "proc_maps.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool wanted(const struct cw_capture_options *o, pid_t tid)
{
	if (!o->only || tid == o->fault_tid)
		return true;
	for (size_t i = 0; i < o->n_only; i++)
		if (o->only[i] == tid)
			return true;
	return false;
}

static struct cw_thread_capture *find(struct cw_capture *c, pid_t tid)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->threads[i].tid == tid)
			return &c->threads[i];
	return NULL;
}

/*
 * A thread the kernel refused to seize because it is on its way out: gone
 * from /proc, a zombie (ptrace_attach says -EPERM once exit_state is set,
 * not -ESRCH), or exiting (PF_EXITING).
 */
static bool thread_ending(int proc_dir, pid_t tid)
{
	char path[32], state = 0;
	unsigned flags = 0;

	snprintf(path, sizeof(path), "task/%d", (int)tid);
	return cw_proc_stat_state(proc_dir, path, &state, &flags) < 0 || state == 'Z' ||
	       state == 'X' || (flags & 0x4 /* PF_EXITING */);
}

/*
 * Seize every thread; threads may start or end meanwhile, so list again
 * until a pass finds nothing new.
 */
static int seize_all(int proc_dir, struct cw_capture *c, const struct cw_capture_options *o)
{
	unsigned long opts = o->mode == CW_CAPTURE_AT_EXIT ? PTRACE_O_TRACEEXIT : 0;
	size_t cap = 0;

	for (int pass = 0; pass < 100; pass++) {
		bool fresh = false;
		pid_t *tids;
		size_t n;
		int r = cw_proc_threads(proc_dir, &tids, &n);

		if (r < 0)
			return c->n ? 0 : r;
		for (size_t i = 0; i < n; i++) {
			struct cw_thread_capture *t;

			if (find(c, tids[i]) || !wanted(o, tids[i]))
				continue;
			if (c->n == cap) {
				size_t nc = cap ? 2 * cap : 64;
				struct cw_thread_capture *nv =
					realloc(c->threads, nc * sizeof(*nv));

				if (!nv) {
					free(tids);
					return -ENOMEM;
				}
				c->threads = nv;
				cap = nc;
			}
			t = &c->threads[c->n];
			memset(t, 0, sizeof(*t));
			t->tid = tids[i];
			cw_thread_info(proc_dir, t->tid, t->name, sizeof(t->name), &t->state);
			if (ptrace(PTRACE_SEIZE, t->tid, 0, opts) < 0) {
				int e = errno;

				if (e == ESRCH || (e == EPERM && thread_ending(proc_dir, t->tid)))
					continue; /* ended meanwhile */
				free(tids);
				return -e;
			}
			c->n++;
			fresh = true;
		}
		free(tids);
		if (!fresh)
			break;
	}
	return 0;
}

/* Wait for one seized thread to stop where the mode wants it. */
static void wait_stop(struct cw_thread_capture *t, enum cw_capture_mode mode)
{
	for (;;) {
		int st, event;

		if (waitpid(t->tid, &st, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			t->vanished = true;
			return;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			t->vanished = true;
			return;
		}
		if (!WIFSTOPPED(st))
			continue;
		event = st >> 16;
		if (mode == CW_CAPTURE_INTERRUPT) {
			/* A signal-delivery stop is a stop too: keep the signal for detach. */
			if (event == 0)
				t->pending_sig = WSTOPSIG(st);
			return;
		}
		if (event == PTRACE_EVENT_EXIT)
			return;
		if (event == PTRACE_EVENT_STOP) {
			ptrace(PTRACE_LISTEN, t->tid, 0, 0);
			continue;
		}
		/* On its way to exit: let the signal that kills it be delivered. */
		ptrace(PTRACE_CONT, t->tid, 0, event == 0 ? WSTOPSIG(st) : 0);
	}
}

static void copy_stack(pid_t pid, struct cw_thread_capture *t, const struct cw_maps *maps,
		       size_t limit)
{
	uint64_t sp = (uint64_t)t->regs.rsp, end;
	const struct cw_mapping *m = cw_maps_find(maps, sp);
	struct iovec local, remote;
	ssize_t n;

	if (!m) {
		/* A stack overflow leaves sp in the guard gap: start above it. */
		for (size_t i = 0; i < maps->n && !m; i++)
			if (maps->v[i].start > sp && maps->v[i].start - sp < (1 << 20))
				m = &maps->v[i];
		if (!m)
			return;
		sp = m->start;
	}
	end = m->end;
	if (end - sp > limit) {
		end = sp + limit;
		t->stack_truncated = true;
	}
	t->stack = malloc(end - sp);
	if (!t->stack)
		return;
	local = (struct iovec){t->stack, end - sp};
	remote = (struct iovec){(void *)(uintptr_t)sp, end - sp};
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n <= 0) {
		free(t->stack);
		t->stack = NULL;
		return;
	}
	t->stack_start = sp;
	t->stack_len = (size_t)n;
}

static void detach_all(struct cw_capture *c, pid_t fault_tid)
{
	/* The faulted thread last: the others can go on (or die) first. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < c->n; i++) {
			struct cw_thread_capture *t = &c->threads[i];

			if (t->vanished || (t->tid == fault_tid) != (pass == 1))
				continue;
			ptrace(PTRACE_DETACH, t->tid, 0, t->pending_sig);
		}
}

/* /proc/PID/maps as text (kept for the unwinder) and parsed; its files opened. */
static void read_maps(int proc_dir, pid_t pid, struct cw_capture *out, struct cw_maps *maps)
{
	out->maps = cw_proc_read_file(proc_dir, "maps", NULL);
	if (out->maps) {
		FILE *f = fmemopen(out->maps, strlen(out->maps), "r");

		if (f) {
			cw_maps_parse(f, maps);
			fclose(f);
		}
	}
	if (cw_module_source_init(&out->modules, pid, out->maps) == 0)
		cw_module_source_open_all(&out->modules);
}

/* A stopped thread's registers and stack; false when it is gone. */
static bool copy_thread(pid_t pid, struct cw_thread_capture *t, const struct cw_maps *maps,
			size_t stack_bytes)
{
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &t->regs) < 0) {
		t->vanished = true;
		return false;
	}
	t->captured = true;
	copy_stack(pid, t, maps, stack_bytes);
	return true;
}

/*
 * Group by group of o->stop_together threads, the leader in the last one
 * (see below): each group stopped together, copied, let go.  The pause is
 * the longest a group stood still.
 */
static size_t capture_in_groups(pid_t pid, struct cw_capture *out,
				const struct cw_capture_options *o, const struct cw_maps *maps)
{
	struct cw_thread_capture **order = malloc(out->n * sizeof(*order));
	uint64_t first = now_ns(), longest = 0;
	size_t alive = 0, n = 0;

	if (!order)
		return 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < out->n; i++)
			if ((out->threads[i].tid == pid) == (pass == 1))
				order[n++] = &out->threads[i];
	for (size_t g = 0; g < n; g += o->stop_together) {
		size_t end = g + o->stop_together < n ? g + o->stop_together : n;
		uint64_t t0 = now_ns();

		for (size_t i = g; i < end; i++)
			if (ptrace(PTRACE_INTERRUPT, order[i]->tid, 0, 0) < 0)
				order[i]->vanished = true;
		for (size_t i = g; i < end; i++)
			if (!order[i]->vanished)
				wait_stop(order[i], o->mode);
		for (size_t i = g; i < end; i++)
			if (!order[i]->vanished)
				alive += copy_thread(pid, order[i], maps, o->stack_bytes);
		for (size_t i = g; i < end; i++)
			if (!order[i]->vanished)
				ptrace(PTRACE_DETACH, order[i]->tid, 0, order[i]->pending_sig);
		if (now_ns() - t0 > longest)
			longest = now_ns() - t0;
	}
	free(order);
	out->staggered = true;
	out->pause_ns = longest;
	out->window_ns = now_ns() - first;
	return alive;
}

int cw_capture_process(int proc_dir, pid_t pid, const struct cw_capture_options *o,
		       struct cw_capture *out)
{
	struct cw_maps maps = {0};
	uint64_t t0 = 0;
	size_t alive = 0;
	bool maps_read = false;
	int r;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->mode = o->mode;
	r = seize_all(proc_dir, out, o);
	if (r < 0 || out->n == 0) {
		/* Whatever was seized is released: the kernel resumes it on detach. */
		for (size_t i = 0; i < out->n; i++)
			ptrace(PTRACE_DETACH, out->threads[i].tid, 0, 0);
		return r < 0 ? r : -ESRCH;
	}
	if (o->seized_fd >= 0) {
		/* Whoever holds the dump back can let it go: the exit stops will come. */
		if (write(o->seized_fd, "s", 1) < 0) {
			/* it will time out on its side */
		}
		close(o->seized_fd);
	}
	if (o->mode == CW_CAPTURE_INTERRUPT) {
		/*
		 * Its mappings and their files now, not while it stands still (2,000
		 * lines at 1,000 threads take ms to read): every thread is seized,
		 * so each one's stack is mapped already; a library loaded in the
		 * µs before the stop would lack its file, nothing else.
		 */
		read_maps(proc_dir, pid, out, &maps);
		maps_read = true;
		if (o->stop_together && out->n > o->stop_together && !o->stopped) {
			alive = capture_in_groups(pid, out, o, &maps);
			cw_maps_free(&maps);
			out->process_vanished = alive == 0;
			return alive ? 0 : -ESRCH;
		}
		t0 = now_ns();
		for (size_t i = 0; i < out->n; i++)
			if (ptrace(PTRACE_INTERRUPT, out->threads[i].tid, 0, 0) < 0)
				out->threads[i].vanished = true;
	}
	/*
	 * Interrupted, the leader last: when the process exits meanwhile, a
	 * traced leader is not reported until its other threads are reaped, and
	 * those traced by us wait for us to reap them (waiting for the leader
	 * first hangs).  At exit, in the order listed: every thread stops at its
	 * exit before it is reaped, and the one that dequeued the fatal signal
	 * (often the leader) must be let go first for the others to be killed.
	 */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < out->n; i++) {
			bool last = o->mode == CW_CAPTURE_INTERRUPT && out->threads[i].tid == pid;

			if (last != (pass == 1))
				continue;
			if (!out->threads[i].vanished)
				wait_stop(&out->threads[i], o->mode);
			if (!t0)
				t0 = now_ns(); /* at exit: the hold starts at the first exit stop */
		}
	/* At exit: what it maps while dying, the last moment it maps anything. */
	if (!maps_read)
		read_maps(proc_dir, pid, out, &maps);
	for (size_t i = 0; i < out->n; i++)
		if (!out->threads[i].vanished)
			alive += copy_thread(pid, &out->threads[i], &maps, o->stack_bytes);
	if (o->stopped && alive)
		o->stopped(o->stopped_arg, out);
	detach_all(out, o->fault_tid);
	out->pause_ns = out->window_ns = now_ns() - t0;
	cw_maps_free(&maps);
	out->process_vanished = alive == 0;
	return alive ? 0 : -ESRCH;
}

void cw_capture_free(struct cw_capture *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->threads[i].stack);
	free(c->threads);
	free(c->maps);
	cw_module_source_free(&c->modules);
	memset(c, 0, sizeof(*c));
}

bool cw_capture_read(const struct cw_capture *c, uint64_t addr, void *buf, size_t len)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct cw_thread_capture *t = &c->threads[i];

		if (t->stack && addr >= t->stack_start &&
		    addr + len <= t->stack_start + t->stack_len) {
			memcpy(buf, t->stack + (addr - t->stack_start), len);
			return true;
		}
	}
	return false;
}
