// SPDX-License-Identifier: MIT
#include "admission.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "event_decode.h"
#include "partial_snapshot.h"
#include "snapshot_doc.h"
#include "spool_write.h"

static const char *const why_names[CW_SUPPRESSED_NR] = {
	[CW_SUPPRESSED_DUPLICATE] = "duplicate",
	[CW_SUPPRESSED_RATE_LIMITED] = "rate-limited",
};

void cw_admission_init(struct cw_admission *a, double rate, double burst, double dedup_window_s)
{
	memset(a, 0, sizeof(*a));
	cw_bucket_init(&a->snapshots, rate, burst, cw_monotonic_s());
	a->dedup_window_s = dedup_window_s;
	a->last_flush = cw_monotonic_s();
}

static void print_suppressed(FILE *out, const struct cw_signal_event *ev,
			     const struct cw_signature_entry *e, enum cw_suppressed_why why,
			     const struct cw_format_options *fmt)
{
	char time[48], sig[20];
	const char *on = e->snapshot_uuid[0] ? e->snapshot_uuid : NULL;

	cw_format_time(ev->hdr.ts_ns, time, sizeof(time));
	snprintf(sig, sizeof(sig), "%016" PRIx64, e->sig);
	if (fmt->json) {
		json_t *j = json_object();

		json_object_set_new(j, "type", json_string("suppressed"));
		json_object_set_new(j, "time", json_string(time));
		json_object_set_new(j, "pid", json_integer(ev->task.pid));
		json_object_set_new(j, "tid", json_integer(ev->task.tid));
		json_object_set_new(j, "why", json_string(why_names[why]));
		json_object_set_new(j, "signature", json_string(sig));
		json_object_set_new(j, "counted_on", on ? json_string(on) : json_null());
		json_object_set_new(j, "count", json_integer((json_int_t)e->counts[why]));
		json_dumpf(j, out, JSON_COMPACT);
		fputc('\n', out);
		json_decref(j);
		return;
	}
	fprintf(out,
		"%s suppressed pid=%u tid=%u why=%s signature=%s counted-on=%s count=%" PRIu64 "\n",
		time, ev->task.pid, ev->task.tid, why_names[why], sig, on ? on : "-",
		e->counts[why]);
}

bool cw_admit(struct cw_admission *a, const struct cw_signal_event *ev, enum cw_suppressed_why *why)
{
	double now = cw_monotonic_s();
	struct cw_signature_entry *e;

	if (!ev) {
		if (cw_bucket_take(&a->snapshots, now))
			return true;
		*why = CW_SUPPRESSED_RATE_LIMITED;
		a->unknown_rate_limited++;
		a->suppressed[*why]++;
		return false;
	}
	e = cw_signature_entry(&a->table, cw_crash_signature(ev));
	if (a->dedup_window_s > 0 && e->last_snapshot > 0 &&
	    now - e->last_snapshot < a->dedup_window_s)
		*why = CW_SUPPRESSED_DUPLICATE;
	else if (!cw_bucket_take(&a->snapshots, now))
		*why = CW_SUPPRESSED_RATE_LIMITED;
	else {
		/*
		 * Its snapshot is taken while the next records are read: alike
		 * crashes meanwhile are duplicates of it already.
		 */
		e->last_snapshot = now;
		return true;
	}
	cw_signature_suppress(e, ev, *why, now);
	a->suppressed[*why]++;
	return false;
}

bool cw_admit_request(struct cw_admission *a, double *wait_s)
{
	/* Half the burst, rounded down: with --rate-burst=1, none. */
	double now = cw_monotonic_s(), reserve = (double)(long)(a->snapshots.burst / 2);
	const struct cw_token_bucket *b = &a->snapshots;
	if (cw_bucket_take_above(&a->snapshots, reserve, now)) {
		*wait_s = 0;
		return true;
	}
	/* Until the bucket holds 1 + reserve again. */
	*wait_s = b->rate > 0 ? (1 + reserve - b->tokens) / b->rate - (now - b->last) : 0;
	if (*wait_s < 0.001)
		*wait_s = 0.001;
	return false;
}

void cw_admission_report(struct cw_admission *a, const struct cw_signal_event *ev,
			 enum cw_suppressed_why why, FILE *out, const struct cw_format_options *fmt)
{
	if (ev)
		print_suppressed(out, ev, cw_signature_entry(&a->table, cw_crash_signature(ev)),
				 why, fmt);
}

void cw_admission_snapshotted(struct cw_admission *a, const struct cw_signal_event *ev,
			      const char *path)
{
	struct cw_signature_entry *e = cw_signature_entry(&a->table, cw_crash_signature(ev));
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strcspn(base, ".");
	if (len >= sizeof(e->snapshot_uuid))
		len = sizeof(e->snapshot_uuid) - 1;
	memcpy(e->snapshot_uuid, base, len);
	e->snapshot_uuid[len] = '\0';
	e->last_snapshot = cw_monotonic_s();
}

/*
 * The first suppressed crash's partial document, with the counts: the
 * aggregate object, and as attributes too, since backends show those.
 */
static int write_aggregate(const struct cw_signature_entry *e, struct cw_symbolizer *sym,
			   const char *spool)
{
	uint64_t dup = e->counts[CW_SUPPRESSED_DUPLICATE],
		 lim = e->counts[CW_SUPPRESSED_RATE_LIMITED];
	const char *on = e->snapshot_uuid[0] ? e->snapshot_uuid : NULL;
	char uuid[64], why[160], path[4096], err[512], count[24];
	struct cw_doc_attribute attrs[] = {
		{"crashwatch.aggregate_count", count},
		{"crashwatch.counted_on", on},
	};
	struct cw_doc_aggregate agg = {
		.signature = e->sig,
		.duplicates = dup,
		.rate_limited = lim,
		.counted_on = on,
		.first = cw_boot_timespec(e->example.hdr.ts_ns),
		.last = cw_boot_timespec(e->last_ts_ns),
	};
	/* About 12 KiB: off the watcher's stack. */
	struct cw_partial_doc *p = malloc(sizeof(*p));
	json_t *doc;
	int r;

	if (!p)
		return -ENOMEM;
	snprintf(why, sizeof(why),
		 "an aggregate of %" PRIu64 " crashes alike: %" PRIu64
		 " duplicates of a snapshot, %" PRIu64 " over the rate limit",
		 dup + lim, dup, lim);
	snprintf(count, sizeof(count), "%" PRIu64, dup + lim);
	cw_new_uuid(uuid, sizeof(uuid));
	cw_partial_doc_fill(p, &e->example, sym, why, uuid);
	p->doc.attributes = attrs;
	p->doc.n_attributes = on ? 2 : 1;
	p->doc.aggregate = &agg;
	doc = cw_snapshot_doc_json(&p->doc);
	cw_partial_doc_free(p);
	free(p);
	if (!doc)
		return -ENOMEM;
	r = cw_write_json_atomic(doc, spool, uuid, path, sizeof(path), err, sizeof(err));
	if (r < 0)
		fprintf(stderr,
			"crashwatch: failed to write an aggregate of suppressed crashes: %s\n",
			err);
	json_decref(doc);
	return r;
}

int cw_admission_flush(struct cw_admission *a, struct cw_symbolizer *sym, const char *spool)
{
	int n = 0;

	for (size_t i = 0; i < CW_SIGNATURE_TABLE; i++) {
		struct cw_signature_entry *e = &a->table.e[i];

		if (!e->sig || !e->has_example)
			continue;
		if (write_aggregate(e, sym, spool) == 0)
			n++;
		else
			a->write_failed++;
		e->counts[CW_SUPPRESSED_DUPLICATE] = e->counts[CW_SUPPRESSED_RATE_LIMITED] = 0;
		e->has_example = false;
	}
	a->aggregates_written += (uint64_t)n;
	a->last_flush = cw_monotonic_s();
	return n;
}
