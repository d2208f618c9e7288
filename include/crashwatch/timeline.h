/* SPDX-License-Identifier: MIT */
/*
 * The records of the timeline BPF programs (bpf/timeline.bpf.c): what a
 * thread's user stack was when a CPU's clock sampled it running, and when
 * it left the CPU and for how long.  Compiled by clang -target bpf (after
 * vmlinux.h) and by the userspace compiler (after <linux/types.h>), like
 * events.h, whose header and sizes it shares.
 */
#ifndef CRASHWATCH_TIMELINE_H
#define CRASHWATCH_TIMELINE_H

#include "crashwatch/events.h"

#define CW_TL_VERSION 2

/* Frame-pointer walk: this many frames at most. */
#define CW_TL_MAX_FRAMES 64
/*
 * The top of the user stack, copied for the CFI unwinding of the frames a
 * frame-pointer walk misses: a libc function that blocks (no frame pointer)
 * hides its caller from the walk.  At most this many bytes (a power of two).
 */
#define CW_TL_STACK_MAX 1024

/* At most this many processes for --pid. */
#define CW_TL_MAX_PIDS 1024

enum cw_tl_kind {
	CW_TL_ON_CPU = 16,  /* sampled running by its CPU's clock at ts_ns */
	CW_TL_OFF_CPU = 17, /* off the CPU from ts_ns to end_ns, in that stack */
};

/* What a thread was doing, fgtrace's virtual state frames. */
enum cw_tl_state {
	CW_TL_RUNNING = 0,
	CW_TL_RUNNABLE = 1, /* preempted: waiting for a CPU */
	CW_TL_SLEEPING = 2, /* interruptible sleep: a lock, a pipe, a sleep */
	CW_TL_DISK = 3,	    /* uninterruptible sleep */
	CW_TL_STOPPED = 4,  /* stopped or traced */
	CW_TL_NR_STATES,
};

/* One frame of the walk: the frame pointer and the return address it saved. */
struct cw_tl_frame {
	__u64 fp;
	__u64 ret;
};

/*
 * A record is sent cut after stack_len bytes of stack: hdr.size is
 * offsetof(stack) + stack_len.  Off-CPU records are sent only when the
 * interval holds a sampling tick (a multiple of 1e9/hz ns of CLOCK_BOOTTIME):
 * shorter ones a sampler would not have seen either.
 */
struct cw_tl_record {
	struct cw_event_header hdr; /* kind: enum cw_tl_kind; ts_ns: CLOCK_BOOTTIME */
	/*
	 * Off-CPU: when it ran again (or the flush); 0: not known, it was sent
	 * as it left the CPU (its task storage could not be had), and lasts
	 * until its thread's next record.  On-CPU: ts_ns.
	 */
	__u64 end_ns;
	__u64 start_boottime; /* its process's, ns since boot: tells pid reuse apart */
	__u32 pid;	      /* thread group id, as the watcher's pid namespace sees it */
	__u32 tid;
	char comm[CW_COMM_LEN]; /* the thread's name */
	__u32 state;		/* enum cw_tl_state */
	__u16 nframes;		/* entries of frames[] */
	__u16 stack_len;	/* bytes of stack[], copied from sp */
	__u64 ip, sp, bp;	/* the user registers */
	/*
	 * A Go process's (cw_tl_go_proc): the goroutine the thread ran, its g
	 * read from the thread's TLS as the record was taken; 0: none, or the
	 * M's own stacks (g0, gsignal).
	 */
	__u64 goid;
	struct cw_tl_frame frames[CW_TL_MAX_FRAMES];
	__u8 stack[CW_TL_STACK_MAX];
};
_Static_assert(sizeof(struct cw_tl_record) == 96 + 16 * CW_TL_MAX_FRAMES + CW_TL_STACK_MAX,
	       "cw_tl_record layout");
#define CW_TL_RECORD_HEAD (sizeof(struct cw_tl_record) - CW_TL_STACK_MAX)

/*
 * A Go process (the go_procs map, by host tgid): where its goroutine ids
 * are, set by userspace from its executable (user/snapshot/go_binary.c).
 */
struct cw_tl_go_proc {
	__s32 g_tls;	   /* the running g's pointer, from the thread pointer (fs base) */
	__u32 goid_offset; /* of goid in runtime.g */
};

enum cw_tl_counter {
	CW_TL_CNT_SAMPLES,	 /* on-CPU samples sent */
	CW_TL_CNT_OFF_CPU,	 /* off-CPU intervals sent */
	CW_TL_CNT_OFF_CPU_SHORT, /* off-CPU intervals with no tick in them: not sent */
	CW_TL_CNT_DROPPED,	 /* records lost: the ring buffer was full */
	CW_TL_CNT_NO_STACK,	 /* the user stack could not be read */
	CW_TL_CNT_NO_STORAGE,	 /* no task storage at a switch: the interval sent open-ended */
	CW_TL_CNT_END_UNSEEN,  /* an interval ended at the next switch out: its switch in unseen */
	CW_TL_CNT_WALK_REUSED, /* a switch out where the thread blocked last: its walk reused */
	CW_TL_NR_COUNTERS,
};

/* What the task iterator does (iter_mode). */
enum cw_tl_iter_mode {
	CW_TL_ITER_SEED = 1,  /* threads already off the CPU: remember where they wait */
	CW_TL_ITER_FLUSH = 2, /* send every thread's open off-CPU interval, up to now */
};

#endif
