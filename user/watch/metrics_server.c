// SPDX-License-Identifier: MIT
#include "metrics_server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_conn.h"
#include "http_listen.h"
#include "http_request.h"

/* The whole exchange with one client; then it is cut off. */
#define CLIENT_DEADLINE_MS 2000
/* How long a scrape waits for the watcher's loop to render fresh counters. */
#define FRESH_WAIT_MS 1000

/* A copy of the counters' text, fresh if the watcher's loop answers in time. */
static char *counters_text(struct cw_metrics_server *m, size_t *len)
{
	struct timespec until;
	uint64_t one = 1, want;
	char *copy = NULL;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += FRESH_WAIT_MS / 1000;
	pthread_mutex_lock(&m->lock);
	want = m->published + 1;
	if (write(m->want_fd, &one, sizeof(one)) < 0) {
		/* The counter is already non-zero: the loop wakes all the same. */
	}
	while (m->published < want &&
	       pthread_cond_timedwait(&m->cond, &m->lock, &until) != ETIMEDOUT)
		;
	if (m->text && (copy = malloc(m->len ? m->len : 1))) {
		memcpy(copy, m->text, m->len);
		*len = m->len;
	}
	pthread_mutex_unlock(&m->lock);
	return copy;
}

static void serve_client(struct cw_metrics_server *m, int fd)
{
	int64_t deadline = cw_http_now_ms() + CLIENT_DEADLINE_MS;
	char buf[CW_HTTP_HEAD_MAX];
	struct cw_http_request r;
	size_t end, len;
	char *text;
	int err = cw_http_read_head(fd, buf, sizeof(buf), &end, deadline, m->stop_fd);

	if (err == -E2BIG) {
		cw_http_answer_text(fd, "431 Request Header Fields Too Large", NULL,
				    "request head too large\n", deadline);
		return;
	}
	if (err < 0)
		return; /* too slow, or gone: cut off */
	if (cw_http_request_parse(buf, end, &r) < 0) {
		cw_http_answer_text(fd, "400 Bad Request", NULL, "malformed request\n", deadline);
		return;
	}
	if (strcmp(r.method, "GET")) {
		cw_http_answer_text(fd, "405 Method Not Allowed", NULL,
				    "only GET /metrics is served\n", deadline);
		return;
	}
	if (strcmp(r.path, "/metrics")) {
		cw_http_answer_text(fd, "404 Not Found", NULL,
				    "not found: the counters are at /metrics\n", deadline);
		return;
	}
	text = counters_text(m, &len);
	if (!text) {
		cw_http_answer_text(fd, "503 Service Unavailable", NULL,
				    "the counters are not ready yet\n", deadline);
		return;
	}
	cw_http_answer(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", NULL, text, len,
		       deadline);
	free(text);
}

static void *serve(void *arg)
{
	struct cw_metrics_server *m = arg;

	for (;;) {
		int fd = cw_http_accept(m->listen_fd, m->stop_fd, "/metrics");

		if (fd < 0)
			return NULL;
		serve_client(m, fd);
		close(fd);
	}
}

int cw_metrics_server_start(struct cw_metrics_server *m, const char *spec, char *msg, size_t cap)
{
	struct cw_http_listener l;
	pthread_condattr_t ca;
	sigset_t all, old;
	int r;

	m->listen_fd = m->want_fd = m->stop_fd = -1;
	r = cw_http_listen(spec, "--metrics", 0, &l, msg, cap);
	if (r < 0)
		return r;
	m->listen_fd = l.fd;
	snprintf(m->where, sizeof(m->where), "%s", l.where);
	m->want_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->want_fd < 0 || m->stop_fd < 0) {
		r = -errno;
		snprintf(msg, cap, "failed to create the metrics server's eventfds: %s",
			 strerror(-r));
		goto fail;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals are the watcher's loop's to see, never this thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&m->thread, NULL, serve, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		snprintf(msg, cap, "failed to start the metrics server's thread: %s", strerror(-r));
		pthread_cond_destroy(&m->cond);
		pthread_mutex_destroy(&m->lock);
		goto fail;
	}
	m->running = true;
	return 0;
fail:
	if (m->want_fd >= 0)
		close(m->want_fd);
	if (m->stop_fd >= 0)
		close(m->stop_fd);
	close(m->listen_fd);
	m->listen_fd = m->want_fd = m->stop_fd = -1;
	return r;
}

int cw_metrics_server_want_fd(const struct cw_metrics_server *m)
{
	return m->running ? m->want_fd : -1;
}

void cw_metrics_server_wanted(struct cw_metrics_server *m)
{
	uint64_t n;

	if (read(m->want_fd, &n, sizeof(n)) < 0) {
		/* Nobody asked since the last read: publishing anyway does no harm. */
	}
}

void cw_metrics_server_publish(struct cw_metrics_server *m, char *text, size_t len)
{
	pthread_mutex_lock(&m->lock);
	free(m->text);
	m->text = text;
	m->len = len;
	m->published++;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

void cw_metrics_server_stop(struct cw_metrics_server *m)
{
	uint64_t one = 1;

	if (!m->running)
		return;
	if (write(m->stop_fd, &one, sizeof(one)) < 0) {
		/* Cannot fail on a fresh eventfd; the join would hang otherwise. */
	}
	pthread_join(m->thread, NULL);
	close(m->listen_fd);
	close(m->want_fd);
	close(m->stop_fd);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	m->text = NULL;
	m->running = false;
}
