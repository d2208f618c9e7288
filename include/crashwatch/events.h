/* SPDX-License-Identifier: MIT */
/*
 * The records the BPF programs send to the daemon through the ring buffer.
 * This is the one definition, compiled both by clang -target bpf (after
 * vmlinux.h) and by the userspace compiler (after <linux/types.h>).
 * Fixed-width types, explicit padding, sizes pinned by _Static_assert:
 * userspace checks hdr.size against these before using a record.
 */
#ifndef CRASHWATCH_EVENTS_H
#define CRASHWATCH_EVENTS_H

#define CW_EVENT_VERSION 2 /* 2: no stack copy after the signal record */

#define CW_COMM_LEN	  16
#define CW_BUILD_ID_SIZE  20
#define CW_MAX_FRAMES	  64
#define CW_EXE_PATH_LEN	  256
#define CW_EXE_PATH_DEPTH 32

/* Where the stack is looked for above a stack pointer in no VMA, page by page. */
#define CW_STACK_PAGE 4096

/* --cgroup: how many, and how deep below one a process is still found. */
#define CW_MAX_SCOPE_CGROUPS 64
#define CW_MAX_CGROUP_DEPTH  32

/* Signals are 1..64; a mask bit per signal number. */
#define CW_SIGMASK(sig) (1ULL << ((sig)-1))

enum cw_event_kind {
	CW_EVENT_SIGNAL = 1, /* a watched fatal signal is being delivered */
	CW_EVENT_EXIT = 2,   /* how a flagged (or notable) process ended */
	CW_EVENT_EXEC = 3,   /* an executable first run in a mount namespace (with --hold) */
	CW_EVENT_USDT = 4,   /* a USDT probe fired (--snapshot-on, crashwatch probes --trace) */
};

struct cw_event_header {
	__u16 kind;    /* enum cw_event_kind */
	__u16 version; /* CW_EVENT_VERSION */
	__u32 size;    /* bytes in this record, trailer included */
	__u64 ts_ns;   /* CLOCK_BOOTTIME */
};
_Static_assert(sizeof(struct cw_event_header) == 16, "cw_event_header layout");

/*
 * Who: the thread the event is about.  Pids are as the watcher's pid
 * namespace sees them (the host's, unless it runs as a sidecar): the
 * numbers its /proc, ptrace and kill take.
 */
struct cw_task {
	__u32 pid; /* thread group id */
	__u32 tid;
	__u32 ppid; /* 0 when the parent is outside the watcher's pid namespace */
	__u32 uid;
	__u32 gid;
	__u32 pid_ns;	      /* inode numbers of its pid and mount namespaces, as lsns shows */
	__u64 cgroup_id;      /* cgroup v2 id */
	__u64 start_boottime; /* ns since boot: tells pid reuse apart */
	char comm[CW_COMM_LEN];
	__u32 mnt_ns;
	__u32 _pad0;
};
_Static_assert(sizeof(struct cw_task) == 64, "cw_task layout");

/* Same layout as the kernel's struct bpf_stack_build_id. */
enum cw_frame_status {
	CW_FRAME_EMPTY = 0,    /* BPF_STACK_BUILD_ID_EMPTY */
	CW_FRAME_BUILD_ID = 1, /* build_id + file offset valid */
	CW_FRAME_IP_ONLY = 2,  /* no build-id could be read: addr is the ip */
};

struct cw_frame {
	__s32 status; /* enum cw_frame_status */
	__u8 build_id[CW_BUILD_ID_SIZE];
	__u64 addr; /* file offset with a build-id, else the ip */
};
_Static_assert(sizeof(struct cw_frame) == 32, "cw_frame layout");

/* x86_64 user registers, in the order of struct pt_regs / user_regs_struct. */
enum cw_reg {
	CW_REG_R15,
	CW_REG_R14,
	CW_REG_R13,
	CW_REG_R12,
	CW_REG_RBP,
	CW_REG_RBX,
	CW_REG_R11,
	CW_REG_R10,
	CW_REG_R9,
	CW_REG_R8,
	CW_REG_RAX,
	CW_REG_RCX,
	CW_REG_RDX,
	CW_REG_RSI,
	CW_REG_RDI,
	CW_REG_ORIG_RAX,
	CW_REG_RIP,
	CW_REG_CS,
	CW_REG_EFLAGS,
	CW_REG_RSP,
	CW_REG_SS,
	CW_NR_REGS,
};

enum cw_signal_flags {
	CW_SIG_HAS_HANDLER = 1 << 0,  /* a handler (not SIG_DFL/SIG_IGN) will run */
	CW_SIG_FROM_PROCESS = 1 << 1, /* si_code <= 0: sent by a process (kill, tgkill...) */
	CW_SIG_SENDER_SEEN = 1 << 2,  /* signal_generate saw the sender: sender_comm valid */
	CW_SIG_REGS = 1 << 3,	      /* regs valid */
	CW_SIG_SP_UNMAPPED = 1 << 4,  /* the stack pointer is in no VMA: stack overflow */
	/* 1 << 5, 1 << 6: the stack copy's, before version 2 */
	CW_SIG_EXE_TRUNCATED = 1 << 7, /* exe path deeper or longer than captured */
	CW_SIG_AT_ABORT = 1 << 9,      /* from the entry of abort(): SIGABRT is not raised yet */
	CW_SIG_AT_GENERATE =
		1 << 10,      /* sent by another process, held before delivery: no capture */
	CW_SIG_HELD = 1 << 8, /* SIGSTOP sent: the thread stops at its handler's entry */
	/*
	 * Go: no signal (sig is 0), from an entry uprobe on the runtime's
	 * fatal path, before anything is printed or the world is stopped.
	 * regs are the uprobe's: RAX the first argument, R14 the goroutine
	 * (the register ABI, Go >= 1.17).
	 */
	CW_SIG_AT_GO_PANIC = 1 << 11, /* runtime.fatalpanic: RAX is the *_panic */
	CW_SIG_AT_GO_FATAL = 1 << 12, /* runtime.fatalthrow: a fatal error ("fatal error: ...") */
	/*
	 * A SIGSEGV, SIGBUS or SIGFPE delivered to the runtime's handler of a
	 * Go executable whose fatal paths are probed: not held there, as the
	 * runtime turns it into a panic, held at fatalpanic.
	 */
	CW_SIG_GO_RUNTIME = 1 << 13,
	/*
	 * Rust: no signal (sig is 0), from an entry uprobe on std's
	 * rust_panic (after the panic hook printed the message) in an
	 * executable built with panic=unwind, on the main thread only: its
	 * panic ends the process with exit status 101 unless a catch_unwind
	 * catches it, which the snapshot tool tells from the stack.
	 */
	CW_SIG_AT_RUST_PANIC = 1 << 14,
	/* rust_location, rust_payload, rust_vtable are valid: a Rust panic's (at abort, too). */
	CW_SIG_RUST_PANIC = 1 << 15,
	/*
	 * At a USDT probe (watch --snapshot-on): no signal (sig 0), the
	 * process goes on once snapshotted.  fault_addr is the attachment's
	 * cookie; its cw_usdt_event, with the arguments, came just before.
	 */
	CW_SIG_AT_USDT = 1 << 16,
};

/* A Go crash's record: at a fatal path of its runtime, not at a signal. */
#define CW_SIG_AT_GO (CW_SIG_AT_GO_PANIC | CW_SIG_AT_GO_FATAL)

/*
 * A watched signal at delivery, with the first capture of the faulting
 * thread.  No copy of its stack: nobody unwound it, and a held process is
 * copied whole by the snapshot tool (--stack-bytes).
 */
struct cw_signal_event {
	struct cw_event_header hdr;
	struct cw_task task;
	__s32 sig;
	__s32 si_code;
	__s32 si_errno;
	__u32 flags; /* enum cw_signal_flags */
	/*
	 * si_addr.  At a Go panic: the panic value's type (runtime._type), 0
	 * unknown.  At a Go fatal error: the address of its message, whose
	 * length is in handler.
	 */
	__u64 fault_addr;
	__u64 handler;	  /* sa_handler: 0 SIG_DFL, 1 SIG_IGN, else the handler */
	__u32 sender_pid; /* si_pid for process-sent signals */
	__u32 sender_uid;
	char sender_comm[CW_COMM_LEN];
	__u64 regs[CW_NR_REGS];
	__u32 nr_ips;	    /* ips[] filled: the frame-pointer walk */
	__u32 nr_build_ids; /* frames[] filled: the same walk as build-id + offset */
	__u32 _pad0;
	__u16 exe_len; /* bytes used in exe_parts */
	__u16 _pad1;
	/* The first readable address at or above the stack pointer (above it: overflow). */
	__u64 stack_start;
	__u64 stack_vma_start; /* 0 when the stack pointer is in no VMA */
	__u64 stack_vma_end;
	__u64 ips[CW_MAX_FRAMES];
	struct cw_frame frames[CW_MAX_FRAMES];
	/* The executable's path components, leaf first, each NUL-terminated. */
	char exe_parts[CW_EXE_PATH_LEN];
	/*
	 * With CW_SIG_RUST_PANIC, what std::panicking::rust_panic_with_hook
	 * was given, in the process: the panic's &Location, and its payload
	 * (&mut dyn BoxMeUp: the object and its vtable).
	 */
	__u64 rust_location;
	__u64 rust_payload;
	__u64 rust_vtable;
};
_Static_assert(sizeof(struct cw_signal_event) == 3184, "cw_signal_event layout");

enum cw_exit_flags {
	CW_EXIT_SEEN_AT_DELIVERY = 1 << 0, /* a watched signal was delivered to it before */
	CW_EXIT_CORE_DUMPED = 1 << 1,	   /* the parent sees WCOREDUMP */
	CW_EXIT_OOM_VICTIM = 1 << 2,	   /* chosen by the OOM killer (oom:mark_victim) */
	CW_EXIT_SIGNALED = 1 << 3,	   /* killed by term_sig */
};

/* The end of a process (its last thread), sent when it matters. */
struct cw_exit_event {
	struct cw_event_header hdr;
	struct cw_task task;
	__u32 status;	   /* the wait status its parent sees */
	__s32 exit_code;   /* WEXITSTATUS, when it exited */
	__s32 term_sig;	   /* WTERMSIG, when it was killed */
	__u32 flags;	   /* enum cw_exit_flags */
	__s32 flagged_sig; /* the watched signal seen at delivery, or 0 */
	__u32 _pad0;
};
_Static_assert(sizeof(struct cw_exit_event) == 104, "cw_exit_event layout");

/* A file, by its inode: what uprobes attach to. */
struct cw_file_key {
	__u64 ino;
	__u32 dev;	  /* the kernel's s_dev (major << 20 | minor) */
	__u32 generation; /* i_generation: a reused inode number is another file */
};
_Static_assert(sizeof(struct cw_file_key) == 16, "cw_file_key layout");

/* An executable in a mount namespace: the key of the kernel's table of those seen. */
struct cw_exec_key {
	struct cw_file_key exe;
	__u64 mnt_ns_id; /* never reused, unlike the inode number */
};
_Static_assert(sizeof(struct cw_exec_key) == 24, "cw_exec_key layout");

/* Go executables probed at most (--max-go-binaries): the kernel's table of them. */
#define CW_MAX_GO_FILES 4096

/*
 * An executable run for the first time in a mount
 * namespace since the watcher started (or since the table forgot it:
 * userspace deletes the key of one it could not look at, to hear of it
 * again).  Userspace probes abort() in the libc it will use, as uprobes are
 * per inode and a container's libc is another inode than the host's, and
 * the runtime's fatal paths when it is a Go executable.  A static one's
 * interp is the executable itself (no libc to probe, maybe Go).  Sent
 * at exec, before the interpreter (ld.so) has run: the interpreter is named
 * by its mapping, which /proc/PID/map_files reaches whatever mount namespace
 * it was opened in.
 */
struct cw_exec_event {
	struct cw_event_header hdr;
	struct cw_task task;
	struct cw_exec_key key;
	__u32 mnt_ns; /* the inode number /proc/PID/ns/mnt and lsns show */
	__u32 _pad0;
	struct cw_file_key interp;
	__u64 interp_start; /* /proc/PID/map_files/<interp_start>-<interp_end> */
	__u64 interp_end;
	__u64 interp_pgoff; /* file offset of interp_start, bytes */
};
_Static_assert(sizeof(struct cw_exec_event) == 152, "cw_exec_event layout");

/*
 * One of the watcher's own file mappings, as the iterator identify_mappings
 * writes it: the real file behind a candidate libc the watcher maps, since
 * fstat on an overlayfs file shows the overlay's device, one per container.
 */
struct cw_mapped_file {
	__u64 start;
	struct cw_file_key file;
};
_Static_assert(sizeof(struct cw_mapped_file) == 24, "cw_mapped_file layout");

/*
 * USDT attachments: what userspace gives bpf_program__attach_usdt as the
 * cookie, read back by the probe.  The id names the attachment (a probe in
 * one file) in userspace's table and in the kernel's usdt_gates; the
 * string mask says which arguments are NUL-terminated strings to copy.
 */
#define CW_MAX_USDT_ATTACH	    1024
#define CW_USDT_MAX_ARGS	    12 /* sys/sdt.h's and libbpf's bound */
#define CW_USDT_STRINGS		    4  /* strings copied per event, the first ones */
#define CW_USDT_STRING_LEN	    128
#define CW_USDT_COOKIE(id, strings) ((__u64)(id) | ((__u64)(strings) << 16))
#define CW_USDT_COOKIE_ID(c)	    ((__u32)((c)&0xffff))
#define CW_USDT_COOKIE_STRINGS(c)   ((__u32)(((c) >> 16) & 0xfff))
#define CW_USDT_COOKIE_SNAPSHOT	    (1ULL << 32) /* hold the process for a snapshot */

enum cw_usdt_flags {
	CW_USDT_HELD_NEXT = 1 << 0,   /* a held signal record (CW_SIG_AT_USDT) follows */
	CW_USDT_ARGS_UNREAD = 1 << 1, /* an argument could not be read: its value is 0 */
};
/*
 * String k (of strings[]) could not be read by the probe: its page not in
 * memory yet (a literal the program never touched itself), and BPF takes
 * no page faults.  Userspace reads it from the process's memory.
 */
#define CW_USDT_STRING_UNREAD(k) (1U << (8 + (k)))

/* A USDT probe fired: who, which attachment, and its arguments. */
struct cw_usdt_event {
	struct cw_event_header hdr;
	struct cw_task task;
	__u64 cookie;
	__u64 ip;		      /* the probe's address in the process */
	__u32 flags;		      /* enum cw_usdt_flags */
	__s32 nargs;		      /* the probe's argument count, < 0 unknown */
	__u64 args[CW_USDT_MAX_ARGS]; /* sign- or zero-extended as the probe's specs say */
	/* The string arguments the cookie names, in argument order, NUL-terminated (cut). */
	char strings[CW_USDT_STRINGS][CW_USDT_STRING_LEN];
};
_Static_assert(sizeof(struct cw_usdt_event) == 712, "cw_usdt_event layout");

/* Per-CPU counters, summed by userspace.  Loss is never silent. */
enum cw_counter {
	CW_CNT_SIGNAL_SEEN,	/* watched signals at delivery */
	CW_CNT_SIGNAL_EMITTED,	/* ... sent to userspace */
	CW_CNT_FILTERED,	/* watched, but filtered out (e.g. the watcher itself) */
	CW_CNT_SENDER_SEEN,	/* watched signals sent by another process */
	CW_CNT_EXIT_EMITTED,	/* exit records sent */
	CW_CNT_DROPPED_RINGBUF, /* records lost: the ring buffer was full */
	CW_CNT_CAPTURE_PARTIAL, /* a regs read or the stack walk failed (record still sent) */
	CW_CNT_FLAG_TABLE_FULL, /* a crashing process could not be remembered for its exit */
	CW_CNT_OOM_VICTIMS,	/* oom:mark_victim hits */
	CW_CNT_EXECS_NEW,	/* executables first run in a mount namespace, sent */
	CW_CNT_OUT_OF_SCOPE,	/* crash records not sent: outside --cgroup or the sidecar's pid
				   namespace */
	CW_CNT_GO_FATAL,	/* Go panics and fatal errors at their probed entry */
	CW_CNT_USDT_FIRED,	/* USDT probes fired in scope (--snapshot-on) */
	CW_CNT_USDT_UNHELD,	/* ... not held: one of that probe in flight, or it is quiet */
	CW_CNT_RUST_PANIC,	/* Rust panics at rust_panic_with_hook (caught ones too) */
	CW_NR_COUNTERS,
};

#endif /* CRASHWATCH_EVENTS_H */
