// SPDX-License-Identifier: MIT
#include "timeline_json.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbolize.h"
#include "timeline_unwind.h"

static const char *const state_names[CW_TL_NR_STATES] = {
	[CW_TL_RUNNING] = "running", [CW_TL_RUNNABLE] = "runnable", [CW_TL_SLEEPING] = "sleeping",
	[CW_TL_DISK] = "disk",	     [CW_TL_STOPPED] = "stopped",
};

const char *cw_tl_state_name(enum cw_tl_state s)
{
	return (unsigned)s < CW_TL_NR_STATES ? state_names[s] : "unknown";
}

int cw_tl_parse_state_frames(const char *s, enum cw_tl_state_frames *out)
{
	if (strcmp(s, "root") == 0)
		*out = CW_TL_FRAMES_ROOT;
	else if (strcmp(s, "leaf") == 0)
		*out = CW_TL_FRAMES_LEAF;
	else if (strcmp(s, "no") == 0)
		*out = CW_TL_FRAMES_NO;
	else
		return -EINVAL;
	return 0;
}

/* A frame's name, JSON-encoded (quotes included), by process and pc. */
struct name_entry {
	uint64_t key; /* pc << 1 | return address; 0 empty */
	uint32_t pid;
	char *json;
};

struct names {
	struct name_entry *v;
	size_t cap, n;
};

static void names_clear(struct names *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->v[i].json);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static char *json_quote(const char *s)
{
	json_t *j = json_string(s);
	char *out = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	return out;
}

static struct name_entry *names_slot(struct names *t, uint32_t pid, uint64_t key)
{
	size_t i = (size_t)((key ^ (uint64_t)pid << 40) * 0x9E3779B97F4A7C15ULL) & (t->cap - 1);

	while (t->v[i].key && (t->v[i].key != key || t->v[i].pid != pid))
		i = (i + 1) & (t->cap - 1);
	return &t->v[i];
}

static int names_grow(struct names *t)
{
	struct names bigger = {.cap = t->cap ? t->cap * 2 : 1024};

	bigger.v = calloc(bigger.cap, sizeof(*bigger.v));
	if (!bigger.v)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->v[i].key)
			*names_slot(&bigger, t->v[i].pid, t->v[i].key) = t->v[i];
	bigger.n = t->n;
	free(t->v);
	*t = bigger;
	return 0;
}

static const char *frame_name(struct names *t, struct cw_symbolizer *sym,
			      struct cw_tl_unwinder *unw, uint32_t pid, uint64_t pc, bool ret)
{
	const char *fn;
	uint64_t key = pc << 1 | ret;
	struct name_entry *e;
	struct cw_symbol s;
	char buf[512];

	if ((t->n + 1) * 2 > t->cap && names_grow(t) < 0)
		return NULL;
	e = names_slot(t, pid, key);
	if (e->key)
		return e->json;
	cw_symbolize(sym, NULL, pc, ret, &s);
	fn = s.function ? s.function : !s.module ? cw_tl_unwinder_function(unw, pc, ret) : NULL;
	if (fn) {
		e->json = json_quote(fn);
	} else {
		if (s.module) {
			const char *base = strrchr(s.module, '/');

			snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, base ? base + 1 : s.module,
				 s.module_offset);
		} else {
			snprintf(buf, sizeof(buf), "0x%" PRIx64, pc);
		}
		e->json = json_quote(buf);
	}
	if (!e->json)
		return NULL;
	e->key = key;
	e->pid = pid;
	t->n++;
	return e->json;
}

struct event {
	uint64_t ts;
	uint32_t pid, tid;
	char ph; /* 'B', 'E' or 'i' */
	const char *name;
	const char *args; /* 'i': the instant's */
	size_t seq;	  /* the order it was made in, for a stable sort */
};

struct writer {
	const struct cw_tl_json_options *o;
	uint64_t period;
	struct event *ev;
	size_t n_ev, cap_ev;
	const char *state_json[CW_TL_NR_STATES];
	int err;
};

static void add_event(struct writer *w, uint64_t ts, uint32_t pid, uint32_t tid, char ph,
		      const char *name)
{
	if (w->n_ev == w->cap_ev) {
		size_t cap = w->cap_ev ? w->cap_ev * 2 : 4096;
		struct event *nv = realloc(w->ev, cap * sizeof(*nv));

		if (!nv) {
			w->err = -ENOMEM;
			return;
		}
		w->ev = nv;
		w->cap_ev = cap;
	}
	w->ev[w->n_ev] = (struct event){
		.ts = ts, .pid = pid, .tid = tid, .ph = ph, .name = name, .seq = w->n_ev};
	w->n_ev++;
}

static int by_time_then_seq(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * A thread's instants after its slices, all from w->ev[from]: in time order
 * among them, a slice's ends and begins at the same time first.
 */
static void thread_instants(struct writer *w, size_t from, const struct cw_tl_instant *const *ins,
			    size_t n)
{
	for (size_t i = 0; i < n && !w->err; i++) {
		add_event(w, ins[i]->ts_ns, ins[i]->pid, ins[i]->tid, 'i', ins[i]->name);
		if (!w->err)
			w->ev[w->n_ev - 1].args = ins[i]->args;
	}
	if (n && !w->err)
		qsort(w->ev + from, w->n_ev - from, sizeof(*w->ev), by_time_then_seq);
}

/* A stack, root first, the state frame where asked. */
struct stack {
	const char *f[CW_TL_UNWIND_MAX + 1];
	size_t n;
};

/* Slices from open to cur at ts: fgtrace's diff, from the root. */
static void diff(struct writer *w, uint32_t pid, uint32_t tid, uint64_t ts,
		 const struct stack *open, const struct stack *cur)
{
	size_t common = 0;

	/* By name, as fgtrace: two pcs in one function are one frame. */
	while (common < open->n && common < cur->n &&
	       (open->f[common] == cur->f[common] || strcmp(open->f[common], cur->f[common]) == 0))
		common++;
	for (size_t i = open->n; i > common; i--)
		add_event(w, ts, pid, tid, 'E', open->f[i - 1]);
	for (size_t i = common; i < cur->n; i++)
		add_event(w, ts, pid, tid, 'B', cur->f[i]);
}

/*
 * Goroutine tracks: tids from here up, above any a thread can have (the
 * kernel's PID_MAX_LIMIT is 1 << 22) and below 1 << 31.
 */
#define GOROUTINE_TIDS (1u << 30)

/* The track a record is on: its goroutine's, else its thread's. */
static uint32_t track_of(const struct cw_tl_record *r)
{
	return r->goid && r->goid < GOROUTINE_TIDS ? GOROUTINE_TIDS + (uint32_t)r->goid : r->tid;
}

static int by_thread_then_time(const void *a, const void *b)
{
	const struct cw_tl_record *x = *(const struct cw_tl_record *const *)a;
	const struct cw_tl_record *y = *(const struct cw_tl_record *const *)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (track_of(x) != track_of(y))
		return track_of(x) < track_of(y) ? -1 : 1;
	if (x->hdr.ts_ns != y->hdr.ts_ns)
		return x->hdr.ts_ns < y->hdr.ts_ns ? -1 : 1;
	/* The same interval sent twice (a flush, then its end): the longer last. */
	return x->end_ns < y->end_ns ? -1 : x->end_ns > y->end_ns;
}

/* One thread's records, recs[0..n), sorted: its slices, and its name. */
static void thread_slices(struct writer *w, const struct cw_tl_record *const *recs, size_t n,
			  struct names *names, struct cw_symbolizer *sym,
			  struct cw_tl_unwinder *unw)
{
	const struct cw_tl_json_options *o = w->o;
	struct stack open = {.n = 0}, cur;
	uint64_t open_until = 0;
	uint64_t pcs[CW_TL_UNWIND_MAX];
	uint32_t pid = recs[0]->pid, tid = track_of(recs[0]);

	for (size_t i = 0; i < n && !w->err; i++) {
		const struct cw_tl_record *r = recs[i];
		uint64_t start = r->hdr.ts_ns > o->start_ns ? r->hdr.ts_ns : o->start_ns;
		/*
		 * A sample stands until the next one is late (two periods), an
		 * interval a period past its end; one whose end is not known until
		 * the thread's next record.
		 */
		uint64_t until = r->hdr.kind == CW_TL_ON_CPU ? r->hdr.ts_ns + 2 * w->period
				 : r->end_ns		     ? r->end_ns + w->period
							     : UINT64_MAX;
		size_t np;

		/* A record sent again with a later end: the later one says it. */
		if (i + 1 < n && recs[i + 1]->hdr.ts_ns == r->hdr.ts_ns &&
		    recs[i + 1]->hdr.kind == r->hdr.kind)
			continue;
		if (i + 1 < n && recs[i + 1]->hdr.ts_ns < until)
			until = recs[i + 1]->hdr.ts_ns;
		if (until > o->end_ns)
			until = o->end_ns;
		if (until <= start)
			continue;
		np = cw_tl_unwind(unw, r, pcs, CW_TL_UNWIND_MAX);
		cur.n = 0;
		if (o->state_frames == CW_TL_FRAMES_ROOT)
			cur.f[cur.n++] = w->state_json[r->state];
		for (size_t k = np; k > 0; k--) {
			const char *f = frame_name(names, sym, unw, pid, pcs[k - 1], k > 1);

			if (!f) {
				w->err = -ENOMEM;
				return;
			}
			cur.f[cur.n++] = f;
		}
		if (o->state_frames == CW_TL_FRAMES_LEAF)
			cur.f[cur.n++] = w->state_json[r->state];
		if (open.n && open_until < start) {
			struct stack none = {.n = 0};

			diff(w, pid, tid, open_until, &open, &none);
			open.n = 0;
		}
		diff(w, pid, tid, start, &open, &cur);
		open = cur;
		open_until = until;
	}
	if (open.n) {
		struct stack none = {.n = 0};

		diff(w, pid, tid, open_until, &open, &none);
	}
}

static int instant_by_thread_then_time(const void *a, const void *b)
{
	const struct cw_tl_instant *x = *(const struct cw_tl_instant *const *)a;
	const struct cw_tl_instant *y = *(const struct cw_tl_instant *const *)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

/* The process's name now; when gone, its main thread's in the records or the instants. */
static void process_name(pid_t pid, const struct cw_tl_record *const *recs, size_t n,
			 const struct cw_tl_instant *const *ins, size_t ni, char *out, size_t cap)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (f) {
		bool ok = fgets(out, (int)cap, f) != NULL;

		fclose(f);
		if (ok) {
			out[strcspn(out, "\n")] = '\0';
			return;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (recs[i]->tid == (uint32_t)pid) {
			snprintf(out, cap, "%.*s", CW_COMM_LEN, recs[i]->comm);
			return;
		}
	for (size_t i = 0; i < ni; i++)
		if (ins[i]->tid == (uint32_t)pid) {
			snprintf(out, cap, "%.*s", CW_COMM_LEN, ins[i]->comm);
			return;
		}
	snprintf(out, cap, "pid %d", (int)pid);
}

static int write_meta(FILE *out, const char *name, uint32_t pid, uint32_t tid, const char *value)
{
	char *v = json_quote(value);
	int r;

	if (!v)
		return -ENOMEM;
	if (tid)
		r = fprintf(out,
			    ",{\"name\":\"%s\",\"ph\":\"M\",\"ts\":0,\"pid\":%u,\"tid\":%u,"
			    "\"args\":{\"name\":%s}}\n",
			    name, pid, tid, v);
	else
		r = fprintf(out,
			    ",{\"name\":\"%s\",\"ph\":\"M\",\"ts\":0,\"pid\":%u,"
			    "\"args\":{\"name\":%s}}\n",
			    name, pid, v);
	free(v);
	return r < 0 ? -EIO : 0;
}

int cw_tl_write_json(FILE *out, const struct cw_tl_record *const *recs_in, size_t n,
		     const struct cw_tl_json_options *o, struct cw_tl_json_stats *stats)
{
	struct writer w = {.o = o, .period = 1000000000ULL / (o->hz ? o->hz : 99)};
	const struct cw_tl_record **recs = NULL;
	const struct cw_tl_instant **ins = NULL;
	struct cw_symbolizer *sym = cw_symbolizer_new();
	struct names names = {0};
	size_t ni = 0;
	int err = 0;

	memset(stats, 0, sizeof(*stats));
	recs = malloc((n ? n : 1) * sizeof(*recs));
	ins = malloc((o->n_instants ? o->n_instants : 1) * sizeof(*ins));
	if (!recs || !ins || !sym) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < CW_TL_NR_STATES; i++)
		if (!(w.state_json[i] = json_quote(cw_tl_state_name(i)))) {
			err = -ENOMEM;
			goto out;
		}
	if (n)
		memcpy(recs, recs_in, n * sizeof(*recs));
	qsort(recs, n, sizeof(*recs), by_thread_then_time);
	for (size_t i = 0; i < o->n_instants; i++)
		if (o->instants[i].ts_ns >= o->start_ns && o->instants[i].ts_ns <= o->end_ns)
			ins[ni++] = &o->instants[i];
	qsort(ins, ni, sizeof(*ins), instant_by_thread_then_time);
	cw_symbolizer_source_lines(sym, false);

	if (fprintf(out, "[{\"name\":\"hz\",\"ph\":\"M\",\"ts\":0,\"args\":{\"hz\":%u}}\n", o->hz) <
	    0) {
		err = -EIO;
		goto out;
	}
	/* Process by process, thread by thread: those of the records and of the instants. */
	for (size_t p = 0, q = 0; (p < n || q < ni) && !w.err && !err;) {
		uint32_t pid = p < n && (q == ni || recs[p]->pid <= ins[q]->pid) ? recs[p]->pid
										 : ins[q]->pid;
		size_t pe = p, qe = q;
		char exe[4096], path[64], pname[64];
		struct cw_tl_unwinder *unw = NULL;
		ssize_t len;

		while (pe < n && recs[pe]->pid == pid)
			pe++;
		while (qe < ni && ins[qe]->pid == pid)
			qe++;
		if (pe > p) {
			snprintf(path, sizeof(path), "/proc/%u/exe", pid);
			len = readlink(path, exe, sizeof(exe) - 1);
			exe[len > 0 ? len : 0] = '\0';
			cw_symbolizer_begin(sym, (pid_t)pid, recs[p]->start_boottime, exe);
			unw = cw_tl_unwinder_new((pid_t)pid);
		}
		process_name((pid_t)pid, recs + p, pe - p, ins + q, qe - q, pname, sizeof(pname));
		err = write_meta(out, "process_name", pid, 0, pname);
		stats->processes++;
		for (size_t t = p, u = q; (t < pe || u < qe) && !w.err && !err;) {
			uint32_t tid = t < pe && (u == qe || track_of(recs[t]) <= ins[u]->tid)
					       ? track_of(recs[t])
					       : ins[u]->tid;
			size_t te = t, ue = u, before = w.n_ev;
			char tname[32];

			while (te < pe && track_of(recs[te]) == tid)
				te++;
			while (ue < qe && ins[ue]->tid == tid)
				ue++;
			if (te > t)
				thread_slices(&w, recs + t, te - t, &names, sym, unw);
			thread_instants(&w, before, ins + u, ue - u);
			stats->instants += ue - u;
			if (w.n_ev > before) {
				if (tid >= GOROUTINE_TIDS)
					snprintf(tname, sizeof(tname), "goroutine %u",
						 tid - GOROUTINE_TIDS);
				else
					snprintf(tname, sizeof(tname), "%.*s", CW_COMM_LEN,
						 te > t ? recs[te - 1]->comm : ins[ue - 1]->comm);
				err = write_meta(out, "thread_name", pid, tid, tname);
				if (tid >= GOROUTINE_TIDS)
					stats->goroutines++;
				else
					stats->threads++;
			}
			t = te;
			u = ue;
		}
		cw_tl_unwinder_free(unw);
		p = pe;
		q = qe;
	}
	if (!err)
		err = w.err;
	if (err)
		goto out;
	/*
	 * Thread after thread, each in time order: the format does not ask for
	 * one order over all, and a reader that matches B and E on one stack
	 * for the whole trace (DevTools' trace engine) then pairs them right.
	 */
	for (size_t i = 0; i < w.n_ev; i++) {
		const struct event *e = &w.ev[i];
		uint64_t rel = e->ts - o->start_ns;
		int r;

		if (e->ph == 'i')
			r = fprintf(out,
				    ",{\"name\":%s,\"cat\":\"usdt\",\"ph\":\"I\",\"s\":\"t\","
				    "\"ts\":%" PRIu64 ".%03u,\"pid\":%u,\"tid\":%u,\"args\":%s}\n",
				    e->name, rel / 1000, (unsigned)(rel % 1000), e->pid, e->tid,
				    e->args);
		else
			r = fprintf(out,
				    ",{\"name\":%s,\"ph\":\"%c\",\"ts\":%" PRIu64
				    ".%03u,\"pid\":%u,\"tid\":%u}\n",
				    e->name, e->ph, rel / 1000, (unsigned)(rel % 1000), e->pid,
				    e->tid);
		if (r < 0) {
			err = -EIO;
			goto out;
		}
	}
	stats->events = w.n_ev;
	if (fputs("]\n", out) < 0 || fflush(out) != 0)
		err = -EIO;
out:
	names_clear(&names);
	for (int i = 0; i < CW_TL_NR_STATES; i++)
		free((char *)w.state_json[i]);
	free(w.ev);
	free(ins);
	free(recs);
	cw_symbolizer_free(sym);
	return err;
}
