// SPDX-License-Identifier: MIT
#include "hold_pool.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "snapshot_stack.h"

/* The releaser's queue: each entry is a record copy; past it, release at once. */
#define RELEASES_MAX 1024

static void notify(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the reader wakes all the same */
	}
}

static void finish(struct cw_hold_pool *p, struct cw_hold_job *j)
{
	pthread_mutex_lock(&p->lock);
	j->next = p->done;
	p->done = j;
	pthread_mutex_unlock(&p->lock);
	notify(p->done_fd);
}

static void run_job(struct cw_hold_pool *p, struct cw_hold_job *j, bool stopping)
{
	struct cw_crash_signal known;

	memset(&j->r, 0, sizeof(j->r));
	j->r.tool_status = -1;
	if (j->kind == CW_HOLD_REQUEST) {
		if (stopping)
			j->r.cancelled = true;
		else
			j->err = cw_hold_request(&p->cfg, j->req, &j->r);
		return;
	}
	if (stopping) {
		/* Never started: let it go, the watcher writes what the kernel saw. */
		j->r.cancelled = true;
		if (j->kind == CW_HOLD_STOPPED)
			cw_hold_release(&p->cfg, &j->ev);
		else
			cw_core_call_release(&j->call);
		return;
	}
	if (j->kind == CW_HOLD_STOPPED) {
		j->err = cw_hold_snapshot(&p->cfg, &j->ev, j->has_usdt ? &j->usdt : NULL,
					  &j->stopped, &j->r);
	} else {
		if (j->ev.task.pid)
			cw_crash_signal_of(&j->ev, &known);
		j->err = cw_hold_core(&p->cfg, &j->call, j->pid, j->tid, j->sig,
				      j->ev.task.pid ? &known : NULL, j->held_since_ns, &j->r);
	}
	/* The process is released by now: read what its record shows here, off the loop. */
	if (j->r.path[0])
		cw_snapshot_summary(j->r.path, j->r.cause, sizeof(j->r.cause), &j->r.stack);
}

static void *worker(void *arg)
{
	struct cw_hold_pool *p = ((struct worker_arg *)arg)->p;
	unsigned slot = ((struct worker_arg *)arg)->slot;
	bool requests = ((struct worker_arg *)arg)->requests;
	struct cw_hold_job **queue = requests ? &p->rqueue : &p->queue;
	struct cw_hold_job **tail = requests ? &p->rqueue_tail : &p->queue_tail;
	unsigned *queued = requests ? &p->rqueued : &p->queued;
	unsigned *busy = requests ? &p->rbusy : &p->busy;

	for (;;) {
		struct cw_hold_job *j;
		bool stopping;

		pthread_mutex_lock(&p->lock);
		while (!*queue && !p->stopping)
			pthread_cond_wait(&p->wake, &p->lock);
		j = *queue;
		if (!j) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		*queue = j->next;
		if (!*queue)
			*tail = NULL;
		(*queued)--;
		(*busy)++;
		p->running[slot] = j;
		stopping = p->stopping;
		pthread_mutex_unlock(&p->lock);

		run_job(p, j, stopping);

		pthread_mutex_lock(&p->lock);
		(*busy)--;
		p->running[slot] = NULL;
		pthread_mutex_unlock(&p->lock);
		finish(p, j);
	}
}

/* Releases wait only for the SIGSTOP to land (µs to ms): never behind a capture. */
static void *releaser(void *arg)
{
	struct cw_hold_pool *p = arg;

	for (;;) {
		struct cw_hold_job *j;

		pthread_mutex_lock(&p->lock);
		while (!p->releases && !p->stopping)
			pthread_cond_wait(&p->wake, &p->lock);
		j = p->releases;
		if (!j) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		p->releases = j->next;
		p->n_releases--;
		pthread_mutex_unlock(&p->lock);
		if (j->kind == CW_HOLD_STOPPED)
			cw_hold_release(&p->cfg, &j->ev);
		else
			cw_core_call_release(&j->call);
		free(j);
	}
}

int cw_hold_pool_start(struct cw_hold_pool *p, const struct cw_hold_config *cfg, unsigned workers,
		       unsigned max_queued, unsigned rworkers, unsigned max_rqueued)
{
	unsigned all = workers + rworkers;
	int err;

	memset(p, 0, sizeof(*p));
	if (workers < 1 || workers > CW_HOLD_WORKERS_MAX || max_queued > CW_HOLD_QUEUE_MAX ||
	    rworkers > CW_REQUEST_WORKERS_MAX || max_rqueued > CW_REQUEST_QUEUE_MAX)
		return -EINVAL;
	p->cfg = *cfg;
	p->max_queued = max_queued;
	p->max_rqueued = max_rqueued;
	/* From here on cw_hold_pool_free() owns what was made. */
	p->n_workers = workers;
	p->n_rworkers = rworkers;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->cfg.cancel_fd = eventfd(0, EFD_CLOEXEC);
	p->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->cfg.cancel_fd < 0 || p->done_fd < 0)
		return -errno;
	for (unsigned i = 0; i <= all; i++) {
		if (i < all)
			p->args[i] = (struct worker_arg){p, i, i >= workers};
		err = -pthread_create(&p->threads[i], NULL, i < all ? worker : releaser,
				      i < all ? (void *)&p->args[i] : (void *)p);
		if (err)
			return err;
		p->n_started++;
	}
	return 0;
}

static bool waits_stop(const struct cw_hold_job *j, pid_t pid)
{
	return j && j->kind == CW_HOLD_STOPPED && (pid_t)j->ev.task.pid == pid &&
	       !atomic_load(&j->stopped);
}

bool cw_hold_pool_waiting_stop(struct cw_hold_pool *p, pid_t pid)
{
	bool found = false;

	if (p->n_workers == 0)
		return false;
	pthread_mutex_lock(&p->lock);
	for (const struct cw_hold_job *j = p->queue; j && !found; j = j->next)
		found = waits_stop(j, pid);
	for (unsigned i = 0; i < p->n_workers + p->n_rworkers && !found; i++)
		found = waits_stop(p->running[i], pid);
	pthread_mutex_unlock(&p->lock);
	return found;
}

/*
 * A process stopped by SIGSTOP is written down as soon as the watcher knows
 * of it, not when a thread takes it: a watcher that dies with crashes in
 * its queues leaves none of them stopped.
 */
static void register_stopped(struct cw_hold_pool *p, const struct cw_signal_event *ev)
{
	cw_registry_add(p->cfg.registry, (pid_t)ev->task.pid, ev->task.start_boottime,
			cw_boottime_ns() + (uint64_t)p->cfg.timeout_s * 1000000000ULL);
}

bool cw_hold_pool_submit(struct cw_hold_pool *p, struct cw_hold_job *job)
{
	bool taken;

	job->next = NULL;
	atomic_init(&job->stopped, false);
	/* Before a thread can take it (and end it); one not taken is released by the caller. */
	if (job->kind == CW_HOLD_STOPPED)
		register_stopped(p, &job->ev);
	pthread_mutex_lock(&p->lock);
	if (job->kind == CW_HOLD_REQUEST) {
		taken = !p->stopping && p->n_rworkers &&
			p->rqueued + p->rbusy < p->n_rworkers + p->max_rqueued;
		if (taken) {
			if (p->rqueue_tail)
				p->rqueue_tail->next = job;
			else
				p->rqueue = job;
			p->rqueue_tail = job;
			p->rqueued++;
			pthread_cond_broadcast(&p->wake);
		}
		pthread_mutex_unlock(&p->lock);
		return taken;
	}
	/* Waiting: what is queued beyond the workers that are free. */
	taken = !p->stopping && p->queued + p->busy < p->n_workers + p->max_queued;
	if (taken) {
		if (p->queue_tail)
			p->queue_tail->next = job;
		else
			p->queue = job;
		p->queue_tail = job;
		p->queued++;
		pthread_cond_broadcast(&p->wake);
	} else {
		p->queue_full++;
	}
	pthread_mutex_unlock(&p->lock);
	return taken;
}

/* Queue j for the releaser; false when it has no room (or stops): the caller does it. */
static bool queue_release(struct cw_hold_pool *p, struct cw_hold_job *j)
{
	bool taken;

	pthread_mutex_lock(&p->lock);
	taken = !p->stopping && p->n_releases < RELEASES_MAX;
	if (taken) {
		j->next = p->releases;
		p->releases = j;
		p->n_releases++;
		pthread_cond_broadcast(&p->wake);
	}
	pthread_mutex_unlock(&p->lock);
	return taken;
}

void cw_hold_pool_release(struct cw_hold_pool *p, const struct cw_signal_event *ev)
{
	struct cw_hold_job *j = malloc(sizeof(*j));

	register_stopped(p, ev);
	if (j) {
		j->kind = CW_HOLD_STOPPED;
		j->ev = *ev;
		if (queue_release(p, j))
			return;
		free(j);
	}
	/* Here and now: the SIGSTOP has landed in nearly every case. */
	cw_hold_release(&p->cfg, ev);
}

void cw_hold_pool_release_core(struct cw_hold_pool *p, const struct cw_core_call *call)
{
	struct cw_hold_job *j = malloc(sizeof(*j));
	struct cw_core_call here = *call;

	if (j) {
		j->kind = CW_HOLD_CORE;
		j->call = *call;
		if (queue_release(p, j))
			return;
		free(j);
	}
	cw_core_call_release(&here);
}

void cw_hold_job_free(struct cw_hold_job *j)
{
	if (!j)
		return;
	if (j->kind == CW_HOLD_REQUEST && j->req_conn >= 0)
		close(j->req_conn);
	free(j->req);
	free(j->r.stack);
	free(j);
}

struct cw_hold_job *cw_hold_pool_take(struct cw_hold_pool *p)
{
	struct cw_hold_job *j;
	uint64_t n;

	if (p->done_fd >= 0 && read(p->done_fd, &n, sizeof(n)) < 0) {
		/* nothing signalled: the list says */
	}
	pthread_mutex_lock(&p->lock);
	j = p->done;
	if (j)
		p->done = j->next;
	pthread_mutex_unlock(&p->lock);
	return j;
}

void cw_hold_pool_stop(struct cw_hold_pool *p)
{
	if (p->n_started == 0)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	notify(p->cfg.cancel_fd);
	for (unsigned i = 0; i < p->n_started; i++)
		pthread_join(p->threads[i], NULL);
	p->n_started = 0;
}

void cw_hold_pool_free(struct cw_hold_pool *p)
{
	struct cw_hold_job *j;

	if (p->n_workers == 0)
		return;
	cw_hold_pool_stop(p);
	while ((j = cw_hold_pool_take(p)))
		cw_hold_job_free(j);
	if (p->cfg.cancel_fd >= 0)
		close(p->cfg.cancel_fd);
	if (p->done_fd >= 0)
		close(p->done_fd);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	p->n_workers = 0;
}
