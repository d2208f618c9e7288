// SPDX-License-Identifier: MIT
#include "timeline_http.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_conn.h"
#include "http_peer.h"
#include "http_request.h"
#include "request_auth.h"
#include "timeline_http_params.h"
#include "timeline_http_record.h"

/* Reading the request head; a client slower than this is cut off. */
#define HEAD_DEADLINE_MS 2000
/* Answers that are not a trace (errors, 503). */
#define ANSWER_DEADLINE_MS 2000
static const char path[] = "/debug/timeline";

void cw_tl_http_count(struct cw_tl_http_server *s, enum cw_tl_http_counter c)
{
	__atomic_fetch_add(&s->counters[c], 1, __ATOMIC_RELAXED);
}

void cw_tl_http_refuse(struct cw_tl_http_server *s, int fd, enum cw_tl_http_counter c,
		       const char *status, const char *extra, const char *text)
{
	cw_tl_http_count(s, c);
	cw_http_answer_text(fd, status, extra, text, cw_http_now_ms() + ANSWER_DEADLINE_MS);
}

static void serve_client(struct cw_tl_http_server *s, int fd)
{
	char buf[CW_HTTP_HEAD_MAX], body[768], why[512];
	struct cw_tl_http_params p;
	struct cw_http_request r;
	struct cw_auth_peer peer;
	size_t end;
	int err = cw_http_read_head(fd, buf, sizeof(buf), &end, cw_http_now_ms() + HEAD_DEADLINE_MS,
				    s->stop_fd);

	cw_tl_http_count(s, CW_TL_HTTP_REQUESTS);
	if (err == -E2BIG) {
		cw_tl_http_refuse(s, fd, CW_TL_HTTP_BAD, "431 Request Header Fields Too Large",
				  NULL, "request head too large\n");
		return;
	}
	if (err < 0) {
		cw_tl_http_count(s, CW_TL_HTTP_CUT_OFF);
		return;
	}
	if (cw_http_request_parse(buf, end, &r) < 0) {
		cw_tl_http_refuse(s, fd, CW_TL_HTTP_BAD, "400 Bad Request", NULL,
				  "malformed request\n");
		return;
	}
	if (strcmp(r.path, path)) {
		cw_tl_http_refuse(
			s, fd, CW_TL_HTTP_BAD, "404 Not Found", NULL,
			"not found: timelines are at /debug/timeline?pid=PID&seconds=S&hz=N\n");
		return;
	}
	if (strcmp(r.method, "GET")) {
		cw_tl_http_refuse(s, fd, CW_TL_HTTP_BAD, "405 Method Not Allowed", "Allow: GET\r\n",
				  "only GET /debug/timeline is served\n");
		return;
	}
	if (cw_tl_http_params_parse(r.query, &p, body, sizeof(body)) < 0) {
		cw_tl_http_refuse(s, fd, CW_TL_HTTP_BAD, "400 Bad Request", NULL, body);
		return;
	}
	if (cw_http_peer(fd, s->l.family, &peer, why, sizeof(why)) < 0) {
		snprintf(body, sizeof(body), "refused: %s\n", why);
		cw_tl_http_refuse(s, fd, CW_TL_HTTP_REFUSED, "403 Forbidden", NULL, body);
		return;
	}
	err = cw_auth_check(&peer, p.pid, why, sizeof(why));
	if (err == -ESRCH) {
		snprintf(body, sizeof(body), "%s\n", why);
		cw_tl_http_refuse(s, fd, CW_TL_HTTP_BAD, "404 Not Found", NULL, body);
		return;
	}
	if (err < 0) {
		snprintf(body, sizeof(body), "refused: %s\n", why);
		cw_tl_http_refuse(s, fd, CW_TL_HTTP_REFUSED, "403 Forbidden", NULL, body);
		fprintf(stderr, "crashwatch: refused a timeline of pid %d to uid %u (pid %d): %s\n",
			(int)p.pid, (unsigned)peer.uid, (int)peer.pid, why);
		return;
	}
	cw_tl_http_record(s, fd, r.minor == 1, &p, &peer);
}

static void *conn_main(void *arg)
{
	struct cw_tl_http_conn *c = arg;

	serve_client(c->s, c->fd);
	close(c->fd);
	pthread_mutex_lock(&c->s->lock);
	c->done = true;
	pthread_mutex_unlock(&c->s->lock);
	return NULL;
}

/* A free connection slot, its finished thread joined; NULL when all are in use. */
static struct cw_tl_http_conn *free_conn(struct cw_tl_http_server *s)
{
	struct cw_tl_http_conn *got = NULL;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < CW_TL_HTTP_MAX_CONNS && !got; i++) {
		struct cw_tl_http_conn *c = &s->conns[i];

		if (c->busy && c->done) {
			pthread_join(c->thread, NULL);
			c->busy = false;
		}
		if (!c->busy)
			got = c;
	}
	pthread_mutex_unlock(&s->lock);
	return got;
}

static void *accept_main(void *arg)
{
	struct cw_tl_http_server *s = arg;

	for (;;) {
		struct cw_tl_http_conn *c;
		int fd = cw_http_accept(s->l.fd, s->stop_fd, "/debug/timeline"), r;

		if (fd < 0)
			return NULL;
		c = free_conn(s);
		if (!c) {
			cw_tl_http_count(s, CW_TL_HTTP_REQUESTS);
			cw_tl_http_refuse(s, fd, CW_TL_HTTP_BUSY, "503 Service Unavailable",
					  "Retry-After: 1\r\n", "busy: too many connections\n");
			close(fd);
			continue;
		}
		*c = (struct cw_tl_http_conn){.s = s, .fd = fd, .busy = true};
		r = pthread_create(&c->thread, NULL, conn_main, c);
		if (r) {
			c->busy = false;
			cw_tl_http_count(s, CW_TL_HTTP_REQUESTS);
			cw_tl_http_refuse(s, fd, CW_TL_HTTP_BUSY, "503 Service Unavailable",
					  "Retry-After: 1\r\n",
					  "busy: cannot start a thread now\n");
			close(fd);
		}
	}
}

int cw_tl_http_start(struct cw_tl_http_server *s, const char *spec, char *msg, size_t cap)
{
	sigset_t all, old;
	ssize_t n;
	int r;

	memset(s, 0, sizeof(*s));
	s->stop_fd = -1;
	n = readlink("/proc/self/exe", s->self, sizeof(s->self) - 1);
	if (n < 0) {
		r = -errno;
		snprintf(msg, cap, "failed to find this executable for --http: %s", strerror(-r));
		return r;
	}
	s->self[n] = '\0';
	r = cw_http_listen(spec, "--http", CW_HTTP_LOCAL_ONLY, &s->l, msg, cap);
	if (r < 0)
		return r;
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		r = -errno;
		snprintf(msg, cap, "failed to create the timeline endpoint's eventfd: %s",
			 strerror(-r));
		cw_http_listener_close(&s->l);
		return r;
	}
	pthread_mutex_init(&s->lock, NULL);
	/* Signals are the watcher's loop's to see; the threads and their children inherit this. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&s->thread, NULL, accept_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		snprintf(msg, cap, "failed to start the timeline endpoint's thread: %s",
			 strerror(-r));
		pthread_mutex_destroy(&s->lock);
		close(s->stop_fd);
		s->stop_fd = -1;
		cw_http_listener_close(&s->l);
		return r;
	}
	s->running = s->started = true;
	return 0;
}

void cw_tl_http_stop(struct cw_tl_http_server *s)
{
	uint64_t one = 1;

	if (!s->running)
		return;
	/* Every thread polls it: recordings are killed and reaped, then the threads end. */
	if (write(s->stop_fd, &one, sizeof(one)) < 0) {
		/* Cannot fail on a fresh eventfd; the joins would hang otherwise. */
	}
	pthread_join(s->thread, NULL);
	for (int i = 0; i < CW_TL_HTTP_MAX_CONNS; i++)
		if (s->conns[i].busy)
			pthread_join(s->conns[i].thread, NULL);
	cw_http_listener_close(&s->l);
	close(s->stop_fd);
	s->stop_fd = -1;
	pthread_mutex_destroy(&s->lock);
	s->running = false;
}

void cw_tl_http_emit_counters(struct cw_tl_http_server *s, struct cw_counter_sink *sink)
{
	static const struct {
		const char *name, *help;
	} names[CW_TL_HTTP_NR_COUNTERS] = {
		[CW_TL_HTTP_REQUESTS] = {"timeline_http_requests",
					 "Requests to /debug/timeline (--http)."},
		[CW_TL_HTTP_RECORDINGS] = {"timeline_http_recordings",
					   "Timelines served whole over --http."},
		[CW_TL_HTTP_BAD] = {"timeline_http_bad_requests",
				    "--http requests refused as malformed (400, 404, 405, 431)."},
		[CW_TL_HTTP_REFUSED] = {"timeline_http_refused",
					"--http requests refused: not the asker's to trace (403)."},
		[CW_TL_HTTP_BUSY] = {"timeline_http_busy",
				     "--http requests turned away: too many at once (503)."},
		[CW_TL_HTTP_FAILED] = {"timeline_http_failed",
				       "--http recordings that failed, overran or were stopped."},
		[CW_TL_HTTP_CUT_OFF] = {"timeline_http_cut_off",
					"--http clients that left or were too slow."},
	};

	if (!s->started)
		return;
	for (int i = 0; i < CW_TL_HTTP_NR_COUNTERS; i++)
		cw_sink_counter(sink, names[i].name, names[i].help,
				__atomic_load_n(&s->counters[i], __ATOMIC_RELAXED));
}
