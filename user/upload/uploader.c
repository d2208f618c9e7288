// SPDX-License-Identifier: MIT
#include "uploader.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crash_index.h"
#include "spool.h"
#include "spool_doc.h"

double cw_backoff_s(unsigned failures, double unit_random)
{
	double d = CW_BACKOFF_FIRST_S;

	for (unsigned i = 1; i < failures && d < CW_BACKOFF_MAX_S; i++)
		d *= 2;
	if (d > CW_BACKOFF_MAX_S)
		d = CW_BACKOFF_MAX_S;
	/* Jitter: many hosts that lost the backend together do not come back together. */
	return d * (0.5 + 0.5 * unit_random);
}

static double unit_random(void)
{
	unsigned r;
	FILE *f = fopen("/dev/urandom", "re");

	if (!f || fread(&r, sizeof(r), 1, f) != 1)
		r = (unsigned)rand();
	if (f)
		fclose(f);
	return (double)r / (double)0xffffffffU;
}

/* Where uploads go, for the index: no token, no key, no path. */
static const char *where(const struct cw_upload_target *t, char *out, size_t cap)
{
	static const char *const kinds[] = {
		[CW_UPLOAD_GENERIC] = "generic",
		[CW_UPLOAD_SENTRY] = "sentry",
		[CW_UPLOAD_BACKTRACE] = "backtrace",
	};

	cw_index_where(kinds[t->kind], t->url, out, cap);
	return out;
}

/* The flight recorder's timeline beside a snapshot; at most this much is sent. */
#define MAX_TIMELINE_BYTES (64 << 20)

/*
 * The timeline the document names, when it is the one beside it
 * (<uuid>.timeline.json, a regular file): its bytes (malloc'd) in att.
 */
static char *read_timeline(const char *spool, const char *name, const json_t *doc,
			   struct cw_upload_attachment *att)
{
	const char *file =
		json_string_value(json_object_get(json_object_get(doc, "timeline"), "file"));
	char expect[256], path[4096], *data = NULL;
	struct stat st;
	FILE *f;

	cw_spool_timeline_name(name, expect, sizeof(expect));
	if (!file || strcmp(file, expect) != 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", spool, file);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size <= MAX_TIMELINE_BYTES && (data = malloc((size_t)st.st_size))) {
		if (fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
			free(data);
			data = NULL;
		}
	}
	fclose(f);
	if (data)
		*att = (struct cw_upload_attachment){.filename = "timeline.json",
						     .content_type = "application/json",
						     .data = data,
						     .len = (size_t)st.st_size};
	return data;
}

/* One file: 0 done (uploaded or moved to failed/), 1 retry later or stopped. */
static int upload_file(struct cw_uploader *u, const char *name)
{
	char why[400], to[512];
	struct cw_upload_answer a;
	json_t *doc;
	int r;

	/* Nothing is sent with the token that crashwatch cannot have written. */
	r = cw_spool_doc_read(u->spool, name, &doc, why, sizeof(why));
	if (r == -ENOENT)
		return 0; /* gone meanwhile (the spool bound dropped it) */
	if (r < 0) {
		snprintf(a.reason, sizeof(a.reason), "not sent: %s", why);
		a.verdict = CW_UPLOAD_FAIL;
		a.status = 0;
	} else {
		struct cw_upload_attachment att = {0};
		char *timeline = read_timeline(u->spool, name, doc, &att);

		cw_upload_send(&u->conn, u->target, doc, timeline ? &att : NULL, &a);
		free(timeline);
		json_decref(doc);
	}
	switch (a.verdict) {
	case CW_UPLOAD_DONE:
		/* Kept (bounded) in uploaded/ for `crashwatch show`; the index says where it went.
		 */
		r = cw_index_uploaded(u->spool, name, where(u->target, to, sizeof(to)));
		if (r < 0)
			fprintf(stderr,
				"crashwatch: failed to record the upload of %s in %s/%s: %s; "
				"`crashwatch list` will not say it was uploaded, ignoring\n",
				name, u->spool, CW_INDEX_FILE, strerror(-r));
		/* Its timeline is not kept: the upload carried it. */
		cw_spool_remove(u->spool, name);
		u->uploaded++;
		u->failures = 0;
		if (u->verbose)
			fprintf(stderr, "crashwatch: uploaded %s (HTTP %ld)\n", name, a.status);
		return 0;
	case CW_UPLOAD_FAIL:
		u->refused++;
		fprintf(stderr, "crashwatch: upload of %s refused, moved to %s/failed: %s\n", name,
			u->spool, a.reason);
		if (cw_spool_fail(u->spool, name, a.reason) < 0)
			cw_spool_remove(u->spool, name); /* never retry a refused file forever */
		return 0;
	case CW_UPLOAD_STOPPED:
		/* Not a failure of the backend: no backoff, no retry counted. */
		fprintf(stderr,
			"crashwatch: upload of %s stopped: it stays in %s for the next run\n", name,
			u->spool);
		return 1;
	case CW_UPLOAD_RETRY:
		break;
	}
	u->retries++;
	u->failures++;
	u->not_before =
		cw_monotonic_s() +
		(a.retry_after > 0 ? a.retry_after : cw_backoff_s(u->failures, unit_random()));
	fprintf(stderr, "crashwatch: upload of %s will be retried in %.1f s: %s\n", name,
		u->not_before - cw_monotonic_s(), a.reason);
	return 1;
}

int cw_uploader_open(struct cw_uploader *u)
{
	return cw_upload_conn_open(&u->conn, &u->aborting);
}

void cw_uploader_close(struct cw_uploader *u)
{
	cw_upload_conn_close(&u->conn);
}

int cw_uploader_pass(struct cw_uploader *u)
{
	struct cw_spool_file *files;
	size_t n;
	int r;

	if (atomic_load(&u->aborting) || cw_monotonic_s() < u->not_before)
		return 1;
	r = cw_spool_list(u->spool, &files, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (atomic_load(&u->aborting) || !cw_bucket_take(&u->bucket, cw_monotonic_s()) ||
		    upload_file(u, files[i].name) > 0) {
			r = 1;
			break;
		}
	}
	free(files);
	return r;
}

static void *uploader_main(void *arg)
{
	struct cw_uploader *u = arg;

	pthread_mutex_lock(&u->lock);
	while (!u->stop) {
		uint64_t seen = u->kicks;
		struct timespec until;
		double wait;
		int r;

		pthread_mutex_unlock(&u->lock);
		r = cw_uploader_pass(u);
		pthread_mutex_lock(&u->lock);
		u->passes_done = seen;
		pthread_cond_broadcast(&u->cond);
		if (u->stop || u->kicks != seen)
			continue;
		if (atomic_load(&u->aborting)) { /* nothing more to do until the join */
			pthread_cond_wait(&u->cond, &u->lock);
			continue;
		}
		/* Sleep until the backoff or the bucket allow again, or a new snapshot. */
		wait = r == 1 ? u->not_before - cw_monotonic_s() : 30;
		if (r == 1 && wait <= 0)
			wait = cw_bucket_wait(&u->bucket, cw_monotonic_s());
		if (wait < 0.05)
			wait = 0.05;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)wait;
		until.tv_nsec += (long)((wait - floor(wait)) * 1e9);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&u->cond, &u->lock, &until);
	}
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

int cw_uploader_start(struct cw_uploader *u)
{
	int r;

	r = cw_uploader_open(u);
	if (r < 0)
		return r;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	u->kicks = 1; /* the first pass uploads what a previous run left */
	r = pthread_create(&u->thread, NULL, uploader_main, u);
	if (r) {
		pthread_cond_destroy(&u->cond);
		pthread_mutex_destroy(&u->lock);
		cw_uploader_close(u);
		return -r;
	}
	u->running = true;
	return 0;
}

void cw_uploader_kick(struct cw_uploader *u)
{
	if (!u->running)
		return;
	pthread_mutex_lock(&u->lock);
	u->kicks++;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

bool cw_uploader_wait(struct cw_uploader *u, double timeout_s)
{
	double until = cw_monotonic_s() + timeout_s;
	bool done;

	if (!u->running)
		return true;
	pthread_mutex_lock(&u->lock);
	while (!(done = u->passes_done >= u->kicks) && !atomic_load(&u->aborting) &&
	       cw_monotonic_s() < until) {
		struct timespec t;

		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 50000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&u->cond, &u->lock, &t);
	}
	pthread_mutex_unlock(&u->lock);
	return done || atomic_load(&u->aborting);
}

void cw_uploader_abort(struct cw_uploader *u)
{
	atomic_store(&u->aborting, true);
	if (!u->running)
		return;
	cw_upload_conn_wake(&u->conn);
	pthread_mutex_lock(&u->lock);
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

void cw_uploader_stop(struct cw_uploader *u)
{
	if (!u->running)
		return;
	pthread_mutex_lock(&u->lock);
	u->stop = true;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	pthread_join(u->thread, NULL);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	cw_uploader_close(u);
	u->running = false;
}

void cw_upload_emit_counters(const struct cw_uploader *u, struct cw_counter_sink *s)
{
	static const char help[] = "Uploads: ok (the backend took it), failed (refused: moved "
				   "to failed/), retrying (to be sent again).";

	cw_sink_emit(s,
		     &(const struct cw_metric){.family = "uploads",
					       .help = help,
					       .labels = "result=\"ok\"",
					       .line = "uploaded"},
		     atomic_load(&u->uploaded));
	cw_sink_emit(s,
		     &(const struct cw_metric){.family = "uploads",
					       .help = help,
					       .labels = "result=\"failed\"",
					       .line = "upload_refused"},
		     atomic_load(&u->refused));
	cw_sink_emit(s,
		     &(const struct cw_metric){.family = "uploads",
					       .help = help,
					       .labels = "result=\"retrying\"",
					       .line = "upload_retries"},
		     atomic_load(&u->retries));
}
