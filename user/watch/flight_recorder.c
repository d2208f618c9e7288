// SPDX-License-Identifier: MIT
#include "flight_recorder.h"

#include "counter_sink.h"
#include "timeline_compact.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Until when a record says something: an open-ended interval (end 0) for as long as it is kept. */
static uint64_t last_ns(const struct cw_tl_record *r)
{
	return r->hdr.kind == CW_TL_OFF_CPU && !r->end_ns ? UINT64_MAX : r->end_ns;
}

static const struct cw_tl_record *at(const struct cw_flight_recorder *f, size_t i)
{
	return f->v[(f->first + i) % f->cap];
}

static void forget_first(struct cw_flight_recorder *f)
{
	void *c = f->v[f->first];

	f->bytes -= cw_tl_compact_size(c);
	free(c);
	f->first = (f->first + 1) % f->cap;
	f->n--;
}

static int grow(struct cw_flight_recorder *f)
{
	size_t cap = f->cap ? f->cap * 2 : 4096;
	void **v = malloc(cap * sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++)
		v[i] = f->v[(f->first + i) % f->cap];
	free(f->v);
	f->v = v;
	f->cap = cap;
	f->first = 0;
	return 0;
}

/* Keep r; forget what is older than the window, and the oldest past the size bound. */
static int keep(void *ctx, const struct cw_tl_record *r)
{
	struct cw_flight_recorder *f = ctx;
	size_t size = cw_tl_compact_size(r);
	uint64_t now = r->end_ns ? r->end_ns : r->hdr.ts_ns;
	void *c;

	if (size > f->max_bytes)
		return 0;
	/* Oldest first: the ring is in arrival order (an open-ended interval waits for the bound).
	 */
	while (f->n &&
	       ((last_ns(at(f, 0)) != UINT64_MAX && last_ns(at(f, 0)) + f->window_ns < now) ||
		f->bytes + size > f->max_bytes)) {
		if (f->bytes + size > f->max_bytes)
			f->forgotten_full++;
		forget_first(f);
	}
	if (f->n == f->cap && grow(f) < 0)
		return 0;
	c = cw_tl_compact(r);
	if (!c)
		return 0;
	f->v[(f->first + f->n) % f->cap] = c;
	f->n++;
	f->bytes += size;
	f->kept++;
	if (f->bytes > f->peak_bytes)
		f->peak_bytes = f->bytes;
	return 0;
}

int cw_flight_start(struct cw_flight_recorder *f, double seconds, uint64_t max_bytes,
		    const struct cw_scope *scope)
{
	struct cw_tl_recorder_options o = {
		.hz = CW_TL_DEFAULT_HZ,
		.stack_bytes = CW_TL_DEFAULT_STACK_BYTES,
		.ringbuf_bytes = 8U << 20,
		.all = true,
		.view_pidns = scope->sidecar ? scope->pidns : 0,
		.cgroup_ids = scope->cgroup_ids,
		.n_cgroups = scope->n_cgroups,
	};
	int err;

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->hz = o.hz;
	f->window_ns = (uint64_t)(seconds * 1e9);
	f->max_bytes = max_bytes ? max_bytes : CW_FLIGHT_DEFAULT_BYTES;
	f->flush_by_pid = !scope->sidecar;
	f->started = true;
	err = cw_tl_recorder_start(&f->rec, &o, keep, f);
	if (err < 0)
		return err;
	/* Threads already waiting are in the timeline from the start. */
	err = cw_tl_recorder_seed(&f->rec, 0);
	if (err < 0)
		fprintf(stderr,
			"crashwatch: failed to read the threads already waiting for the flight "
			"recorder: %s, ignoring\n",
			strerror(-err));
	return 0;
}

int cw_flight_fd(const struct cw_flight_recorder *f)
{
	return cw_tl_recorder_fd(&f->rec);
}

int cw_flight_consume(struct cw_flight_recorder *f)
{
	int r;

	pthread_mutex_lock(&f->lock);
	r = cw_tl_recorder_consume(&f->rec);
	pthread_mutex_unlock(&f->lock);
	return r;
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int cw_flight_write_timeline(struct cw_flight_recorder *f, pid_t pid, const char *dir, char *path,
			     size_t cap)
{
	struct cw_tl_json_options jo = {.hz = f->hz, .state_frames = CW_TL_FRAMES_ROOT};
	struct cw_tl_record **recs = NULL;
	struct cw_tl_json_stats st;
	uint64_t started = 0;
	size_t n = 0;
	FILE *out;
	int err = 0, fd;

	pthread_mutex_lock(&f->lock);
	/* The intervals its threads are in now (stopped where they crashed), then all that came. */
	cw_tl_recorder_flush(&f->rec, f->flush_by_pid ? pid : 0);
	jo.end_ns = boottime_ns();
	jo.start_ns = jo.end_ns > f->window_ns ? jo.end_ns - f->window_ns : 0;
	/* A pid used again within the window: the process that has it now started last. */
	for (size_t i = 0; i < f->n; i++)
		if (at(f, i)->pid == (uint32_t)pid && at(f, i)->start_boottime > started)
			started = at(f, i)->start_boottime;
	recs = malloc((f->n ? f->n : 1) * sizeof(*recs));
	for (size_t i = 0; recs && i < f->n; i++) {
		const struct cw_tl_record *r = at(f, i);

		if (r->pid != (uint32_t)pid || r->start_boottime != started ||
		    last_ns(r) < jo.start_ns)
			continue;
		if (!(recs[n] = cw_tl_expand(r)))
			break;
		n++;
	}
	pthread_mutex_unlock(&f->lock);
	if (!recs) {
		err = -ENOMEM;
		goto out;
	}
	if (!n) {
		err = -ENOENT;
		goto out;
	}
	snprintf(path, cap, "%s/.timeline-%d-%" PRIu64 ".json", dir, (int)pid, jo.end_ns);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!out) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	err = cw_tl_write_json(out, (const struct cw_tl_record *const *)recs, n, &jo, &st);
	if (fclose(out) != 0 && !err)
		err = -EIO;
	if (err)
		unlink(path);
out:
	for (size_t i = 0; i < n; i++)
		free(recs[i]);
	free(recs);
	pthread_mutex_lock(&f->lock);
	if (err)
		f->timeline_failed++;
	else
		f->timelines++;
	pthread_mutex_unlock(&f->lock);
	if (err)
		path[0] = '\0';
	return err;
}

void cw_flight_emit_counters(struct cw_flight_recorder *f, struct cw_counter_sink *s)
{
	uint64_t c[CW_TL_NR_COUNTERS] = {0};
	uint64_t n, bytes, peak, forgotten, timelines, failed;

	if (!f->started)
		return;
	pthread_mutex_lock(&f->lock);
	cw_tl_recorder_counters(&f->rec, c);
	n = f->n;
	bytes = f->bytes;
	peak = f->peak_bytes;
	forgotten = f->forgotten_full;
	timelines = f->timelines;
	failed = f->timeline_failed;
	pthread_mutex_unlock(&f->lock);
	cw_sink_gauge(s, "flight_records", "Timeline records the flight recorder keeps now.", n);
	cw_sink_gauge(s, "flight_bytes", "Bytes the flight recorder's records take now.", bytes);
	cw_sink_gauge(s, "flight_bytes_peak", "The most bytes the flight recorder's records took.",
		      peak);
	cw_sink_counter(s, "flight_forgotten_full",
			"Records forgotten early: --flight-recorder-size was reached.", forgotten);
	cw_sink_counter(s, "flight_lost", "Timeline records the kernel could not send.",
			c[CW_TL_CNT_DROPPED]);
	cw_sink_counter(s, "flight_timelines", "Crash timelines written beside snapshots.",
			timelines);
	cw_sink_counter(s, "flight_timeline_failed", "Crash timelines that could not be written.",
			failed);
	cw_sink_counter(s, "flight_open_ended",
			"Off-CPU intervals sent open-ended: no task storage for the thread.",
			c[CW_TL_CNT_NO_STORAGE]);
	cw_sink_counter(
		s, "flight_unseen_switch_in",
		"Off-CPU intervals whose switch in went unseen, ended at the next switch out.",
		c[CW_TL_CNT_END_UNSEEN]);
	cw_sink_counter(s, "flight_walks_reused",
			"Switches out where the thread blocked as it last did: its stack walk "
			"reused.",
			c[CW_TL_CNT_WALK_REUSED]);
}

void cw_flight_stop(struct cw_flight_recorder *f)
{
	if (!f->started)
		return;
	cw_tl_recorder_stop(&f->rec);
	while (f->n)
		forget_first(f);
	free(f->v);
	pthread_mutex_destroy(&f->lock);
	memset(f, 0, sizeof(*f));
}
