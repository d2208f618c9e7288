// SPDX-License-Identifier: MIT
/*
 * libcrashwatch (include/crashwatch/client.h).  crashwatch_trace_prepared()
 * is the one path: async-signal-safe, on the buffers of a crashwatch_conn;
 * crashwatch_trace() gives it one on the heap.  Only what the library
 * exports has default visibility (the Makefile builds it -fvisibility=hidden).
 */
#include "crashwatch/client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define API __attribute__((visibility("default")))

/* The watcher answers within the request's timeout; this much more for its own work. */
#define ANSWER_MARGIN_MS 5000
#define DEFAULT_MS	 10000

/* strncpy without stdio, always terminated. */
static void set_text(struct crashwatch_result *r, const char *s)
{
	size_t n = strlen(s);

	if (n >= sizeof(r->text))
		n = sizeof(r->text) - 1;
	memcpy(r->text, s, n);
	r->text[n] = '\0';
}

static int fail(struct crashwatch_result *r, int status, const char *why)
{
	r->status = status;
	r->detail = 0;
	set_text(r, why);
	return status;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

API int crashwatch_prepare(struct crashwatch_conn *c, const char *path)
{
	const char *p = path ? path : CW_REQUEST_SOCKET;
	size_t n = strlen(p);

	c->fd = -1;
	if (n >= sizeof(c->path))
		return -ENAMETOOLONG;
	memcpy(c->path, p, n + 1);
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	return c->fd < 0 ? -errno : 0;
}

API void crashwatch_close(struct crashwatch_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* The request o asks for, into c->req (pointers only). */
static const char *fill(struct crashwatch_conn *c, const struct crashwatch_options *o)
{
	struct cw_request *q = &c->req;
	pid_t self_tid = (pid_t)syscall(SYS_gettid);

	memset(q, 0, sizeof(*q));
	if (o->n_kv > CW_REQ_MAX_KV)
		return "more than 64 attributes";
	if (o->n_classifiers > CW_REQ_MAX_CLASSIFIERS)
		return "more than 32 classifiers";
	if (o->n_threads + 1 > CW_REQ_MAX_THREADS)
		return "more than 255 threads";
	if (o->pid < 0 || o->fault_tid < 0)
		return "a negative pid or thread id";
	if ((o->n_kv && !o->kv) || (o->n_classifiers && !o->classifiers) ||
	    (o->n_threads && !o->threads))
		return "a count given without its array";
	q->flags = (o->flags & CRASHWATCH_NO_WAIT) ? 0 : CW_REQ_WAIT;
	q->pid = o->pid;
	q->timeout_ms = o->timeout_ms;
	q->fault_tid = o->fault_tid;
	if (!o->pid && !o->fault_tid && !(o->flags & CRASHWATCH_NOT_FAULTED))
		q->fault_tid = self_tid;
	for (size_t i = 0; i < o->n_kv; i++) {
		if (!o->kv[i].key || !o->kv[i].value)
			return "an attribute without a key or a value";
		q->kv[i].key = o->kv[i].key;
		q->kv[i].value = o->kv[i].value;
	}
	q->n_kv = (unsigned)o->n_kv;
	for (size_t i = 0; i < o->n_classifiers; i++) {
		if (!o->classifiers[i])
			return "a NULL classifier";
		q->classifiers[i] = o->classifiers[i];
	}
	q->n_classifiers = (unsigned)o->n_classifiers;
	for (size_t i = 0; i < o->n_threads; i++)
		q->threads[q->n_threads++] = o->threads[i];
	if (!o->pid && (o->flags & CRASHWATCH_CALLER_ONLY))
		q->threads[q->n_threads++] = self_tid;
	q->error = o->error_message && o->error_message[0] ? o->error_message : NULL;
	q->error_type = o->error_type && o->error_type[0] ? o->error_type : NULL;
	return NULL;
}

/* The reply within until (monotonic ms): its length, or a status when there is none. */
static int await(int fd, unsigned char *buf, size_t cap, long until, long *len)
{
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		long left = until - now_ms();
		ssize_t n;
		int r;

		if (left <= 0)
			return CRASHWATCH_TIMED_OUT;
		r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r < 0 && errno != EINTR)
			return CRASHWATCH_PROTOCOL;
		if (r <= 0)
			continue;
		n = recv(fd, buf, cap, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return CRASHWATCH_PROTOCOL;
		*len = n;
		return -1;
	}
}

API int crashwatch_trace_prepared(struct crashwatch_conn *c, const struct crashwatch_options *o,
				  struct crashwatch_result *r)
{
	static const struct crashwatch_options none;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *why, *text;
	long n, got = 0, until;
	enum cw_status status;
	int32_t detail;
	int fd = c->fd, st;

	if (!o)
		o = &none;
	r->status = CRASHWATCH_PROTOCOL;
	r->detail = 0;
	r->text[0] = '\0';
	why = fill(c, o);
	if (why)
		return fail(r, CRASHWATCH_BAD_REQUEST, why);
	n = cw_request_encode(&c->req, c->buf, sizeof(c->buf), &why);
	/* What the watcher would refuse, refused here in its words. */
	if (n < 0 || cw_request_parse(c->buf, (size_t)n, &c->check, &why) < 0)
		return fail(r, CRASHWATCH_BAD_REQUEST, why);
	if (fd < 0)
		return fail(r, CRASHWATCH_NO_WATCHER,
			    "no socket prepared (crashwatch_prepare failed or was not called)");
	/* The next call gets a fresh socket: a SOCK_SEQPACKET one connects once. */
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, c->path,
	       sizeof(c->path) < sizeof(sa.sun_path) ? sizeof(c->path) : sizeof(sa.sun_path));
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		close(fd);
		return fail(r, CRASHWATCH_NO_WATCHER,
			    errno == EACCES
				    ? "the request socket is not reachable (permission "
				      "denied): is the watcher's /run/crashwatch mode 0711?"
				    : "no watcher listens on the request socket (is crashwatch "
				      "watch running, with holds and --max-requests > 0?)");
	}
	while (send(fd, c->buf, (size_t)n, MSG_NOSIGNAL) < 0) {
		if (errno == EINTR)
			continue;
		close(fd);
		return fail(r, CRASHWATCH_PROTOCOL, "the watcher closed the connection");
	}
	until = now_ms() + (o->timeout_ms ? (long)o->timeout_ms : DEFAULT_MS) + ANSWER_MARGIN_MS;
	st = await(fd, c->reply, sizeof(c->reply), until, &got);
	close(fd);
	if (st == CRASHWATCH_TIMED_OUT)
		return fail(r, st, "no answer from the watcher within the timeout");
	if (st >= 0)
		return fail(r, st, "the watcher closed the connection without an answer");
	if (cw_reply_parse(c->reply, (size_t)got, &status, &detail, &text) < 0)
		return fail(r, CRASHWATCH_PROTOCOL, "a garbled answer from the watcher");
	r->status = (int)status;
	r->detail = detail;
	set_text(r, text);
	return r->status;
}

API int crashwatch_trace(const struct crashwatch_options *o, struct crashwatch_result *r)
{
	struct crashwatch_conn *c = malloc(sizeof(*c));
	int e;

	if (!c)
		return fail(r, CRASHWATCH_PROTOCOL, "out of memory");
	e = crashwatch_prepare(c, o && o->socket_path ? o->socket_path : NULL);
	if (e < 0) {
		free(c);
		return fail(r, CRASHWATCH_NO_WATCHER, "could not make a socket");
	}
	crashwatch_trace_prepared(c, o, r);
	crashwatch_close(c);
	free(c);
	return r->status;
}

API const char *crashwatch_status_name(int status)
{
	return cw_status_name((enum cw_status)status);
}
