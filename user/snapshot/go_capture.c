// SPDX-License-Identifier: MIT
#include "go_capture.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define IOVS		 1024  /* IOV_MAX */
#define G_STATUS_MASK	 0xfff /* without _Gscan */
#define G_DEAD		 6
#define G_RUNNING	 2
#define G_SYSCALL	 3
#define MAX_STACK	 (1ULL << 30) /* the runtime's maximum goroutine stack */
#define TFLAG_EXTRA_STAR 2
#define KIND_MASK	 31
#define KIND_INT	 2
#define KIND_INT64	 6
#define KIND_STRING	 24

static const char *const statuses[] = {"idle",	   "runnable", "running", "syscall",   "waiting",
				       "moribund", "dead",     "enqueue", "copystack", "preempted"};

/* runtime/runtime2.go's waitReasonStrings of Go 1.19 (they change with versions). */
static const char *const wait_reasons_119[] = {
	"",
	"GC assist marking",
	"IO wait",
	"chan receive (nil chan)",
	"chan send (nil chan)",
	"dumping heap",
	"garbage collection",
	"garbage collection scan",
	"panicwait",
	"select",
	"select (no cases)",
	"GC assist wait",
	"GC sweep wait",
	"GC scavenge wait",
	"chan receive",
	"chan send",
	"finalizer wait",
	"force gc (idle)",
	"semacquire",
	"sleep",
	"sync.Cond.Wait",
	"timer goroutine (idle)",
	"trace reader (blocked)",
	"wait for GC cycle",
	"GC worker (idle)",
	"preempted",
	"debug call",
};

const char *cw_go_status_name(uint32_t status)
{
	status &= G_STATUS_MASK;
	return status < sizeof(statuses) / sizeof(statuses[0]) ? statuses[status] : NULL;
}

const char *cw_go_wait_reason(const struct cw_go_binary *b, uint8_t reason)
{
	if (b->major != 1 || b->minor != 19 ||
	    reason >= sizeof(wait_reasons_119) / sizeof(wait_reasons_119[0]) || !reason)
		return NULL;
	return wait_reasons_119[reason];
}

/*
 * Read n (addr, len) pieces in as few process_vm_readv calls as it takes;
 * ok[i] says which arrived whole.  A piece that fails ends its call: the
 * next call starts after it.
 */
static uint64_t read_many(pid_t pid, size_t n, const uint64_t *addr, const size_t *len,
			  uint8_t *const *buf, bool *ok)
{
	uint64_t total = 0;
	size_t i = 0;

	while (i < n) {
		struct iovec l[IOVS], r[IOVS];
		size_t k = 0, j = 0, acc = 0;
		ssize_t got;

		for (; k < IOVS && i + k < n; k++) {
			l[k] = (struct iovec){buf[i + k], len[i + k]};
			r[k] = (struct iovec){(void *)(uintptr_t)addr[i + k], len[i + k]};
		}
		got = process_vm_readv(pid, l, k, r, k, 0);
		while (j < k && got >= 0 && acc + len[i + j] <= (size_t)got) {
			ok[i + j] = true;
			acc += len[i + j++];
		}
		if (j < k)
			ok[i + j++] = false;
		total += acc;
		i += j;
	}
	return total;
}

static uint64_t word(const uint8_t *p, uint32_t off)
{
	uint64_t v;

	memcpy(&v, p + off, 8);
	return v;
}

static const struct cw_thread_capture *thread_of(const struct cw_capture *c, pid_t tid)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->threads[i].tid == tid && c->threads[i].captured)
			return &c->threads[i];
	return NULL;
}

/* A Go string (ptr, len) at addr, bounded and NUL-terminated into out; false when unreadable. */
static bool go_string(pid_t pid, uint64_t addr, char *out, size_t cap)
{
	uint64_t s[2];
	size_t n;

	if (!cw_go_peek(pid, addr, s, sizeof(s)))
		return false;
	n = s[1] < cap - 1 ? s[1] : cap - 1;
	if (n && !cw_go_peek(pid, s[0], out, n))
		return false;
	out[n] = 0;
	for (size_t i = 0; i < n; i++)
		if (!out[i])
			out[i] = '?'; /* a NUL inside would cut the message short */
	return true;
}

/* How far into runtime.fatalpanic a hold may find it: before any call there. */
#define FATALPANIC_FIRST_BYTES 16

/* The name of a runtime._type: its nameOff resolved against moduledata.types. */
static bool type_name(const struct cw_go_binary *b, uint64_t type, char *out, size_t cap,
		      uint8_t *kind)
{
	const struct cw_go_layout *l = &b->layout;
	uint8_t tflag, hdr[6];
	int32_t off;
	size_t len = 0, n;

	if (!b->types || !cw_go_peek(b->pid, type + l->type_tflag, &tflag, 1) ||
	    !cw_go_peek(b->pid, type + 23 /* kind, after tflag align fieldAlign */, kind, 1) ||
	    !cw_go_peek(b->pid, type + l->type_str, &off, 4) || off < 0 ||
	    !cw_go_peek(b->pid, b->types + (uint64_t)off, hdr, sizeof(hdr)))
		return false;
	/* name: a flags byte, then (Go 1.17+) a varint length, then the bytes. */
	for (n = 1; n < sizeof(hdr); n++) {
		len |= (size_t)(hdr[n] & 0x7f) << (7 * (n - 1));
		if (!(hdr[n] & 0x80))
			break;
	}
	if (n == sizeof(hdr) || len == 0 || len >= cap)
		return false;
	if (!cw_go_peek(b->pid, b->types + (uint64_t)off + n + 1, out, len))
		return false;
	out[len] = 0;
	if ((tflag & TFLAG_EXTRA_STAR) && len > 1)
		memmove(out, out + 1, len);
	return true;
}

/*
 * An error or Stringer panic value reaches fatalpanic as its text: the
 * type it had, taken by the watcher at preprintpanics, names it again.
 */
static void original_type(const struct cw_go_binary *b, struct cw_go_capture *out)
{
	char name[sizeof(out->panic_type)];
	uint8_t kind;

	if (out->original_type && type_name(b, out->original_type, name, sizeof(name), &kind))
		memcpy(out->panic_type, name, sizeof(name));
}

/*
 * What the runtime would print after "panic: ", for the values whose
 * message is stored in them; other values (an error whose Error() method
 * builds the message) only by their type.
 */
static void read_panic(const struct cw_go_binary *b, uint64_t p, struct cw_go_capture *out)
{
	uint64_t eface[2];
	uint8_t kind = 0;
	char *m = out->panic_message;
	size_t cap = sizeof(out->panic_message);

	out->panicking = true;
	out->panic_addr = p;
	if (!cw_go_peek(b->pid, p + b->layout.panic_arg, eface, sizeof(eface)) || !eface[0] ||
	    !type_name(b, eface[0], out->panic_type, sizeof(out->panic_type), &kind))
		return;
	kind &= KIND_MASK;
	if (strcmp(out->panic_type, "runtime.errorString") == 0) {
		int n = snprintf(m, cap, "runtime error: ");

		out->has_message = go_string(b->pid, eface[1], m + n, cap - (size_t)n);
	} else if (strcmp(out->panic_type, "string") == 0 ||
		   strcmp(out->panic_type, "runtime.plainError") == 0) {
		out->has_message = go_string(b->pid, eface[1], m, cap);
	} else if (strcmp(out->panic_type, "*errors.errorString") == 0 ||
		   strcmp(out->panic_type, "*fmt.wrapError") == 0) {
		/* A pointer is the interface's data word itself; the struct starts with the text.
		 */
		out->has_message = go_string(b->pid, eface[1], m, cap);
	} else if (strcmp(out->panic_type, "runtime.boundsError") == 0) {
		static const char *const fmt[] = {
			"index out of range [%" PRId64 "] with length %" PRId64,
			"slice bounds out of range [:%" PRId64 "] with length %" PRId64,
			"slice bounds out of range [:%" PRId64 "] with capacity %" PRId64,
			"slice bounds out of range [%" PRId64 ":%" PRId64 "]",
		};
		uint8_t e[24];
		int64_t x, y;

		/* {x int64, y int, signed bool, code uint8}: the common codes, non-negative x. */
		if (cw_go_peek(b->pid, eface[1], e, sizeof(e)) && e[17] < 4) {
			memcpy(&x, e, 8);
			memcpy(&y, e + 8, 8);
			if (x >= 0) {
				int n = snprintf(m, cap, "runtime error: ");

				snprintf(m + n, cap - (size_t)n, fmt[e[17]], x, y);
				out->has_message = true;
			}
		}
	} else if (kind >= KIND_INT && kind <= KIND_INT64 && strcmp(out->panic_type, "int") == 0) {
		int64_t v = 0;

		if (cw_go_peek(b->pid, eface[1], &v, 8)) {
			snprintf(m, cap, "%" PRId64, v);
			out->has_message = true;
		}
	}
	(void)KIND_STRING;
}

/* Where each goroutine's unwinding starts; the threads' registers for those on one. */
static void start_points(const struct cw_go_binary *b, const struct cw_capture *c,
			 struct cw_go_capture *out, const uint8_t *gbuf, size_t gsize,
			 uint64_t panic_g, pid_t panic_tid, pid_t fault_tid)
{
	const struct cw_go_layout *l = &b->layout;

	for (size_t i = 0; i < out->n; i++) {
		struct cw_goroutine *g = &out->g[i];
		const uint8_t *p = gbuf + i * gsize;
		uint64_t m = word(p, l->g_m), mw[2] = {0, 0};
		const struct cw_thread_capture *t = NULL;
		uint32_t st = g->status & G_STATUS_MASK;

		g->pc = word(p, l->g_sched_pc);
		g->sp = word(p, l->g_sched_sp);
		if (st == G_SYSCALL && word(p, l->g_syscallsp)) {
			g->pc = word(p, l->g_syscallpc);
			g->sp = word(p, l->g_syscallsp);
		}
		if (g->addr == panic_g)
			t = thread_of(c, panic_tid);
		else if (m && (st == G_RUNNING || st == G_SYSCALL) &&
			 cw_go_peek(b->pid, m + l->m_procid, &mw[0], 8) &&
			 cw_go_peek(b->pid, m + l->m_curg, &mw[1], 8) && mw[1] == g->addr &&
			 mw[0] > 0 && mw[0] <= INT_MAX)
			t = thread_of(c, (pid_t)mw[0]);
		if (t) {
			struct cw_gofunc f;
			const char *file;
			int line;

			g->tid = t->tid;
			/* In a syscall the thread may be in the vDSO: its saved context then. */
			if (st != G_SYSCALL || cw_go_symbolize(b, t->regs.rip, &f, &file, &line)) {
				g->pc = t->regs.rip;
				g->sp = t->regs.rsp;
				g->pc_exact = true;
			}
		}
		/* A goroutine that asked for its snapshot is marked, not its thread's. */
		if (!panic_g && out->caller_goid)
			g->faulted = g->goid == out->caller_goid;
		else
			g->faulted = (panic_g && g->addr == panic_g) ||
				     (!panic_g && fault_tid && g->tid == fault_tid);
	}
}

/* Each goroutine's stack from where its unwinding starts, bounded. */
static void read_stacks(const struct cw_go_binary *b, struct cw_go_capture *out,
			const uint8_t *gbuf, size_t gsize)
{
	const struct cw_go_layout *l = &b->layout;
	uint64_t *addr = calloc(out->n + 1, sizeof(*addr));
	size_t *len = calloc(out->n + 1, sizeof(*len)), budget = CW_GO_STACK_BUDGET;
	uint8_t **buf = calloc(out->n + 1, sizeof(*buf));
	bool *ok = calloc(out->n + 1, sizeof(*ok));

	if (!addr || !len || !buf || !ok)
		goto out;
	for (size_t i = 0; i < out->n; i++) {
		struct cw_goroutine *g = &out->g[i];
		const uint8_t *p = gbuf + i * gsize;
		uint64_t lo = word(p, l->g_stack_lo), hi = word(p, l->g_stack_hi), want;

		if (hi <= lo || hi - lo > MAX_STACK || g->sp < lo || g->sp >= hi)
			continue; /* on another stack (the thread's own): the thread's copy serves
				   */
		want = hi - g->sp;
		if (want > CW_GO_STACK_BYTES || want > budget) {
			want = want > CW_GO_STACK_BYTES ? CW_GO_STACK_BYTES : want;
			want = want > budget ? budget : want;
			g->stack_truncated = true;
		}
		if (!want || !(g->stack = malloc(want)))
			continue;
		budget -= want;
		addr[i] = g->stack_start = g->sp;
		len[i] = want;
		buf[i] = g->stack;
	}
	out->bytes_read += read_many(b->pid, out->n, addr, len, buf, ok);
	for (size_t i = 0; i < out->n; i++) {
		if (ok[i] && out->g[i].stack) {
			out->g[i].stack_len = len[i];
		} else {
			free(out->g[i].stack);
			out->g[i].stack = NULL;
		}
	}
out:
	free(addr);
	free(len);
	free(buf);
	free(ok);
}

void cw_go_capture_stopped(const struct cw_go_binary *b, const struct cw_capture *c,
			   pid_t fault_tid, struct cw_go_capture *out)
{
	const struct cw_go_layout *l = &b->layout;
	uint64_t slice[2], *gps = NULL, *addr = NULL, panic_g = 0;
	size_t n, gsize = 0, *len = NULL, live = 0;
	uint8_t *gbuf = NULL, **buf = NULL;
	bool *ok = NULL;
	pid_t panic_tid = 0;
	uint32_t offs[] = {l->g_stack_lo,  l->g_stack_hi,  l->g_sched_sp,  l->g_sched_pc,
			   l->g_sched_bp,  l->g_syscallsp, l->g_syscallpc, l->g_m,
			   l->g_goid,	   l->g_gopc,	   l->g_startpc,   l->g_atomicstatus,
			   l->g_waitreason};
	uint64_t original = out->original_type, msg_addr = out->fatal_msg_addr,
		 msg_len = out->fatal_msg_len, caller = out->caller_goid;

	memset(out, 0, sizeof(*out));
	out->original_type = original;
	out->caller_goid = caller;
	/* What throw() or fatal() printed: read while it is stopped, bounded. */
	if (msg_addr && msg_len) {
		size_t n = msg_len < sizeof(out->fatal_message) - 1
				   ? (size_t)msg_len
				   : sizeof(out->fatal_message) - 1;

		if (cw_go_peek(b->pid, msg_addr, out->fatal_message, n))
			out->fatal_message[n] = '\0';
		else
			out->fatal_message[0] = '\0';
	}
	/* At runtime.fatalpanic's entry: RAX the *_panic, R14 the g (the register ABI). */
	for (size_t i = 0; b->fatalpanic && i < c->n; i++) {
		const struct cw_thread_capture *t = &c->threads[i];

		/*
		 * At its entry (a debugger's breakpoint), or one instruction in:
		 * a uprobe single-steps the instruction it replaced before the
		 * SIGSTOP it sent is taken (the stack check, RAX still the arg).
		 */
		if (t->captured && t->regs.rip >= b->fatalpanic &&
		    t->regs.rip < b->fatalpanic + FATALPANIC_FIRST_BYTES &&
		    (!fault_tid || t->tid == fault_tid)) {
			panic_g = t->regs.r14;
			panic_tid = t->tid;
			read_panic(b, t->regs.rax, out);
			original_type(b, out);
			break;
		}
	}
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		if (offs[i] + 8 > gsize)
			gsize = offs[i] + 8;
	if (!cw_go_peek(b->pid, b->allgs, slice, sizeof(slice))) {
		out->error = "runtime.allgs could not be read";
		return;
	}
	out->total = slice[1];
	n = slice[1];
	if (n > CW_GO_MAX_GOROUTINES) {
		n = CW_GO_MAX_GOROUTINES;
		out->capped = true;
	}
	gps = calloc(n + 1, sizeof(*gps));
	gbuf = calloc(n + 1, gsize);
	addr = calloc(n + 1, sizeof(*addr));
	len = calloc(n + 1, sizeof(*len));
	buf = calloc(n + 1, sizeof(*buf));
	ok = calloc(n + 1, sizeof(*ok));
	out->g = calloc(n + 1, sizeof(*out->g));
	if (!gps || !gbuf || !addr || !len || !buf || !ok || !out->g) {
		out->error = "out of memory";
		goto out;
	}
	if (n && !cw_go_peek(b->pid, slice[0], gps, n * 8)) {
		out->error = "the runtime's list of goroutines could not be read";
		goto out;
	}
	out->bytes_read += 16 + n * 8;
	for (size_t i = 0; i < n; i++) {
		addr[i] = gps[i];
		len[i] = gsize;
		buf[i] = gbuf + i * gsize;
	}
	out->bytes_read += read_many(b->pid, n, addr, len, buf, ok);
	/* The live ones, packed to the front (their g copies too). */
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = gbuf + i * gsize;
		uint32_t st;

		if (!ok[i])
			continue;
		memcpy(&st, p + l->g_atomicstatus, 4);
		if ((st & G_STATUS_MASK) == G_DEAD)
			continue;
		out->g[live] = (struct cw_goroutine){
			.addr = gps[i],
			.goid = word(p, l->g_goid),
			.gopc = word(p, l->g_gopc),
			.startpc = word(p, l->g_startpc),
			.status = st,
			.waitreason = p[l->g_waitreason],
		};
		if (live != i)
			memmove(gbuf + live * gsize, p, gsize);
		live++;
	}
	out->n = live;
	start_points(b, c, out, gbuf, gsize, panic_g, panic_tid, fault_tid);
	read_stacks(b, out, gbuf, gsize);
out:
	free(gps);
	free(gbuf);
	free(addr);
	free(len);
	free(buf);
	free(ok);
}

/* 8 bytes at addr from the goroutine's copy, else a thread's. */
static bool stack_word(const struct cw_capture *c, const struct cw_goroutine *g, uint64_t addr,
		       uint64_t *v)
{
	if (g->stack && addr >= g->stack_start && addr - g->stack_start + 8 <= g->stack_len) {
		memcpy(v, g->stack + (addr - g->stack_start), 8);
		return true;
	}
	return cw_capture_read(c, addr, v, 8);
}

/*
 * The runtime's own unwinding: a frame's return address is at sp plus the
 * function's SP delta at pc (.gopclntab's pcsp), the caller's sp just above
 * it.  No frame pointers, no DWARF: -s -w binaries unwind the same.
 */
static void unwind_one(const struct cw_go_binary *b, const struct cw_capture *c,
		       struct cw_goroutine *g)
{
	uint64_t pc = g->pc, sp = g->sp;
	bool exact = g->pc_exact;
	struct cw_gofunc f;
	const char *file;
	int line;

	g->frames = calloc(CW_GO_MAX_FRAMES, sizeof(*g->frames));
	if (!g->frames)
		return;
	while (pc) {
		struct cw_go_frame *fr;
		uint64_t at = exact ? pc : pc - 1, ret;
		int32_t delta;
		bool known;

		if (g->n_frames == CW_GO_MAX_FRAMES) {
			g->frames_truncated = true;
			break;
		}
		known = cw_go_symbolize(b, at, &f, &file, &line);
		fr = &g->frames[g->n_frames++];
		*fr = (struct cw_go_frame){.pc = pc, .exact = exact};
		if (!known)
			break;
		fr->function = f.name[0] ? f.name : NULL;
		fr->function_offset = at - b->bias - f.entry + (exact ? 0 : 1);
		fr->file = file;
		fr->line = line;
		/* The goroutine's first frame: nothing called it. */
		if (strcmp(f.name, "runtime.goexit") == 0 ||
		    strcmp(f.name, "runtime.mstart") == 0 || strcmp(f.name, "runtime.rt0_go") == 0)
			break;
		if (!cw_gopclntab_spdelta(&b->pcln, &f, at - b->bias, &delta) ||
		    !stack_word(c, g, sp + (uint64_t)delta, &ret))
			break;
		sp += (uint64_t)delta + 8;
		pc = ret;
		exact = false;
	}
}

void cw_go_unwind(const struct cw_go_binary *b, const struct cw_capture *c,
		  struct cw_go_capture *gc)
{
	for (size_t i = 0; i < gc->n; i++) {
		struct cw_goroutine *g = &gc->g[i];
		struct cw_gofunc f;
		const char *file;
		int line;

		unwind_one(b, c, g);
		if (g->gopc && cw_go_symbolize(b, g->gopc - 1, &f, &file, &line)) {
			g->created_function = f.name[0] ? f.name : NULL;
			g->created_file = file;
			g->created_line = line;
		}
		/* The runtime's isSystemGoroutine: started in runtime.*, but runtime.main. */
		g->system = g->startpc && cw_go_symbolize(b, g->startpc, &f, &file, &line) &&
			    strncmp(f.name, "runtime.", 8) == 0 &&
			    strcmp(f.name, "runtime.main") != 0;
	}
}

void cw_go_capture_free(struct cw_go_capture *gc)
{
	for (size_t i = 0; gc->g && i < gc->n; i++) {
		free(gc->g[i].stack);
		free(gc->g[i].frames);
	}
	free(gc->g);
	memset(gc, 0, sizeof(*gc));
}
