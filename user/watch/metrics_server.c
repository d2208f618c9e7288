// SPDX-License-Identifier: MIT
#include "metrics_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_request.h"
#include "parse.h"

/* The whole exchange with one client; then it is cut off. */
#define CLIENT_DEADLINE_MS 2000
/* How long a scrape waits for the watcher's loop to render fresh counters. */
#define FRESH_WAIT_MS 1000

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events until deadline (monotonic ms); 0 or -ETIMEDOUT. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd p = {.fd = fd, .events = events};
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN || wait_fd(fd, POLLOUT, deadline) < 0)
				return -EIO;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void answer(int fd, const char *status, const char *type, const char *body, size_t len,
		   int64_t deadline)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, type, len);

	if (send_all(fd, head, (size_t)n, deadline) == 0)
		send_all(fd, body, len, deadline);
}

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
	static const char plain[] = "text/plain; charset=utf-8";
	int64_t deadline = now_ms() + CLIENT_DEADLINE_MS;
	char buf[CW_HTTP_HEAD_MAX];
	struct cw_http_request r;
	size_t got = 0, end = 0, len;
	char *text;

	while (!(end = cw_http_head_end(buf, got))) {
		ssize_t n;

		if (got == sizeof(buf)) {
			static const char msg[] = "request head too large\n";

			answer(fd, "431 Request Header Fields Too Large", plain, msg,
			       sizeof(msg) - 1, deadline);
			return;
		}
		if (wait_fd(fd, POLLIN, deadline) < 0)
			return; /* too slow: cut off */
		n = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return;
		got += (size_t)n;
	}
	if (cw_http_request_parse(buf, end, &r) < 0) {
		static const char msg[] = "malformed request\n";

		answer(fd, "400 Bad Request", plain, msg, sizeof(msg) - 1, deadline);
		return;
	}
	if (strcmp(r.method, "GET")) {
		static const char msg[] = "only GET /metrics is served\n";

		answer(fd, "405 Method Not Allowed", plain, msg, sizeof(msg) - 1, deadline);
		return;
	}
	if (strcmp(r.path, "/metrics")) {
		static const char msg[] = "not found: the counters are at /metrics\n";

		answer(fd, "404 Not Found", plain, msg, sizeof(msg) - 1, deadline);
		return;
	}
	text = counters_text(m, &len);
	if (!text) {
		static const char msg[] = "the counters are not ready yet\n";

		answer(fd, "503 Service Unavailable", plain, msg, sizeof(msg) - 1, deadline);
		return;
	}
	answer(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", text, len, deadline);
	free(text);
}

static void *serve(void *arg)
{
	struct cw_metrics_server *m = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = m->listen_fd, .events = POLLIN},
				      {.fd = m->stop_fd, .events = POLLIN}};
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr,
				"crashwatch: the metrics server failed to poll: %s; /metrics "
				"is no longer served\n",
				strerror(errno));
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			continue; /* the client left already, or out of fds for now */
		serve_client(m, fd);
		close(fd);
	}
}

/* ADDR:PORT, [ADDR]:PORT, :PORT or PORT into host (NULL: loopback) and port. */
static int split_spec(const char *spec, char *host, size_t cap, const char **port)
{
	const char *colon = strrchr(spec, ':');
	size_t n;

	if (!colon) {
		*port = spec;
		host[0] = '\0';
		return 0;
	}
	*port = colon + 1;
	n = (size_t)(colon - spec);
	if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
		spec++;
		n -= 2;
	}
	if (n >= cap)
		return -EINVAL;
	memcpy(host, spec, n);
	host[n] = '\0';
	return 0;
}

static int open_listener(struct cw_metrics_server *m, const char *spec, char *msg, size_t cap)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai = NULL;
	char host[64], shown[INET6_ADDRSTRLEN];
	const char *port;
	uint64_t p;
	int one = 1, r, fd;

	if (split_spec(spec, host, sizeof(host), &port) < 0 ||
	    cw_parse_u64(port, 1, 65535, &p) < 0) {
		snprintf(msg, cap,
			 "bad --metrics '%s': give ADDR:PORT (e.g. 127.0.0.1:9464, [::1]:9464) or "
			 "a PORT alone for the loopback address",
			 spec);
		return -EINVAL;
	}
	r = getaddrinfo(host[0] ? host : "127.0.0.1", port, &hints, &ai);
	if (r) {
		snprintf(msg, cap, "bad --metrics '%s': %s is not a numeric IP address", spec,
			 host);
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		r = -errno;
		snprintf(msg, cap, "failed to listen on %s for --metrics: %s; give a free port",
			 spec, strerror(-r));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return r;
	}
	inet_ntop(ai->ai_family,
		  ai->ai_family == AF_INET6
			  ? (void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
			  : (void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr,
		  shown, sizeof(shown));
	snprintf(m->where, sizeof(m->where), ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", shown,
		 port);
	freeaddrinfo(ai);
	m->listen_fd = fd;
	return 0;
}

int cw_metrics_server_start(struct cw_metrics_server *m, const char *spec, char *msg, size_t cap)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int r;

	m->listen_fd = m->want_fd = m->stop_fd = -1;
	r = open_listener(m, spec, msg, cap);
	if (r < 0)
		return r;
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
