// SPDX-License-Identifier: MIT
/* The partial snapshot built from the kernel's first capture, and the crash ledger. */
#include "cw_test.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crash_ledger.h"
#include "event_decode.h"
#include "partial_snapshot.h"
#include "container_read.h"
#include "proc_info.h"

static void fill(struct cw_signal_event *ev, int sig, int code, uint64_t addr, uint64_t sp)
{
	memset(ev, 0, sizeof(*ev));
	ev->hdr.kind = CW_EVENT_SIGNAL;
	ev->hdr.size = sizeof(*ev);
	ev->task.pid = 4242;
	ev->task.tid = 4243;
	ev->task.start_boottime = 1000;
	memcpy(ev->task.comm, "victim", 7);
	ev->sig = sig;
	ev->si_code = code;
	ev->fault_addr = addr;
	ev->flags = CW_SIG_REGS;
	ev->regs[CW_REG_RSP] = sp;
	ev->regs[CW_REG_RIP] = 0x401000;
	ev->nr_ips = 3;
	ev->ips[0] = 0x401000;
	ev->ips[1] = 0x401000; /* a frame-pointer walk looping in code without frame pointers */
	ev->ips[2] = 0x402000;
}

static const char *classifier(json_t *doc, size_t i)
{
	return json_string_value(json_array_get(json_object_get(doc, "classifiers"), i));
}

static void partial_document_holds_the_faulting_thread(void **state)
{
	struct cw_signal_event ev;
	json_t *doc, *t, *cap;

	(void)state;
	cw_clock_init();
	fill(&ev, SIGSEGV, SEGV_MAPERR, 0, 0x7ffd0000);
	doc = cw_partial_snapshot_json(&ev, NULL, "the snapshot tool failed", "u-1");
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
	cap = json_object_get(doc, "capture");
	assert_true(json_is_true(json_object_get(cap, "partial")));
	assert_string_equal(json_string_value(json_object_get(cap, "method")), "bpf-first-capture");
	assert_string_equal(json_string_value(json_array_get(json_object_get(cap, "notes"), 0)),
			    "the snapshot tool failed");
	t = json_array_get(json_object_get(doc, "threads"), 0);
	assert_int_equal(json_integer_value(json_object_get(t, "tid")), 4243);
	assert_true(json_is_true(json_object_get(t, "faulted")));
	/* The repeated address is folded: two frames, not three. */
	assert_int_equal(json_array_size(json_object_get(t, "frames")), 2);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(t, "registers"), "rip")),
		"0x401000");
	assert_string_equal(classifier(doc, 0), "SIGSEGV");
	assert_string_equal(classifier(doc, 1), "SEGV_MAPERR");
	assert_string_equal(classifier(doc, 2), "null-pointer-dereference");
	json_decref(doc);
}

static void partial_causes_without_a_memory_map(void **state)
{
	struct cw_signal_event ev;
	json_t *doc;

	(void)state;
	/* A local written just above a stack pointer that went past the guard gap. */
	fill(&ev, SIGSEGV, SEGV_MAPERR, 0x7ffd000c, 0x7ffd0000);
	doc = cw_partial_snapshot_json(&ev, NULL, "why", "u-2");
	assert_string_equal(classifier(doc, 2), "stack-overflow");
	json_decref(doc);
	/* Far from the stack: just an invalid access. */
	fill(&ev, SIGSEGV, SEGV_MAPERR, 0x10000000, 0x7ffd0000);
	doc = cw_partial_snapshot_json(&ev, NULL, "why", "u-3");
	assert_string_equal(classifier(doc, 2), "invalid-memory-access");
	json_decref(doc);
	/* At abort()'s entry there is no si_code yet. */
	fill(&ev, SIGABRT, 0, 0, 0x7ffd0000);
	ev.flags |= CW_SIG_AT_ABORT;
	doc = cw_partial_snapshot_json(&ev, NULL, "why", "u-4");
	assert_string_equal(classifier(doc, 0), "SIGABRT");
	assert_string_equal(classifier(doc, 1), "abort");
	assert_true(json_is_null(json_object_get(json_object_get(doc, "signal"), "code")));
	json_decref(doc);
}

static json_t *container(json_t *doc)
{
	return json_object_get(doc, "container");
}

static void partial_container_from_the_kernel_when_the_process_is_gone(void **state)
{
	struct cw_signal_event ev;
	json_t *doc, *c;

	(void)state;
	fill(&ev, SIGSEGV, SEGV_MAPERR, 0, 0x7ffd0000);
	ev.task.start_boottime = 1;	/* no process started then: the crashed one is gone */
	ev.task.cgroup_id = 1ULL << 60; /* no such cgroup (any more) */
	ev.task.pid_ns = 4026532000u;
	ev.task.mnt_ns = 4026532001u;
	doc = cw_partial_snapshot_json(&ev, NULL, "why", "u-5");
	c = container(doc);
	assert_non_null(c);
	assert_int_equal(json_integer_value(json_object_get(c, "cgroup_id")), 1LL << 60);
	assert_int_equal(json_integer_value(json_object_get(c, "pid_ns")), 4026532000u);
	assert_int_equal(json_integer_value(json_object_get(c, "mnt_ns")), 4026532001u);
	assert_true(json_is_null(json_object_get(c, "cgroup")));
	assert_true(json_is_null(json_object_get(c, "runtime")));
	assert_true(json_is_null(json_object_get(c, "id")));
	assert_true(json_is_null(json_object_get(json_object_get(doc, "process"), "cgroup")));
	json_decref(doc);
	/* Its cgroup still exists (this process's): found by the kernel's id, and named. */
	ev.task.cgroup_id = cw_cgroup_id("/");
	doc = cw_partial_snapshot_json(&ev, NULL, "why", "u-9");
	c = container(doc);
	if (ev.task.cgroup_id)
		assert_string_equal(json_string_value(json_object_get(c, "cgroup")), "/");
	json_decref(doc);
	/* An older BPF side: 0 is not known. */
	ev.task.cgroup_id = ev.task.pid_ns = ev.task.mnt_ns = 0;
	doc = cw_partial_snapshot_json(&ev, NULL, "why", "u-6");
	c = container(doc);
	assert_null(json_object_get(c, "cgroup_id"));
	assert_true(json_is_null(json_object_get(c, "pid_ns")));
	assert_true(json_is_null(json_object_get(c, "mnt_ns")));
	json_decref(doc);
}

static void partial_container_from_proc_while_the_process_lives(void **state)
{
	char *text = cw_proc_read_file(AT_FDCWD, "/proc/self/stat", NULL), *cg, *v2;
	struct cw_signal_event ev;
	struct stat pid_ns, mnt_ns;
	uint64_t ticks;
	unsigned flags;
	pid_t ppid;
	json_t *doc, *c;
	char st;

	(void)state;
	assert_non_null(text);
	assert_int_equal(cw_parse_stat(text, &st, &ppid, &flags, &ticks, NULL, 0), 0);
	free(text);
	assert_int_equal(stat("/proc/self/ns/pid", &pid_ns), 0);
	assert_int_equal(stat("/proc/self/ns/mnt", &mnt_ns), 0);
	/* This very process crashed (as the kernel saw it: no namespaces sent). */
	fill(&ev, SIGSEGV, SEGV_MAPERR, 0, 0x7ffd0000);
	ev.task.pid = (unsigned)getpid();
	ev.task.start_boottime = ticks * (1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK));
	doc = cw_partial_snapshot_json(&ev, NULL, "why", "u-7");
	c = container(doc);
	assert_int_equal(json_integer_value(json_object_get(c, "pid_ns")), pid_ns.st_ino);
	assert_int_equal(json_integer_value(json_object_get(c, "mnt_ns")), mnt_ns.st_ino);
	cg = cw_proc_read_file(AT_FDCWD, "/proc/self/cgroup", NULL);
	v2 = cg ? strstr(cg, "0::") : NULL;
	if (v2) {
		v2[strcspn(v2, "\n")] = '\0';
		assert_string_equal(json_string_value(json_object_get(c, "cgroup")), v2 + 3);
		assert_string_equal(json_string_value(json_object_get(
					    json_object_get(doc, "process"), "cgroup")),
				    v2 + 3);
		assert_true(json_integer_value(json_object_get(c, "cgroup_id")) > 0);
	}
	free(cg);
	json_decref(doc);
	/* The same pid, another start time: a process that reused the pid tells nothing. */
	ev.task.start_boottime += 1000000000ULL;
	doc = cw_partial_snapshot_json(&ev, NULL, "why", "u-8");
	c = container(doc);
	assert_true(json_is_null(json_object_get(c, "cgroup")));
	assert_true(json_is_null(json_object_get(c, "pid_ns")));
	json_decref(doc);
}

static void ledger_keeps_one_entry_per_process_and_evicts_the_oldest(void **state)
{
	static struct cw_crash_ledger l;
	struct cw_signal_event ev;
	struct cw_ledger_entry *e;

	(void)state;
	fill(&ev, SIGSEGV, SEGV_MAPERR, 0, 0x7ffd0000);
	e = cw_ledger_note(&l, &ev);
	e->snapshotted = true;
	/* The same process again (held at generation, then delivered): still snapshotted. */
	ev.si_code = 0;
	assert_ptr_equal(cw_ledger_note(&l, &ev), e);
	assert_true(e->snapshotted);
	assert_int_equal(e->ev.si_code, 0);
	assert_null(cw_ledger_find(&l, 4242, 999)); /* another process with a reused pid */
	assert_ptr_equal(cw_ledger_find(&l, 4242, 0), e);
	for (int i = 0; i < CW_LEDGER_SIZE; i++) {
		ev.task.pid = 5000 + (unsigned)i;
		cw_ledger_note(&l, &ev);
	}
	/* 4242 was the oldest: pushed out, and it had its snapshot, so nothing was lost. */
	assert_null(cw_ledger_find(&l, 4242, 0));
	assert_int_equal(l.evicted, 0);
	ev.task.pid = 7000;
	cw_ledger_note(&l, &ev);
	assert_int_equal(l.evicted, 1);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(partial_document_holds_the_faulting_thread),
	cmocka_unit_test(partial_causes_without_a_memory_map),
	cmocka_unit_test(partial_container_from_the_kernel_when_the_process_is_gone),
	cmocka_unit_test(partial_container_from_proc_while_the_process_lives),
	cmocka_unit_test(ledger_keeps_one_entry_per_process_and_evicts_the_oldest),
};

CW_TEST_MAIN(tests)
