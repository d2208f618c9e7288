// SPDX-License-Identifier: MIT
/* The partial snapshot built from the kernel's first capture, and the crash ledger. */
#include "cw_test.h"

#include <signal.h>
#include <string.h>

#include "crash_ledger.h"
#include "event_decode.h"
#include "partial_snapshot.h"

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
	cmocka_unit_test(ledger_keeps_one_entry_per_process_and_evicts_the_oldest),
};

CW_TEST_MAIN(tests)
