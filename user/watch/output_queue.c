// SPDX-License-Identifier: MIT
#include "output_queue.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What the writer takes out at once: the queue's lock is not held while it writes. */
#define WRITE_CHUNK (64u << 10)
/* A stalled stdout is said on stderr at most this often. */
#define SAY_EVERY_S 60.0

struct output_queue {
	const char *name; /* "stdout", "stderr" */
	int fd;
	FILE *said_to; /* where drops are said, or NULL (the stream itself) */
	pthread_mutex_t lock;
	pthread_cond_t more, drained;
	char *buf, *chunk; /* chunk: what the writer took out, WRITE_CHUNK bytes */
	size_t len, cap;
	size_t whole;  /* buf[0, whole) are complete lines: only those are written */
	bool dropping; /* the rest of a line that did not fit goes too */
	bool broken;   /* the fd failed (the reader went away): everything is dropped */
	bool flushing; /* draining: a last line without its newline is written too */
	bool writing;  /* the writer holds bytes taken out of buf */
	uint64_t dropped_lines, dropped_said;
	double said_at; /* CLOCK_MONOTONIC s, 0: never */
};

static struct output_queue queues[2] = {
	{.name = "stdout", .fd = STDOUT_FILENO},
	{.name = "stderr", .fd = STDERR_FILENO},
};
static bool started;
static FILE *before[2]; /* stdout and stderr as they were, for a forked child */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Under the lock: the line [data, data + n) into the queue, or dropped whole. */
static bool take_line(struct output_queue *q, const char *data, size_t n, bool ends)
{
	if (q->broken || q->dropping) {
		q->dropping = q->dropping && !ends;
		if (q->broken && ends)
			q->dropped_lines++;
		return false;
	}
	if (q->len + n > q->cap) {
		/* Its start goes too (never written: not whole yet), never half a record. */
		q->len = q->whole;
		q->dropped_lines++;
		q->dropping = !ends;
		return true;
	}
	memcpy(q->buf + q->len, data, n);
	q->len += n;
	if (ends)
		q->whole = q->len;
	return false;
}

/* The stream's write: never blocks on the reader. */
static ssize_t queue_write(void *cookie, const char *data, size_t size)
{
	struct output_queue *q = cookie;
	bool dropped = false, say;
	uint64_t lines;
	size_t i = 0;

	pthread_mutex_lock(&q->lock);
	while (i < size) {
		const char *nl = memchr(data + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (data + i)) + 1 : size - i;

		dropped |= take_line(q, data + i, n, nl != NULL);
		i += n;
	}
	if (q->whole)
		pthread_cond_signal(&q->more);
	say = dropped && q->said_to && (!q->said_at || now_s() - q->said_at >= SAY_EVERY_S);
	if (say) {
		q->said_at = now_s();
		q->dropped_said = q->dropped_lines;
	}
	lines = q->dropped_lines;
	pthread_mutex_unlock(&q->lock);
	if (say)
		fprintf(q->said_to,
			"crashwatch: %s is not being read: %" PRIu64
			" records dropped so far (a %zu KiB queue is full); crashes are still "
			"held and snapshotted, `crashwatch list` has them (said at most once a "
			"minute)\n",
			q->name, lines, q->cap >> 10);
	return (ssize_t)size;
}

/* Every byte of [p, p + n) to the fd: false when the fd failed for good. */
static bool write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void *writer(void *arg)
{
	struct output_queue *q = arg;

	for (;;) {
		size_t n;
		bool ok;

		pthread_mutex_lock(&q->lock);
		while (!q->whole && !(q->flushing && q->len))
			pthread_cond_wait(&q->more, &q->lock);
		if (q->flushing)
			q->whole = q->len;
		n = q->whole < WRITE_CHUNK ? q->whole : WRITE_CHUNK;
		memcpy(q->chunk, q->buf, n);
		memmove(q->buf, q->buf + n, q->len - n);
		q->len -= n;
		q->whole -= n;
		q->writing = true;
		pthread_mutex_unlock(&q->lock);

		ok = write_all(q->fd, q->chunk, n);

		pthread_mutex_lock(&q->lock);
		q->writing = false;
		if (!ok && !q->broken) {
			/* EPIPE and the like: the reader is gone for good. */
			q->broken = true;
			q->len = q->whole = 0;
		}
		if (!q->len)
			pthread_cond_broadcast(&q->drained);
		pthread_mutex_unlock(&q->lock);
	}
	return NULL;
}

static cookie_io_functions_t queue_io = {.write = queue_write};

/* A forked child (the hold watchdog) has no writers: it writes for itself. */
static void child_writes_itself(void)
{
	if (!started)
		return;
	stdout = before[0];
	stderr = before[1];
	started = false;
}

/* Every way out of the watcher (errors too) says its last lines. */
static void drain_at_exit(void)
{
	cw_output_queues_drain(2.0);
}

int cw_output_queues_start(size_t cap)
{
	FILE *f[2] = {NULL, NULL};
	pthread_t t;
	int err = 0;

	if (started)
		return 0;
	for (int i = 0; i < 2; i++) {
		struct output_queue *q = &queues[i];

		q->cap = cap;
		q->buf = malloc(cap);
		q->chunk = malloc(WRITE_CHUNK);
		f[i] = q->buf && q->chunk ? fopencookie(q, "w", queue_io) : NULL;
		if (!f[i]) {
			err = -ENOMEM;
			goto fail;
		}
		pthread_mutex_init(&q->lock, NULL);
		pthread_cond_init(&q->more, NULL);
		pthread_cond_init(&q->drained, NULL);
	}
	for (int i = 0; i < 2; i++) {
		/* Never joined: one blocked in write() at exit must not hold the exit up. */
		err = -pthread_create(&t, NULL, writer, &queues[i]);
		if (err) {
			/* The first may run already: it stays, idle, on a queue nobody writes. */
			goto fail;
		}
		pthread_detach(t);
	}
	fflush(stdout);
	fflush(stderr);
	setvbuf(f[0], NULL, _IOLBF, 0);
	setvbuf(f[1], NULL, _IONBF, 0);
	queues[0].said_to = f[1];
	before[0] = stdout;
	before[1] = stderr;
	stdout = f[0];
	stderr = f[1];
	started = true;
	pthread_atfork(NULL, NULL, child_writes_itself);
	atexit(drain_at_exit);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (f[i])
			fclose(f[i]);
		free(queues[i].buf);
		free(queues[i].chunk);
		queues[i].buf = queues[i].chunk = NULL;
	}
	return err;
}

void cw_output_queues_drain(double drain_s)
{
	double until = now_s() + drain_s;

	if (!started)
		return;
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 2; i++) {
		struct output_queue *q = &queues[i];

		pthread_mutex_lock(&q->lock);
		q->flushing = true;
		pthread_cond_signal(&q->more);
		while ((q->len || q->writing) && !q->broken) {
			struct timespec left;
			double t = until - now_s();

			if (t <= 0)
				break;
			clock_gettime(CLOCK_REALTIME, &left);
			left.tv_sec += (time_t)t;
			left.tv_nsec += (long)((t - (double)(time_t)t) * 1e9);
			if (left.tv_nsec >= 1000000000L) {
				left.tv_sec++;
				left.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&q->drained, &q->lock, &left);
		}
		pthread_mutex_unlock(&q->lock);
	}
}

void cw_output_queues_emit_counters(struct cw_counter_sink *s)
{
	uint64_t n[2];

	if (!started)
		return;
	for (int i = 0; i < 2; i++) {
		pthread_mutex_lock(&queues[i].lock);
		n[i] = queues[i].dropped_lines;
		pthread_mutex_unlock(&queues[i].lock);
	}
	cw_sink_counter(s, "stdout_dropped_lines",
			"Records of the watcher dropped: nobody read its stdout in time.", n[0]);
	cw_sink_counter(s, "stderr_dropped_lines",
			"Messages of the watcher dropped: nobody read its stderr in time.", n[1]);
}
