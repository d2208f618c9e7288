// SPDX-License-Identifier: MIT
#include "crash_ledger.h"

#include <string.h>

struct cw_ledger_entry *cw_ledger_find(struct cw_crash_ledger *l, pid_t pid,
				       uint64_t start_boottime)
{
	for (size_t i = 0; i < CW_LEDGER_SIZE; i++) {
		struct cw_ledger_entry *e = &l->e[i];

		if (pid > 0 && e->ev.task.pid == (__u32)pid &&
		    (!start_boottime || e->ev.task.start_boottime == start_boottime))
			return e;
	}
	return NULL;
}

struct cw_ledger_entry *cw_ledger_note(struct cw_crash_ledger *l, const struct cw_signal_event *ev)
{
	struct cw_ledger_entry *e = cw_ledger_find(l, (pid_t)ev->task.pid, ev->task.start_boottime);
	struct cw_ledger_entry keep = {0};

	if (e) {
		keep = *e;
	} else {
		e = &l->e[0];
		for (size_t i = 0; i < CW_LEDGER_SIZE; i++) {
			if (!l->e[i].ev.task.pid) {
				e = &l->e[i];
				break;
			}
			if (l->e[i].seq < e->seq)
				e = &l->e[i];
		}
		if (e->ev.task.pid && !e->snapshotted)
			l->evicted++;
	}
	memcpy(&e->ev, ev, sizeof(e->ev));
	e->snapshotted = keep.snapshotted;
	e->holds_in_flight = keep.holds_in_flight;
	e->ended = keep.ended;
	e->seq = ++l->seq;
	return e;
}

void cw_ledger_forget(struct cw_ledger_entry *e)
{
	memset(e, 0, sizeof(*e));
}
