// SPDX-License-Identifier: MIT
#include "crash_signature.h"

#include <string.h>

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t cw_crash_signature(const struct cw_signal_event *ev)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t n = 0;

	h = fnv(h, ev->exe_parts, strnlen(ev->exe_parts, sizeof(ev->exe_parts)));
	h = fnv(h, &ev->sig, sizeof(ev->sig));
	for (__u32 i = 0; i < ev->nr_build_ids && n < CW_SIGNATURE_FRAMES; i++, n++) {
		const struct cw_frame *f = &ev->frames[i];

		if (f->status == CW_FRAME_BUILD_ID) {
			h = fnv(h, f->build_id, sizeof(f->build_id));
			h = fnv(h, &f->addr, sizeof(f->addr));
		} else {
			h = fnv(h, &f->status, sizeof(f->status));
		}
	}
	return h ? h : 1;
}

/* When the entry was last of use: its last snapshot or suppressed crash. */
static double last_use(const struct cw_signature_entry *e)
{
	return e->last_snapshot > e->last_suppressed ? e->last_snapshot : e->last_suppressed;
}

struct cw_signature_entry *cw_signature_entry(struct cw_signature_table *t, uint64_t sig)
{
	struct cw_signature_entry *free_e = NULL, *oldest = &t->e[0];

	for (size_t i = 0; i < CW_SIGNATURE_TABLE; i++) {
		struct cw_signature_entry *e = &t->e[i];

		if (e->sig == sig)
			return e;
		if (!e->sig && !free_e)
			free_e = e;
		if (last_use(e) < last_use(oldest))
			oldest = e;
	}
	if (!free_e) {
		free_e = oldest;
		t->evicted += free_e->counts[CW_SUPPRESSED_DUPLICATE] +
			      free_e->counts[CW_SUPPRESSED_RATE_LIMITED];
	}
	memset(free_e, 0, sizeof(*free_e));
	free_e->sig = sig;
	return free_e;
}

void cw_signature_suppress(struct cw_signature_entry *e, const struct cw_signal_event *ev,
			   enum cw_suppressed_why why, double now)
{
	if (!e->counts[CW_SUPPRESSED_DUPLICATE] && !e->counts[CW_SUPPRESSED_RATE_LIMITED]) {
		e->first_suppressed = now;
		memcpy(&e->example, ev, sizeof(e->example));
		e->has_example = true;
	}
	e->counts[why]++;
	e->last_suppressed = now;
	e->last_ts_ns = ev->hdr.ts_ns;
}
