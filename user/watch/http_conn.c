// SPDX-License-Identifier: MIT
#include "http_conn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http_request.h"

int64_t cw_http_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events until deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - cw_http_now_ms();
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

int cw_http_send_all(int fd, const char *buf, size_t len, int64_t deadline)
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

int cw_http_read_head(int fd, char *buf, size_t cap, size_t *end, int64_t deadline, int cancel_fd)
{
	size_t got = 0;

	while (!(*end = cw_http_head_end(buf, got))) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = cancel_fd, .events = POLLIN}};
		int64_t left = deadline - cw_http_now_ms();
		ssize_t n;

		if (got == cap)
			return -E2BIG;
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(p, cancel_fd >= 0 ? 2 : 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (cancel_fd >= 0 && p[1].revents)
			return -ECANCELED;
		if (!p[0].revents)
			continue;
		n = recv(fd, buf + got, cap - got, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -EIO;
		got += (size_t)n;
	}
	return 0;
}

void cw_http_answer(int fd, const char *status, const char *type, const char *extra,
		    const char *body, size_t len, int64_t deadline)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "%sConnection: close\r\n\r\n",
			 status, type, len, extra ? extra : "");

	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	if (cw_http_send_all(fd, head, (size_t)n, deadline) == 0)
		cw_http_send_all(fd, body, len, deadline);
}

void cw_http_answer_text(int fd, const char *status, const char *extra, const char *text,
			 int64_t deadline)
{
	cw_http_answer(fd, status, "text/plain; charset=utf-8", extra, text, strlen(text),
		       deadline);
}
