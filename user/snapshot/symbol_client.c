// SPDX-License-Identifier: MIT
#include "symbol_client.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int cw_symbol_client_connect(struct cw_symbol_client *c, const char *sock_path, unsigned timeout_ms)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	int r;

	c->fd = -1;
	c->timeout_ms = timeout_ms;
	if (strlen(sock_path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, sock_path, strlen(sock_path) + 1);
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	/* A server that hangs costs this much, then the tool symbolizes alone. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		r = -errno;
		cw_symbol_client_close(c);
		return r;
	}
	return 0;
}

void cw_symbol_client_close(struct cw_symbol_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Send msg (with fd when >= 0), receive the reply into in.  Its length, or -errno. */
static ssize_t exchange(struct cw_symbol_client *c, const void *msg, size_t len, int fd, void *in,
			size_t cap)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {(void *)msg, len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(&control, 0, sizeof(control));
		m.msg_control = control.buf;
		m.msg_controllen = sizeof(control.buf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(c->fd, &m, MSG_NOSIGNAL) != (ssize_t)len)
		return -errno ? -errno : -EIO;
	do
		n = recv(c->fd, in, cap, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	if (n == 0)
		return -ECONNRESET; /* the server is gone */
	if ((size_t)n > cap)
		return -EPROTO;
	return n;
}

struct buffers {
	alignas(8) unsigned char out[CW_SYM_MAX_MSG];
	alignas(8) unsigned char in[CW_SYM_MAX_MSG];
};

int cw_symbol_client_lookup(struct cw_symbol_client *c, const uint8_t *build_id,
			    size_t build_id_len, const char *name, int elf_fd, bool source_lines,
			    const uint64_t *addrs, size_t n, cw_symbol_answer_fn fn, void *arg)
{
	struct buffers *b;
	struct cw_sym_request h = {.magic = CW_SYM_MAGIC,
				   .version = CW_SYM_VERSION,
				   .type = CW_SYM_LOOKUP,
				   .flags = source_lines ? CW_SYM_SOURCE_LINES : 0};
	size_t done = 0;
	int r = 0;

	if (c->fd < 0)
		return -ENOTCONN;
	if (build_id_len == 0 || build_id_len > CW_SYM_BUILD_ID_MAX ||
	    strlen(name) >= CW_SYM_NAME_MAX)
		return -EINVAL;
	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	memcpy(h.build_id, build_id, build_id_len);
	h.build_id_len = (uint32_t)build_id_len;
	h.name_len = (uint32_t)strlen(name) + 1;
	memcpy(h.name, name, h.name_len);
	while (done < n) {
		size_t ask = n - done < CW_SYM_MAX_ADDRS ? n - done : CW_SYM_MAX_ADDRS;
		struct cw_sym_reply_view v;
		ssize_t got;

		h.n_addrs = (uint32_t)ask;
		memcpy(b->out, &h, sizeof(h));
		memcpy(b->out + sizeof(h), addrs + done, ask * sizeof(*addrs));
		got = exchange(c, b->out, sizeof(h) + ask * sizeof(*addrs), elf_fd, b->in,
			       sizeof(b->in));
		if (got < 0) {
			r = (int)got;
			cw_symbol_client_close(c);
			break;
		}
		if (cw_sym_reply_check(b->in, (size_t)got, CW_SYM_LOOKUP, ask, &v) < 0) {
			r = -EPROTO;
			cw_symbol_client_close(c);
			break;
		}
		if (v.status < 0) {
			r = v.status;
			break;
		}
		for (size_t i = 0; i < v.n_results; i++) {
			uint64_t off;
			const char *function, *file;
			int line;

			cw_sym_reply_result(&v, i, &off, &function, &file, &line);
			fn(arg, done + i, off, function, file, line);
		}
		done += v.n_results;
	}
	free(b);
	return r;
}

int cw_symbol_client_stats(struct cw_symbol_client *c, struct cw_sym_stats *out)
{
	struct cw_sym_request h = {
		.magic = CW_SYM_MAGIC, .version = CW_SYM_VERSION, .type = CW_SYM_STATS};
	alignas(8) unsigned char in[sizeof(struct cw_sym_reply) + 1];
	struct cw_sym_reply_view v;
	ssize_t got;

	if (c->fd < 0)
		return -ENOTCONN;
	got = exchange(c, &h, sizeof(h), -1, in, sizeof(in));
	if (got < 0)
		return (int)got;
	if (cw_sym_reply_check(in, (size_t)got, CW_SYM_STATS, 0, &v) < 0)
		return -EPROTO;
	if (v.status < 0)
		return v.status;
	*out = v.stats;
	return 0;
}
