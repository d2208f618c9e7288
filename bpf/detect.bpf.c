// SPDX-License-Identifier: GPL-2.0
/*
 * Crash detection: notice watched fatal signals at delivery, take a first
 * capture of the faulting thread, remember who sent them, and report how
 * the process ended.  These tracepoints fire for every signal and every
 * exit on the host: each program returns after a few instructions unless
 * the event is one we watch.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "crashwatch/events.h"
/* One spec per probe site attached (libbpf's table), for up to CW_MAX_USDT_ATTACH probes. */
#define BPF_USDT_MAX_SPEC_CNT 4096
#define BPF_USDT_MAX_IP_CNT   1 /* the kernel has BPF cookies (>= 5.15): this table is unused */
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

/* Set by userspace between open and load. */
const volatile __u64 watched_signals = 0;
const volatile __u32 self_tgid = 0;
const volatile bool report_nonzero_exit = false;
const volatile bool report_signal_deaths = false;
const volatile bool hold_handled = false; /* stop handled fatal signals at the handler */
const volatile bool hold_sent = false;	  /* stop fatal signals another process sent */
/*
 * The scope.  view_pidns: the inode number of the watcher's pid namespace
 * when it is not the host's (a sidecar), 0 otherwise; only processes that
 * namespace sees are watched, and pids are reported as it numbers them.
 * filter_cgroups: only processes in a cgroup of scope_cgroups or below.
 */
const volatile __u32 view_pidns = 0;
const volatile bool filter_cgroups = false;

/*
 * USDT (--snapshot-on): an attachment with a hold in flight is not held
 * again; one is taken as ended usdt_busy_ns after it began, should its
 * record have been lost.  crashwatch probes --trace of a PROGRAM: only the
 * processes running trace_exe (its libraries' probes fire in every process).
 */
const volatile __u64 usdt_busy_ns = 60ULL * 1000000000ULL;
/* Set after load: the file key comes from identify_mappings, a loaded program. */
bool trace_exe_only = false;
struct cw_file_key trace_exe = {};

/* Linux >= 6.13; userspace sets hold_sent only where it exists. */
extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type,
				__u64 value) __ksym __weak;

#define SIGBUS		  7
#define SIGFPE		  8
#define SIGSEGV		  11
#define SIGABRT		  6
#define SIGKILL		  9
#define SIGSTOP		  19
#define SIGNAL_GROUP_EXIT 0x00000004 /* include/linux/sched/signal.h, stable since 2.6 */
#define ENOENT		  2

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* resized by userspace */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CW_NR_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/*
 * The signal record is too large for the BPF stack: it is built in a slot
 * per CPU (max_entries set to the number of CPUs by userspace).  Only
 * on_signal_deliver uses it and it cannot nest on one CPU (irqs are off
 * at that tracepoint), so a slot is never shared.
 */
struct signal_scratch {
	struct cw_signal_event ev;
	char exe_slack[CW_EXE_PATH_LEN]; /* a path component read past exe_parts lands here */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* resized to the number of possible CPUs */
	__type(key, __u32);
	__type(value, struct signal_scratch);
} scratch SEC(".maps");

/* Processes that received a watched signal, until their exit. */
struct flag {
	__s32 sig;
	__u32 held; /* held at abort(): not held again at the SIGABRT's delivery */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tgid */
	__type(value, struct flag);
} flagged SEC(".maps");

/* Who sent a watched signal to whom, until the delivery picks it up. */
struct sender {
	__s32 sig;
	__u32 pid;
	__u32 uid;
	__u32 _pad;
	char comm[CW_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* victim tgid */
	__type(value, struct sender);
} senders SEC(".maps");

/* The cgroup v2 ids of --cgroup: these and their descendants are watched. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_MAX_SCOPE_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
} scope_cgroups SEC(".maps");

#include "scope.bpf.h"

/* Processes the OOM killer chose, until their exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} oom_victims SEC(".maps");

/*
 * Go executables whose runtime's fatal paths userspace probed, by the file
 * exec ran (mm->exe_file): a fault in one is held at its panic, not at the
 * runtime's signal handler.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CW_MAX_GO_FILES);
	__type(key, struct cw_file_key);
	__type(value, __u8);
} go_exes SEC(".maps");

/* Direct loads (BTF pointers), not bpf_probe_read: this runs at every exec. */
static __always_inline void file_key(struct cw_file_key *k, struct file *f)
{
	struct inode *inode = f->f_inode;

	k->ino = inode->i_ino;
	k->dev = inode->i_sb->s_dev;
	k->generation = inode->i_generation;
}

static __always_inline bool is_go_exe(struct task_struct *task)
{
	struct mm_struct *mm = task->mm;
	struct cw_file_key k;
	struct file *exe;

	if (!mm)
		return false;
	exe = mm->exe_file;
	if (!exe)
		return false;
	file_key(&k, exe);
	return bpf_map_lookup_elem(&go_exes, &k) != NULL;
}

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
}

static __always_inline bool is_watched(int sig)
{
	return sig >= 1 && sig <= 64 && (watched_signals & CW_SIGMASK(sig));
}

/* The pid namespace the task lives in: its pid's deepest level. */
static __always_inline __u32 pid_ns_inum(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up;

	if (level > MAX_PID_NS_LEVEL || bpf_core_read(&up, sizeof(up), &pid->numbers[level]))
		return 0;
	return BPF_CORE_READ(up.ns, ns.inum);
}

/* pid_in_view, view_tgid, in_scope_cgroup, watches: bpf/scope.bpf.h */

/* The same, counted when not: for crashes, not for every exec. */
static __always_inline bool in_scope(struct task_struct *task)
{
	if (watches(task))
		return true;
	count(CW_CNT_OUT_OF_SCOPE);
	return false;
}

/* current: task is the running thread, whose comm and cgroup helpers can read. */
static __always_inline void fill_task(struct cw_task *t, struct task_struct *task, bool current)
{
	t->pid = view_tgid(task);
	t->tid = pid_in_view(BPF_CORE_READ(task, thread_pid));
	t->ppid = view_tgid(BPF_CORE_READ(task, real_parent));
	t->uid = BPF_CORE_READ(task, cred, uid.val);
	t->gid = BPF_CORE_READ(task, cred, gid.val);
	t->pid_ns = pid_ns_inum(task);
	t->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum); /* 0 once it is exiting */
	t->_pad0 = 0;
	t->start_boottime = BPF_CORE_READ(task, group_leader, start_boottime);
	if (current) {
		t->cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(t->comm, sizeof(t->comm));
	} else {
		t->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
		BPF_CORE_READ_STR_INTO(&t->comm, task, comm);
	}
}

struct vma_bounds {
	__u64 start;
	__u64 end;
};

static long vma_bounds_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_bounds *b = data;

	b->start = BPF_CORE_READ(vma, vm_start);
	b->end = BPF_CORE_READ(vma, vm_end);
	return 0;
}

/*
 * Where the stack is: the VMA of the stack pointer, or, when it is in no
 * VMA (a stack overflow leaves it in the guard gap), the first readable
 * page above it; bpf_find_vma cannot be called a second time here (it
 * answers -EBUSY until its irq_work ran).
 */
static __always_inline void locate_stack(struct signal_scratch *s, struct task_struct *task)
{
	struct cw_signal_event *ev = &s->ev;
	struct vma_bounds b = {};
	__u64 sp = ev->regs[CW_REG_RSP];
	__u64 src = sp;
	long found;
	int i;

	found = bpf_find_vma(task, sp, vma_bounds_cb, &b, 0);
	if (found == 0 && b.start <= sp && sp < b.end) {
		ev->stack_vma_start = b.start;
		ev->stack_vma_end = b.end;
	} else {
		/*
		 * -EBUSY is the usual answer at signal_deliver on Linux 6.18
		 * (siglock held, irqs off: the mmap lock cannot be tried), so
		 * only -ENOENT says the stack pointer is in no VMA.
		 */
		if (found == -ENOENT)
			ev->flags |= CW_SIG_SP_UNMAPPED;
		for (i = 0; i < 16; i++) {
			__u64 probe;

			if (bpf_probe_read_user(&probe, sizeof(probe), (void *)src) == 0)
				break;
			src = (src | (CW_STACK_PAGE - 1)) + 1;
		}
	}
	ev->stack_start = src;
}

static __always_inline struct mount *real_mount(struct vfsmount *vmnt)
{
	return (struct mount *)((void *)vmnt - bpf_core_field_offset(struct mount, mnt));
}

struct path_walk {
	struct dentry *d;
	struct vfsmount *vmnt;
	struct mount *mnt;
	__u32 cpu;
	__u32 off;
	bool done;
	bool truncated;
};

/* One step up the path, as a bpf_loop callback: an unrolled walk is too much to verify. */
static long path_step(__u64 i, void *data)
{
	struct path_walk *w = data;
	struct signal_scratch *s = bpf_map_lookup_elem(&scratch, &w->cpu);
	/* Locals, not w->...: CO-RE relocates every access inside BPF_CORE_READ. */
	struct dentry *d = w->d, *parent;
	struct vfsmount *vmnt = w->vmnt;
	struct mount *mnt = w->mnt, *mnt_parent;
	long n;

	if (!s)
		return 1;
	parent = BPF_CORE_READ(d, d_parent);
	if (d == BPF_CORE_READ(vmnt, mnt_root)) {
		mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (mnt_parent == mnt) {
			w->done = true; /* the root of the mount tree */
			return 1;
		}
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		w->vmnt = &mnt_parent->mnt;
		return 0;
	}
	if (d == parent) {
		w->done = true;
		return 1;
	}
	if (w->off >= CW_EXE_PATH_LEN - 1) {
		w->truncated = true;
		return 1;
	}
	/*
	 * A whole NAME_MAX component may run past exe_parts into the slack
	 * after the record, which is never sent; exe_len tells userspace
	 * where the captured parts end.
	 */
	n = bpf_probe_read_kernel_str(&s->ev.exe_parts[w->off & (CW_EXE_PATH_LEN - 1)],
				      CW_EXE_PATH_LEN, BPF_CORE_READ(d, d_name.name));
	if (n <= 0) {
		w->truncated = true;
		return 1;
	}
	w->off += n;
	w->d = parent;
	return 0;
}

/*
 * The executable's path, one component at a time from the leaf up, crossing
 * mounts (bpf_d_path is not allowed at this tracepoint).  Userspace joins
 * the parts in reverse; with it, frames can be symbolized after the process
 * is gone.
 */
static __always_inline void read_exe_parts(struct cw_signal_event *ev, struct task_struct *task,
					   __u32 cpu)
{
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	struct path_walk w = {.cpu = cpu};

	if (!exe)
		return;
	w.d = BPF_CORE_READ(exe, f_path.dentry);
	w.vmnt = BPF_CORE_READ(exe, f_path.mnt);
	w.mnt = real_mount(w.vmnt);
	bpf_loop(CW_EXE_PATH_DEPTH, path_step, &w, 0);
	if (w.truncated || !w.done)
		ev->flags |= CW_SIG_EXE_TRUNCATED;
	ev->exe_len = w.off > CW_EXE_PATH_LEN ? CW_EXE_PATH_LEN : w.off;
}

/* In the watched scope and not the watcher's own (that one counted). */
static __always_inline bool in_scope_not_self(struct task_struct *task)
{
	if (!in_scope(task))
		return false;
	if (view_tgid(task) == self_tgid) {
		count(CW_CNT_FILTERED);
		return false;
	}
	return true;
}

/*
 * A watched signal in the current process, counted; in scope and not the
 * watcher's own.  tgid: the host's, the key of the tables here.
 */
static __always_inline bool watched_crash(int sig, struct task_struct *task, __u32 *tgid)
{
	if (!is_watched(sig))
		return false;
	count(CW_CNT_SIGNAL_SEEN);
	*tgid = bpf_get_current_pid_tgid() >> 32;
	return in_scope_not_self(task);
}

/* A scratch slot with the header, the task and the signal filled in. */
static __always_inline struct signal_scratch *begin_event(int sig, struct task_struct *task,
							  bool current, __u32 *cpu)
{
	struct signal_scratch *s;
	struct cw_signal_event *ev;

	*cpu = bpf_get_smp_processor_id();
	s = bpf_map_lookup_elem(&scratch, cpu);
	if (!s)
		return NULL;
	ev = &s->ev;
	ev->hdr.kind = CW_EVENT_SIGNAL;
	ev->hdr.version = CW_EVENT_VERSION;
	ev->hdr.ts_ns = bpf_ktime_get_boot_ns();
	fill_task(&ev->task, task, current);
	ev->sig = sig;
	ev->flags = 0;
	ev->si_code = 0;
	ev->si_errno = 0;
	ev->fault_addr = 0;
	ev->handler = 0;
	ev->sender_pid = 0;
	ev->sender_uid = 0;
	/* No capture until capture_and_emit fills one in. */
	ev->nr_ips = 0;
	ev->nr_build_ids = 0;
	ev->stack_start = 0;
	ev->stack_vma_start = 0;
	ev->stack_vma_end = 0;
	ev->exe_len = 0;
	ev->rust_location = 0;
	ev->rust_payload = 0;
	ev->rust_vtable = 0;
	return s;
}

/* Send the record to userspace; loss is counted. */
static __always_inline void emit_signal(struct signal_scratch *s)
{
	s->ev.hdr.size = sizeof(struct cw_signal_event);
	if (bpf_ringbuf_output(&events, &s->ev, sizeof(s->ev), 0))
		count(CW_CNT_DROPPED_RINGBUF);
	else
		count(CW_CNT_SIGNAL_EMITTED);
}

/* The first capture of the current thread, then the record goes out. */
static __always_inline void capture_and_emit(void *ctx, struct signal_scratch *s,
					     struct task_struct *task, __u32 cpu)
{
	struct cw_signal_event *ev = &s->ev;
	struct pt_regs *regs;
	long n;

	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (bpf_probe_read_kernel(ev->regs, sizeof(ev->regs), regs) == 0)
		ev->flags |= CW_SIG_REGS;
	else
		__builtin_memset(ev->regs, 0, sizeof(ev->regs));

	n = bpf_get_stack(ctx, ev->frames, sizeof(ev->frames),
			  BPF_F_USER_STACK | BPF_F_USER_BUILD_ID);
	ev->nr_build_ids = n > 0 ? n / sizeof(struct cw_frame) : 0;
	n = bpf_get_stack(ctx, ev->ips, sizeof(ev->ips), BPF_F_USER_STACK);
	ev->nr_ips = n > 0 ? n / sizeof(__u64) : 0;

	read_exe_parts(ev, task, cpu); /* before bpf_find_vma: see there */
	if (ev->flags & CW_SIG_REGS)
		locate_stack(s, task);
	if (!(ev->flags & CW_SIG_REGS) || !ev->nr_ips)
		count(CW_CNT_CAPTURE_PARTIAL);
	emit_signal(s);
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(on_signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	struct task_struct *task;
	struct signal_scratch *s;
	struct cw_signal_event *ev;
	struct sender *snd;
	struct flag fl = {.sig = sig}, *prev;
	__u32 cpu, tgid;

	task = bpf_get_current_task_btf();
	if (!watched_crash(sig, task, &tgid))
		return 0;
	prev = bpf_map_lookup_elem(&flagged, &tgid);
	fl.held = prev ? prev->held : 0;
	if (bpf_map_update_elem(&flagged, &tgid, &fl, BPF_ANY))
		count(CW_CNT_FLAG_TABLE_FULL);

	s = begin_event(sig, task, true, &cpu);
	if (!s)
		return 0;
	ev = &s->ev;
	ev->si_code = BPF_CORE_READ(info, si_code);
	ev->si_errno = BPF_CORE_READ(info, si_errno);
	ev->fault_addr = (__u64)BPF_CORE_READ(info, _sifields._sigfault._addr);
	ev->handler = (__u64)BPF_CORE_READ(ka, sa.sa_handler);
	if (ev->handler > 1) {
		ev->flags |= CW_SIG_HAS_HANDLER;
		/*
		 * A fault in a probed Go executable: its runtime's handler
		 * turns it into a panic, held at fatalpanic; holding here too
		 * would make one crash two reports.  If no panic comes (the
		 * signal kills it), the exit reports the crash.  Only faults:
		 * the runtime ignores a SIGSEGV another process sends.
		 */
		if ((sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE) && ev->si_code > 0 &&
		    is_go_exe(task))
			ev->flags |= CW_SIG_GO_RUNTIME;
		/*
		 * Hold it where its handler is about to run, the fault context
		 * intact in the signal frame.  Not a process a debugger holds
		 * (a SIGSTOP would be that debugger's to see), nor one already
		 * held at abort().  The signal is sent by irq_work once the
		 * signal lock is dropped.
		 */
		if (hold_handled && !fl.held && !(ev->flags & CW_SIG_GO_RUNTIME) &&
		    !BPF_CORE_READ(task, ptrace) && bpf_send_signal_thread(SIGSTOP) == 0)
			ev->flags |= CW_SIG_HELD;
	}
	if (info && ev->si_code <= 0) {
		ev->flags |= CW_SIG_FROM_PROCESS;
		ev->sender_pid = BPF_CORE_READ(info, _sifields._kill._pid);
		ev->sender_uid = BPF_CORE_READ(info, _sifields._kill._uid);
		ev->fault_addr = 0; /* the union holds the sender there, not an address */
	}
	snd = bpf_map_lookup_elem(&senders, &tgid);
	if (snd && snd->sig == sig) {
		ev->flags |= CW_SIG_SENDER_SEEN;
		ev->sender_pid = snd->pid;
		ev->sender_uid = snd->uid;
		__builtin_memcpy(ev->sender_comm, snd->comm, sizeof(ev->sender_comm));
		bpf_map_delete_elem(&senders, &tgid);
	}
	capture_and_emit(ctx, s, task, cpu);
	return 0;
}

/*
 * A uprobe's hold (abort(), a Go runtime's fatal path): SIGSTOP to the
 * current thread, not if a debugger traces it; written down so the same
 * crash is not held again; then the first capture goes out.  Sent to the
 * thread, not the process: a signal private to the thread is dequeued
 * before shared ones and lower numbers first, so a Go preemption SIGURG
 * already queued for it cannot run its handler first and leave the thread
 * stopped in runtime.sigtramp instead of at the probed function.
 */
static __always_inline void hold_here(void *ctx, struct signal_scratch *s, struct task_struct *task,
				      __u32 cpu, __u32 tgid, struct flag *fl)
{
	if (!BPF_CORE_READ(task, ptrace) && bpf_send_signal_thread(SIGSTOP) == 0) {
		s->ev.flags |= CW_SIG_HELD;
		fl->held = 1;
	}
	if (bpf_map_update_elem(&flagged, &tgid, fl, BPF_ANY))
		count(CW_CNT_FLAG_TABLE_FULL);
	capture_and_emit(ctx, s, task, cpu);
}

/*
 * A Rust panic in progress, by thread: what std::panicking::
 * rust_panic_with_hook was given (its &Location, its payload as &mut dyn
 * BoxMeUp), for the hold that follows: at rust_panic (panic=unwind) or at
 * abort() (panic=abort, or a panic while panicking).  LRU: a thread's
 * caught panic is forgotten in time, and replaced by its next one.
 */
struct rust_panic {
	__u64 location;
	__u64 payload;
	__u64 vtable;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* the host's tid */
	__type(value, struct rust_panic);
} rust_panics SEC(".maps");

/* The panic of the current thread, taken out of the table into the record. */
static __always_inline void take_rust_panic(struct cw_signal_event *ev, __u32 tid)
{
	struct rust_panic *p = bpf_map_lookup_elem(&rust_panics, &tid);

	if (!p)
		return;
	ev->flags |= CW_SIG_RUST_PANIC;
	ev->rust_location = p->location;
	ev->rust_payload = p->payload;
	ev->rust_vtable = p->vtable;
	bpf_map_delete_elem(&rust_panics, &tid);
}

/*
 * abort(), and so a failed assert(): attached by userspace to the entry of
 * abort in each libc.  SIGSTOP from here stops the thread before abort
 * raises SIGABRT, which a SIGSTOP could not overtake later.
 */
SEC("uprobe")
int on_abort(struct pt_regs *ctx)
{
	struct task_struct *task;
	struct signal_scratch *s;
	struct flag fl = {.sig = SIGABRT};
	__u32 cpu, tgid;

	task = bpf_get_current_task_btf();
	if (!watched_crash(SIGABRT, task, &tgid))
		return 0;
	s = begin_event(SIGABRT, task, true, &cpu);
	if (!s)
		return 0;
	s->ev.flags = CW_SIG_AT_ABORT;
	/* A Rust panic=abort panic ends here: its message and location come along. */
	take_rust_panic(&s->ev, (__u32)bpf_get_current_pid_tgid());
	hold_here(ctx, s, task, cpu, tgid, &fl);
	return 0;
}

/*
 * std::panicking::rust_panic_with_hook(payload: &mut dyn BoxMeUp,
 * message: Option<&fmt::Arguments>, location: &Location, can_unwind:
 * bool), attached by userspace per Rust executable (std is linked into
 * each): noted, not held.  Rust passes these as C would: RDI, RSI the
 * payload's object and vtable, RCX the location.  Panics are rare: this
 * costs nothing to a program that does not panic.
 */
SEC("uprobe")
int on_rust_hook(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct rust_panic p = {.location = ctx->cx, .payload = ctx->di, .vtable = ctx->si};

	count(CW_CNT_RUST_PANIC);
	bpf_map_update_elem(&rust_panics, &tid, &p, BPF_ANY);
	return 0;
}

/*
 * std::panicking::rust_panic, entered once the hook has run (the message is
 * formatted then), attached only where the panic unwinds (panic=unwind):
 * a panic=abort one is held at abort().  Only the main thread's can end the
 * process (exit status 101, through std's lang_start); another thread's
 * ends that thread, caught for its join(), and is no crash.  Whether a
 * catch_unwind in main catches it is for the snapshot tool to tell from the
 * stack: held here all the same.  No signal: sig 0.
 */
SEC("uprobe")
int on_rust_panic(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 cpu, tgid = id >> 32, tid = (__u32)id;
	struct signal_scratch *s;
	struct flag *prev;

	if (tid != tgid) {
		bpf_map_delete_elem(&rust_panics, &tid);
		return 0;
	}
	if (!in_scope_not_self(task))
		return 0;
	prev = bpf_map_lookup_elem(&flagged, &tgid);
	if (prev && prev->held)
		return 0;
	s = begin_event(0, task, true, &cpu);
	if (!s)
		return 0;
	s->ev.flags = CW_SIG_AT_RUST_PANIC;
	take_rust_panic(&s->ev, tid);
	/*
	 * Not written down in flagged: a caught panic is no crash, and the
	 * process's later exit is not one to report.  A crash after it is
	 * held again.
	 */
	if (!BPF_CORE_READ(task, ptrace) && bpf_send_signal(SIGSTOP) == 0)
		s->ev.flags |= CW_SIG_HELD;
	capture_and_emit(ctx, s, task, cpu);
	return 0;
}

/*
 * A Go program's fatal paths, attached by userspace per Go executable:
 * runtime.fatalpanic (an unrecovered panic) and runtime.fatalthrow (every
 * fatal error: throw and fatal both end there).  Entered on the goroutine
 * that failed, before the runtime prints or stops the world; a SIGSTOP from
 * here holds it before its exit(2), or its SIGABRT with GOTRACEBACK=crash.
 * Entry probes only: a uretprobe rewrites the return address on a
 * goroutine stack, which the runtime moves and walks.  No signal: sig 0.
 */
/*
 * The type of the value a Go program panicked with, by process: taken at
 * runtime.preprintpanics, where the runtime is about to replace an error or
 * Stringer by its text (which is all runtime.fatalpanic then sees).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} go_panic_types SEC(".maps");

/* runtime._panic: argp, then arg (an eface: type, data), in Go 1.18 to 1.25. */
#define GO_PANIC_ARG_TYPE 8

SEC("uprobe")
int on_go_preprint(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 type = 0;

	/* The register ABI: the *_panic argument in RAX. */
	if (bpf_probe_read_user(&type, sizeof(type), (void *)(ctx->ax + GO_PANIC_ARG_TYPE)) ||
	    !type)
		return 0;
	bpf_map_update_elem(&go_panic_types, &tgid, &type, BPF_ANY);
	return 0;
}

/* The message of a Go fatal error, by process: throw(s) and fatal(s) print it, then fatalthrow. */
struct go_string {
	__u64 ptr;
	__u64 len;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct go_string);
} go_throw_msgs SEC(".maps");

SEC("uprobe")
int on_go_throw(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	/* The register ABI: a string argument in RAX (data) and RBX (length). */
	struct go_string s = {.ptr = ctx->ax, .len = ctx->bx};

	if (s.ptr && s.len)
		bpf_map_update_elem(&go_throw_msgs, &tgid, &s, BPF_ANY);
	return 0;
}

static __always_inline int go_hold(struct pt_regs *ctx, __u32 at)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct signal_scratch *s;
	struct flag fl = {}, *prev;
	__u32 cpu, tgid = bpf_get_current_pid_tgid() >> 32;

	count(CW_CNT_GO_FATAL);
	if (!in_scope_not_self(task))
		return 0;
	/* A second fatal path in one crash (a throw while panicking): held once. */
	prev = bpf_map_lookup_elem(&flagged, &tgid);
	if (prev && prev->held)
		return 0;
	fl.sig = prev ? prev->sig : 0;
	s = begin_event(0, task, true, &cpu);
	if (!s)
		return 0;
	s->ev.flags = at;
	if (at & CW_SIG_AT_GO_PANIC) {
		__u64 *type = bpf_map_lookup_elem(&go_panic_types, &tgid);

		if (type) {
			s->ev.fault_addr = *type;
			bpf_map_delete_elem(&go_panic_types, &tgid);
		}
	} else {
		struct go_string *msg = bpf_map_lookup_elem(&go_throw_msgs, &tgid);

		if (msg) {
			s->ev.fault_addr = msg->ptr;
			s->ev.handler = msg->len;
			bpf_map_delete_elem(&go_throw_msgs, &tgid);
		}
	}
	hold_here(ctx, s, task, cpu, tgid, &fl);
	return 0;
}

SEC("uprobe")
int on_go_panic(struct pt_regs *ctx)
{
	return go_hold(ctx, CW_SIG_AT_GO_PANIC);
}

SEC("uprobe")
int on_go_fatal(struct pt_regs *ctx)
{
	return go_hold(ctx, CW_SIG_AT_GO_FATAL);
}

/* Per USDT attachment: a hold in flight since, and quiet until (boot ns), set by userspace. */
struct usdt_gate {
	__u64 busy_since;
	__u64 quiet_until;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CW_MAX_USDT_ATTACH);
	__type(key, __u32);
	__type(value, struct usdt_gate);
} usdt_gates SEC(".maps");

static __always_inline bool runs_trace_exe(struct task_struct *task)
{
	struct mm_struct *mm = task->mm;
	struct cw_file_key k;

	if (!mm || !mm->exe_file)
		return false;
	file_key(&k, mm->exe_file);
	return k.ino == trace_exe.ino && k.dev == trace_exe.dev &&
	       k.generation == trace_exe.generation;
}

/* May this attachment hold a process now?  Takes the gate when so. */
static __always_inline bool usdt_take_gate(__u32 id, __u64 now)
{
	struct usdt_gate *g = bpf_map_lookup_elem(&usdt_gates, &id);
	__u64 busy;

	if (!g || now < g->quiet_until)
		return false;
	busy = g->busy_since;
	if (busy && now - busy < usdt_busy_ns)
		return false;
	return __sync_val_compare_and_swap(&g->busy_since, busy, now) == busy;
}

static __always_inline void usdt_drop_gate(__u32 id)
{
	struct usdt_gate *g = bpf_map_lookup_elem(&usdt_gates, &id);

	if (g)
		g->busy_since = 0;
}

/*
 * A USDT probe (bpf_program__attach_usdt; the cookie says which and how):
 * its arguments as the note's specs say, the strings the cookie names
 * copied.  For --snapshot-on the thread is stopped here, as at abort(),
 * and a signal record with the first capture follows; the process goes on
 * once snapshotted.  Not the watcher, nor what it runs (the snapshot tool,
 * the symbol server): held, they would wait for themselves.
 */
SEC("usdt")
int on_usdt(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 cookie = bpf_usdt_cookie(ctx), now = bpf_ktime_get_boot_ns();
	__u32 id = CW_USDT_COOKIE_ID(cookie), strings = CW_USDT_COOKIE_STRINGS(cookie);
	bool snapshot = cookie & CW_USDT_COOKIE_SNAPSHOT, hold;
	struct cw_usdt_event *ev;
	struct signal_scratch *s;
	__u32 cpu, k = 0;
	long v;

	if (!watches(task) || view_tgid(task) == self_tgid ||
	    view_tgid(BPF_CORE_READ(task, real_parent)) == self_tgid)
		return 0;
	if (trace_exe_only && !runs_trace_exe(task))
		return 0;
	if (snapshot) {
		count(CW_CNT_USDT_FIRED);
		if (!usdt_take_gate(id, now)) {
			count(CW_CNT_USDT_UNHELD);
			return 0;
		}
	}
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(CW_CNT_DROPPED_RINGBUF);
		if (snapshot)
			usdt_drop_gate(id);
		return 0;
	}
	ev->hdr.kind = CW_EVENT_USDT;
	ev->hdr.version = CW_EVENT_VERSION;
	ev->hdr.size = sizeof(*ev);
	ev->hdr.ts_ns = now;
	fill_task(&ev->task, task, true);
	ev->cookie = cookie;
	ev->ip = PT_REGS_IP(ctx);
	ev->flags = 0;
	ev->nargs = bpf_usdt_arg_cnt(ctx);
	for (__u32 i = 0; i < CW_USDT_MAX_ARGS; i++) {
		v = 0;
		if ((int)i < ev->nargs && bpf_usdt_arg(ctx, i, &v))
			ev->flags |= CW_USDT_ARGS_UNREAD;
		ev->args[i] = v;
		if (k < CW_USDT_STRINGS) {
			ev->strings[k][0] = 0;
			if ((strings & (1U << i)) && (int)i < ev->nargs) {
				if (bpf_probe_read_user_str(ev->strings[k], CW_USDT_STRING_LEN,
							    (void *)v) < 0) {
					ev->strings[k][0] = 0;
					ev->flags |= CW_USDT_STRING_UNREAD(k);
				}
				k++;
			}
		}
	}
	for (; k < CW_USDT_STRINGS; k++)
		ev->strings[k][0] = 0;
	hold = snapshot && !BPF_CORE_READ(task, ptrace);
	if (hold)
		ev->flags |= CW_USDT_HELD_NEXT;
	bpf_ringbuf_submit(ev, 0);
	if (!snapshot)
		return 0;
	s = hold ? begin_event(0, task, true, &cpu) : NULL;
	if (!s || bpf_send_signal(SIGSTOP)) {
		/* Not held (traced, or no slot): the next event of it may be. */
		usdt_drop_gate(id);
		if (!s)
			return 0;
	} else {
		s->ev.flags = CW_SIG_HELD;
	}
	s->ev.flags |= CW_SIG_AT_USDT;
	s->ev.hdr.ts_ns = now; /* pairs it with the usdt record */
	s->ev.fault_addr = cookie;
	capture_and_emit(ctx, s, task, cpu);
	return 0;
}

/*
 * Executables already run in each mount namespace, so that a new one is
 * reported once and userspace can probe abort() in the libc it uses, not
 * only in the host's (uprobes are per inode).  LRU: one forgotten is
 * reported again, and userspace knows its libc already.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct cw_exec_key);
	__type(value, __u8);
} execs_seen SEC(".maps");

struct interp {
	struct cw_file_key file;
	__u64 start;
	__u64 end;
	__u64 pgoff;
};

/* Before Linux 6.18 the id was the namespace's own sequence number. */
struct mnt_namespace___seq {
	__u64 seq;
} __attribute__((preserve_access_index));

/* An id a new namespace never reuses, as it does a freed one's inode number. */
static __always_inline __u64 mnt_ns_id(struct mnt_namespace *ns)
{
	if (bpf_core_field_exists(ns->ns.ns_id))
		return ns->ns.ns_id;
	return ((struct mnt_namespace___seq *)ns)->seq;
}

static long interp_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct interp *in = data;
	struct file *f = vma->vm_file;

	if (!f)
		return 0;
	file_key(&in->file, f);
	in->start = vma->vm_start;
	in->end = vma->vm_end;
	in->pgoff = vma->vm_pgoff << 12; /* 4 KiB pages: x86_64 */
	return 0;
}

/*
 * Once per exec, the cheapest point that knows both the mount namespace and
 * the interpreter: the new image is mapped and the user registers point at
 * the interpreter's entry (the executable's own for a static one, which has
 * no libc to probe but may be a Go program).  A mapping hook (fentry on uprobe_mmap) would see
 * every library, but runs at each file mmap and BPF trampolines are refused
 * on some kernels (EPERM on the 6.18 we run on).
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct mnt_namespace *ns = p->nsproxy->mnt_ns;
	struct cw_exec_event *ev;
	struct cw_exec_key key = {};
	struct interp in = {};
	struct pt_regs *regs;
	__u8 one = 1;

	file_key(&key.exe, bprm->file);
	key.mnt_ns_id = mnt_ns_id(ns);
	if (bpf_map_lookup_elem(&execs_seen, &key))
		return 0;
	/* The snapshot tool: gone before its record is read, every time. */
	if (view_tgid(p->real_parent) == self_tgid || !watches(p))
		return 0;
	/* Of two CPUs running the same new executable at once, one reports it. */
	if (bpf_map_update_elem(&execs_seen, &key, &one, BPF_NOEXIST))
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(p);
	if (bpf_find_vma(p, BPF_CORE_READ(regs, ip), interp_cb, &in, 0) || !in.start) {
		bpf_map_delete_elem(&execs_seen, &key); /* looked at again at its next exec */
		return 0;
	}
	/* A static one too (interp is the executable): it may be Go, with its own runtime. */
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(CW_CNT_DROPPED_RINGBUF);
		bpf_map_delete_elem(&execs_seen, &key); /* reported at its next exec */
		return 0;
	}
	ev->hdr.kind = CW_EVENT_EXEC;
	ev->hdr.version = CW_EVENT_VERSION;
	ev->hdr.size = sizeof(*ev);
	ev->hdr.ts_ns = bpf_ktime_get_boot_ns();
	fill_task(&ev->task, p, true);
	ev->key = key;
	ev->mnt_ns = ns->ns.inum;
	ev->_pad0 = 0;
	ev->interp = in.file;
	ev->interp_start = in.start;
	ev->interp_end = in.end;
	ev->interp_pgoff = in.pgoff;
	bpf_ringbuf_submit(ev, 0);
	count(CW_CNT_EXECS_NEW);
	return 0;
}

/*
 * The real files behind the watcher's own mappings (userspace filters the
 * iterator to its own process).  A uprobe attaches to the real inode, and
 * two containers of one image share it; but fstat through either shows its
 * overlay's device, so userspace maps a candidate libc and asks here.
 */
SEC("iter/task_vma")
int identify_mappings(struct bpf_iter__task_vma *ctx)
{
	struct vm_area_struct *vma = ctx->vma;
	struct cw_mapped_file out = {};

	if (!vma || !vma->vm_file)
		return 0;
	out.start = vma->vm_start;
	file_key(&out.file, vma->vm_file);
	bpf_seq_write(ctx->meta->seq, &out, sizeof(out));
	return 0;
}

/*
 * A fatal signal one process sends another whose handler is the default
 * (a handled one is held at delivery): stop the victim now, before it
 * dequeues the signal.  current is the sender here, so only the kfunc that
 * takes a task will do; no capture of the victim's stack is possible.
 */
static __always_inline void hold_victim(struct task_struct *task, int sig, __u32 sender)
{
	struct signal_scratch *s;
	struct flag fl = {.sig = sig, .held = 1};
	__u32 cpu, tgid = BPF_CORE_READ(task, tgid);

	if (BPF_CORE_READ(task, ptrace) || !bpf_send_signal_task ||
	    (__u64)BPF_CORE_READ(task, sighand, action[sig - 1].sa.sa_handler) != 0 /* SIG_DFL */)
		return;
	if (bpf_send_signal_task(task, SIGSTOP, PIDTYPE_PID, 0))
		return;
	bpf_map_update_elem(&flagged, &tgid, &fl, BPF_ANY);
	s = begin_event(sig, task, false, &cpu);
	if (!s)
		return;
	s->ev.flags = CW_SIG_HELD | CW_SIG_AT_GENERATE | CW_SIG_FROM_PROCESS;
	s->ev.sender_pid = sender;
	emit_signal(s);
}

SEC("tp_btf/signal_generate")
int BPF_PROG(on_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	struct sender snd = {.sig = sig};
	__u64 uid_gid;
	__u32 victim;

	if (!is_watched(sig) || result != 0 /* TRACE_SIGNAL_DELIVERED */)
		return 0;
	victim = BPF_CORE_READ(task, tgid);
	/* A fault or a self-raise (abort, raise): current is the victim itself. */
	if (bpf_get_current_pid_tgid() >> 32 == victim || !in_scope(task))
		return 0;
	snd.pid = view_tgid(bpf_get_current_task_btf());
	uid_gid = bpf_get_current_uid_gid();
	snd.uid = (__u32)uid_gid;
	bpf_get_current_comm(snd.comm, sizeof(snd.comm));
	bpf_map_update_elem(&senders, &victim, &snd, BPF_ANY);
	count(CW_CNT_SENDER_SEEN);
	if (hold_sent && view_tgid(task) != self_tgid)
		hold_victim(task, sig, snd.pid);
	return 0;
}

/* Linux >= 6.8 passes the task; userspace disables this program on older kernels. */
SEC("tp_btf/mark_victim")
int BPF_PROG(on_mark_victim, struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u8 one = 1;

	if (!in_scope(task))
		return 0;
	bpf_map_update_elem(&oom_victims, &tgid, &one, BPF_ANY);
	count(CW_CNT_OOM_VICTIMS);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_process_exit, struct task_struct *p)
{
	struct signal_struct *sig = p->signal;
	struct cw_exit_event *ev;
	struct flag *fl;
	__u32 tgid, status, flags = 0;
	__s32 flagged_sig = 0, term_sig;

	/* Only the last thread of a process: the others leave live above zero. */
	if (sig->live.counter != 0)
		return 0;
	tgid = p->tgid;
	status = (sig->flags & SIGNAL_GROUP_EXIT) ? sig->group_exit_code
						  : p->group_leader->exit_code;
	term_sig = status & 0x7f;

	fl = bpf_map_lookup_elem(&flagged, &tgid);
	if (fl) {
		flagged_sig = fl->sig;
		flags |= CW_EXIT_SEEN_AT_DELIVERY;
		/* Two last threads may race here: only the one that deletes reports. */
		if (bpf_map_delete_elem(&flagged, &tgid))
			return 0;
	}
	if (term_sig == SIGKILL && bpf_map_lookup_elem(&oom_victims, &tgid)) {
		flags |= CW_EXIT_OOM_VICTIM;
		bpf_map_delete_elem(&oom_victims, &tgid);
	}
	if (!flags && !(term_sig && (report_signal_deaths || is_watched(term_sig))) &&
	    !(report_nonzero_exit && !term_sig && (status >> 8) & 0xff))
		return 0;
	/* A flagged process was in scope when its signal came. */
	if (!(flags & CW_EXIT_SEEN_AT_DELIVERY) && !in_scope(p))
		return 0;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(CW_CNT_DROPPED_RINGBUF);
		return 0;
	}
	ev->hdr.kind = CW_EVENT_EXIT;
	ev->hdr.version = CW_EVENT_VERSION;
	ev->hdr.size = sizeof(*ev);
	ev->hdr.ts_ns = bpf_ktime_get_boot_ns();
	fill_task(&ev->task, p, true);
	ev->status = status;
	ev->term_sig = term_sig;
	ev->exit_code = term_sig ? 0 : (status >> 8) & 0xff;
	if (term_sig)
		flags |= CW_EXIT_SIGNALED;
	if (term_sig && (status & 0x80))
		flags |= CW_EXIT_CORE_DUMPED;
	ev->flags = flags;
	ev->flagged_sig = flagged_sig;
	ev->_pad0 = 0;
	bpf_ringbuf_submit(ev, 0);
	count(CW_CNT_EXIT_EMITTED);
	return 0;
}
