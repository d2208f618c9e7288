// SPDX-License-Identifier: GPL-2.0
/*
 * Timelines: every thread in scope sampled on the CPU by each CPU's clock
 * (a perf event at hz), and its intervals off the CPU from sched_switch
 * with the stack it left in, so a thread that waits on a lock is one long
 * interval in the function that waits.  The stack a thread blocks in does
 * not change until it runs again: it is walked when it leaves the CPU, kept
 * in the task's storage, and sent when it comes back only if a sampling
 * tick fell in between.  A thread that blocks again where it blocked last
 * (the same registers, the same words from its stack pointer up to its frame
 * pointer's pair) reuses that walk and copy: a thread that switches often
 * mostly does.  Out-of-scope tasks cost a map lookup at a switch.
 *
 * Why not read the stack when the thread runs again, and only if the interval
 * turned out to hold a tick: tp_btf/sched_switch runs in the context of the
 * task leaving (the user memory mapped is not the next task's), and the
 * programs that run in the next task's context after the switch (fentry on
 * finish_task_switch, a kprobe) are not loadable on every kernel (measured:
 * a 6.18 built without kprobes refuses fentry programs with EPERM).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "crashwatch/timeline.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by userspace between open and load. */
const volatile __u32 self_tgid = 0;
const volatile __u64 period_ns = 1000000000ULL / 99; /* 1e9 / hz */
const volatile __u32 stack_bytes = 512;		     /* <= CW_TL_STACK_MAX */
const volatile bool all_pids = false;		     /* every process; else those in pids */
/*
 * The reader is woken once this much waits in the ring buffer, not at each
 * record (a wakeup per record costs both sides more than the record); it
 * reads at least at each poll timeout too.
 */
const volatile __u64 wakeup_bytes = 256 << 10;
/* The scope, as for detect.bpf.c. */
const volatile __u32 view_pidns = 0;
const volatile bool filter_cgroups = false;

/* Set by userspace before each run of the task iterator. */
__u32 iter_mode = 0; /* enum cw_tl_iter_mode */
__u32 iter_pid = 0;  /* 0: every process in scope */

#define PF_KTHREAD	   0x00200000
#define PF_IO_WORKER	   0x00000010
#define TASK_INTERRUPTIBLE 0x0001
#define TASK_UNINTERRUPT   0x0002
#define TASK_STOPPED	   0x0004
#define TASK_TRACED	   0x0008
#define TASK_EXITING	   (0x0010 | 0x0020 | 0x0080) /* EXIT_DEAD, EXIT_ZOMBIE, TASK_DEAD */
#define TASK_NOLOAD	   0x0400

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* resized by userspace */
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CW_TL_NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* --pid: these processes (host tgids). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_TL_MAX_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} pids SEC(".maps");

/* The Go processes of pids: their records say which goroutine ran. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_TL_MAX_PIDS);
	__type(key, __u32);
	__type(value, struct cw_tl_go_proc);
} go_procs SEC(".maps");

/* --cgroup: these cgroup v2 ids and below. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_MAX_SCOPE_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
} scope_cgroups SEC(".maps");

#include "scope.bpf.h"

/* An on-CPU sample is built here, one slot per CPU (perf events do not nest on one CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cw_tl_record);
} scratch SEC(".maps");

/*
 * A thread off the CPU: where it waits, since when (rec.hdr.kind 0: on the
 * CPU); walked: rec holds a capture (its last), to reuse if it blocks there
 * again.
 */
struct wait {
	struct cw_tl_record rec;
	__u32 walked;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct wait);
} waiting SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
}

/*
 * The scope's verdict by cgroup v2 id (ids are never reused; cgroups made
 * later have new ones): one lookup at a switch of a task out of scope, not a
 * walk up its cgroups (as watches() does) with a lookup at each level.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} cgroup_verdicts SEC(".maps");

static __always_inline bool in_scope_cgroup_cached(struct task_struct *task)
{
	__u64 id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	__u8 *v = bpf_map_lookup_elem(&cgroup_verdicts, &id);
	__u8 in;

	if (v)
		return *v;
	in = in_scope_cgroup(task);
	bpf_map_update_elem(&cgroup_verdicts, &id, &in, BPF_ANY);
	return in;
}

/* A task with user memory: the first, cheap, test of each switch's tasks. */
static __always_inline bool user_task(struct task_struct *task)
{
	return !(task->flags & (PF_KTHREAD | PF_IO_WORKER)) && task->mm;
}

static __always_inline bool in_scope(struct task_struct *task)
{
	__u32 tgid;

	if (!user_task(task))
		return false;
	tgid = task->tgid;
	if (!all_pids)
		return bpf_map_lookup_elem(&pids, &tgid) != NULL;
	return view_tgid(task) != self_tgid &&
	       (!view_pidns || pid_in_view(BPF_CORE_READ(task, thread_pid))) &&
	       (!filter_cgroups || in_scope_cgroup_cached(task));
}

/*
 * Read from the task's user memory: current's (bpf_probe_read_user), or,
 * remote, another task's (sleepable programs only).
 */
static __always_inline long read_user(void *dst, __u32 len, __u64 src, struct task_struct *task,
				      bool remote)
{
	if (remote)
		return bpf_copy_from_user_task(dst, len, (void *)src, task, 0);
	return bpf_probe_read_user(dst, len, (void *)src);
}

/*
 * The goroutine a thread of a Go process runs (or blocked in), 0 for none:
 * its g in the word of the thread's TLS the runtime keeps it in, its goid in
 * that g.  The fs base is the task's saved one: Go sets it by arch_prctl,
 * which keeps it there.  amd64 only.
 */
static __always_inline __u64 running_goid(struct task_struct *task, bool remote)
{
#ifdef __TARGET_ARCH_x86
	__u32 tgid = task->tgid;
	struct cw_tl_go_proc *go = bpf_map_lookup_elem(&go_procs, &tgid);
	__u64 fsbase, g = 0, goid = 0;

	if (!go)
		return 0;
	fsbase = task->thread.fsbase;
	if (!fsbase || read_user(&g, sizeof(g), fsbase + (__s64)go->g_tls, task, remote) || !g ||
	    read_user(&goid, sizeof(goid), g + go->goid_offset, task, remote))
		return 0;
	return goid;
#else
	return 0;
#endif
}

/*
 * Who, the registers, the frame-pointer walk and the top of the stack
 * into r.  0, or -1 when the user stack could not be read at all.
 */
static __always_inline int capture(struct cw_tl_record *r, struct task_struct *task, bool remote)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 fp, top, len;
	int i;

	r->pid = all_pids ? view_tgid(task) : task->tgid;
	r->tid = all_pids ? pid_in_view(task->thread_pid) : task->pid;
	r->start_boottime = task->group_leader->start_boottime;
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), task->comm);
	r->ip = BPF_CORE_READ(regs, ip);
	r->sp = BPF_CORE_READ(regs, sp);
	r->bp = BPF_CORE_READ(regs, bp);
	r->nframes = 0;
	r->stack_len = 0;
	r->goid = running_goid(task, remote);

	fp = r->bp;
	top = r->sp;
	for (i = 0; i < CW_TL_MAX_FRAMES; i++) {
		__u64 pair[2];

		if (fp < top || (fp & 7) || fp - r->sp > (64ULL << 20))
			break;
		if (read_user(pair, sizeof(pair), fp, task, remote))
			break;
		r->frames[i].fp = fp;
		r->frames[i].ret = pair[1];
		r->nframes = i + 1;
		top = fp + 16;
		if (!pair[1] || pair[0] <= fp)
			break;
		fp = pair[0];
	}

	/* The copy: not past the outermost frame found, where the stack surely is. */
	len = stack_bytes;
	if (r->nframes && top - r->sp < len)
		len = top - r->sp;
	for (i = 0; i < 4; i++) {
		len &= CW_TL_STACK_MAX - 8;
		if (len && !read_user(r->stack, len, r->sp, task, remote)) {
			r->stack_len = len;
			break;
		}
		len >>= 1;
	}
	if (!r->stack_len && !r->nframes) {
		count(CW_TL_CNT_NO_STACK);
		return -1;
	}
	return 0;
}

static __always_inline void send(struct cw_tl_record *r)
{
	__u64 size = CW_TL_RECORD_HEAD + r->stack_len;

	if (size > sizeof(*r))
		size = sizeof(*r);
	r->hdr.version = CW_TL_VERSION;
	r->hdr.size = size;
	if (bpf_ringbuf_output(&samples, r, size,
			       bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA) >= wakeup_bytes
				       ? BPF_RB_FORCE_WAKEUP
				       : BPF_RB_NO_WAKEUP)) {
		count(CW_TL_CNT_DROPPED);
		return;
	}
	count(r->hdr.kind == CW_TL_ON_CPU ? CW_TL_CNT_SAMPLES : CW_TL_CNT_OFF_CPU);
}

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct cw_tl_record *r;
	__u32 zero = 0;

	if (!in_scope(task))
		return 0;
	r = bpf_map_lookup_elem(&scratch, &zero);
	if (!r)
		return 0;
	r->hdr.kind = CW_TL_ON_CPU;
	r->hdr.ts_ns = bpf_ktime_get_boot_ns();
	r->end_ns = r->hdr.ts_ns;
	r->state = CW_TL_RUNNING;
	if (capture(r, task, false) == 0)
		send(r);
	/*
	 * Its storage made now, while it runs: made at a switch, with irqs off,
	 * it can fail (the allocator's cache for it is empty when many threads
	 * start at once).
	 */
	bpf_task_storage_get(&waiting, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	return 0;
}

static __always_inline __u32 off_cpu_state(bool preempt, unsigned int state)
{
	if (preempt || !(state & 0xff))
		return CW_TL_RUNNABLE;
	if (state & (TASK_STOPPED | TASK_TRACED))
		return CW_TL_STOPPED;
	if ((state & TASK_UNINTERRUPT) && !(state & TASK_NOLOAD))
		return CW_TL_DISK;
	return CW_TL_SLEEPING;
}

/* An interval off the CPU ends: sent if a sampling tick fell in it. */
static __always_inline void end_interval(struct cw_tl_record *r, __u64 now)
{
	r->end_ns = now;
	if (r->hdr.ts_ns / period_ns != now / period_ns)
		send(r);
	else
		count(CW_TL_CNT_OFF_CPU_SHORT);
	r->hdr.kind = 0;
}

/* Bytes from the stack pointer compared before a walk is reused: a power of two. */
#define CW_TL_SAME_MAX 256

/*
 * Does task (current) block where its kept capture was taken?  The same
 * registers, and the same words from its stack pointer up to the pair its
 * frame pointer points at (the return addresses of the frames the CFI
 * unwinding reads, and of the first frame of the walk), at most
 * CW_TL_SAME_MAX bytes of them: one read, not a walk and a copy.  Callers
 * above the first frame pointer are taken as unchanged.
 */
static __always_inline bool blocks_where_it_did(struct wait *w, struct task_struct *task,
						struct cw_tl_record *scratch_rec)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct cw_tl_record *r = &w->rec;
	__u64 n;

	/* Plain loads (a BTF pointer): a probe read each costs as much as the rest here. */
	if (!w->walked || regs->ip != r->ip || regs->sp != r->sp || regs->bp != r->bp)
		return false;
	n = r->bp > r->sp ? r->bp + 16 - r->sp : 64;
	if (n > r->stack_len)
		n = r->stack_len;
	if (n > CW_TL_SAME_MAX)
		n = CW_TL_SAME_MAX;
	n &= ~7ULL;
	if (!n || n > CW_TL_SAME_MAX)
		return false;
	if (bpf_probe_read_user(scratch_rec->stack, n, (void *)r->sp))
		return false;
	for (int i = 0; i < CW_TL_SAME_MAX / 8; i++) {
		if (i * 8 >= n)
			break;
		if (((__u64 *)scratch_rec->stack)[i] != ((__u64 *)r->stack)[i])
			return false;
	}
	return true;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct cw_tl_record *r;
	__u64 now = 0; /* read once, and only if needed: most switches are not in scope */

	/*
	 * prev is current here: its user memory is the one mapped.  Its storage
	 * first: a task that has it is in scope (made only for those, by a sample,
	 * the seeding or here), which spares the scope's lookups at most switches.
	 * A task that leaves the scope (another cgroup) stays recorded till it exits.
	 */
	if (user_task(prev)) {
		struct wait *w = bpf_task_storage_get(&waiting, prev, 0, 0);
		__u32 zero = 0;

		if (!w && !(prev_state & TASK_EXITING) && in_scope(prev)) {
			w = bpf_task_storage_get(&waiting, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
			if (!w) {
				/* Nowhere to keep it: sent now, open-ended (no nesting with
				 * samples: irqs are off). */
				now = bpf_ktime_get_boot_ns();
				count(CW_TL_CNT_NO_STORAGE);
				r = bpf_map_lookup_elem(&scratch, &zero);
				if (r) {
					r->hdr.kind = CW_TL_OFF_CPU;
					r->hdr.ts_ns = now;
					r->end_ns = 0;
					r->state = off_cpu_state(preempt, prev_state);
					if (capture(r, prev, false) == 0)
						send(r);
				}
			}
		}
		if (w && (prev_state & TASK_EXITING)) {
			bpf_task_storage_delete(&waiting, prev);
		} else if (w) {
			struct cw_tl_record *s = bpf_map_lookup_elem(&scratch, &zero);

			now = bpf_ktime_get_boot_ns();
			r = &w->rec;
			/*
			 * Still open: it ran again without this program seeing the
			 * switch to it (measured: a thread woken by a core dump's
			 * SIGKILL).  Its interval ends now, at the latest.
			 */
			if (r->hdr.kind == CW_TL_OFF_CPU) {
				count(CW_TL_CNT_END_UNSEEN);
				end_interval(r, now);
			}
			r->hdr.kind = 0;
			r->hdr.ts_ns = now;
			r->state = off_cpu_state(preempt, prev_state);
			if (s && blocks_where_it_did(w, prev, s)) {
				count(CW_TL_CNT_WALK_REUSED);
				/* Go reuses stacks: this one can be another goroutine's. */
				r->goid = running_goid(prev, false);
				r->hdr.kind = CW_TL_OFF_CPU;
			} else {
				w->walked = capture(r, prev, false) == 0;
				if (w->walked)
					r->hdr.kind = CW_TL_OFF_CPU;
			}
		}
	}

	if (user_task(next)) {
		struct wait *w = bpf_task_storage_get(&waiting, next, 0, 0);

		if (w && w->rec.hdr.kind == CW_TL_OFF_CPU)
			end_interval(&w->rec, now ? now : bpf_ktime_get_boot_ns());
	}
	return 0;
}

/*
 * Run by userspace: seed the threads that are off the CPU already when
 * recording starts (their stacks read from their process), or flush every
 * open interval up to now (the end of a recording, a crash).
 */
SEC("iter.s/task")
int iter_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct cw_tl_record *r;
	struct wait *w;
	__u64 now;

	if (!task || !in_scope(task))
		return 0;
	if (iter_pid && task->tgid != iter_pid)
		return 0;
	now = bpf_ktime_get_boot_ns();
	if (iter_mode == CW_TL_ITER_SEED) {
		unsigned int state = task->__state;

		if (!(state & 0xff) || (state & TASK_EXITING) || task == bpf_get_current_task_btf())
			return 0;
		w = bpf_task_storage_get(&waiting, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!w || w->rec.hdr.kind)
			return 0;
		r = &w->rec;
		r->hdr.ts_ns = now;
		r->state = off_cpu_state(false, state);
		w->walked = capture(r, task, true) == 0;
		if (w->walked)
			r->hdr.kind = CW_TL_OFF_CPU;
		return 0;
	}
	if (iter_mode == CW_TL_ITER_FLUSH) {
		w = bpf_task_storage_get(&waiting, task, 0, 0);
		if (w && w->rec.hdr.kind == CW_TL_OFF_CPU) {
			w->rec.end_ns = now;
			send(&w->rec);
		}
	}
	return 0;
}
