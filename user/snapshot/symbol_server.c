// SPDX-License-Identifier: MIT
#include "symbol_server.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dwfl_lookup.h"
#include "symbol_cache.h"
#include "symbol_protocol.h"

#define MAX_CLIENTS 64
#define MAX_FDS	    4 /* received in one message; more are cut off (MSG_CTRUNC) */

struct server {
	struct cw_symbol_cache cache;
	uint64_t requests, bad_requests;
	int clients[MAX_CLIENTS];
	size_t n_clients;
	alignas(8) unsigned char in[CW_SYM_MAX_MSG + 1]; /* one more: too long is MSG_TRUNC */
	alignas(8) unsigned char out[CW_SYM_MAX_MSG];
	char strings[CW_SYM_MAX_MSG];
};

static void stats(const struct server *s, struct cw_sym_stats *st)
{
	*st = (struct cw_sym_stats){
		.requests = s->requests,
		.bad_requests = s->bad_requests,
		.hits = s->cache.hits,
		.misses = s->cache.misses,
		.evictions = s->cache.evictions,
		.modules = s->cache.n,
		.rss_bytes = cw_rss_bytes(),
		.cache_bytes = s->cache.bound,
	};
}

/* A client that does not read its replies is dropped rather than waited for. */
static int reply(struct server *s, int fd, uint16_t type, int status, size_t len)
{
	struct cw_sym_reply h;

	memcpy(&h, s->out, sizeof(h)); /* the counts lookup() filled in, or zeros */
	if (status) {
		memset(&h, 0, sizeof(h));
		len = sizeof(h);
	}
	h.magic = CW_SYM_MAGIC;
	h.version = CW_SYM_VERSION;
	h.type = type;
	h.status = status;
	stats(s, &h.stats);
	memcpy(s->out, &h, sizeof(h));
	return send(fd, s->out, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len ? 0 : -errno;
}

struct strings {
	char *buf;
	size_t len, cap;
	const char
		*seen[2 * CW_SYM_MAX_ADDRS]; /* libdwfl's pointers: equal strings, equal pointers */
	uint32_t at[2 * CW_SYM_MAX_ADDRS];
	size_t n_seen;
};

/* Offset of s in the table, or false when it does not fit. */
static bool add_string(struct strings *t, const char *s, uint32_t *off)
{
	size_t n;

	*off = CW_SYM_NO_STRING;
	if (!s)
		return true;
	for (size_t i = 0; i < t->n_seen; i++)
		if (t->seen[i] == s) {
			*off = t->at[i];
			return true;
		}
	n = strlen(s) + 1;
	if (n > t->cap - t->len || t->n_seen == sizeof(t->seen) / sizeof(t->seen[0]))
		return false;
	memcpy(t->buf + t->len, s, n);
	*off = (uint32_t)t->len;
	t->seen[t->n_seen] = s;
	t->at[t->n_seen++] = *off;
	t->len += n;
	return true;
}

/* Answers into s->out: as many addresses as fit one message, at least one. */
static int lookup(struct server *s, const struct cw_sym_request_view *v, int fd, size_t *len)
{
	struct cw_sym_result res[CW_SYM_MAX_ADDRS];
	struct strings t = {.buf = s->strings};
	struct cw_sym_module *m;
	struct cw_sym_reply h = {0};
	size_t n = 0;
	bool hit;
	int r;

	r = cw_symbol_cache_get(&s->cache, v->build_id, v->build_id_len, fd, v->name, &m, &hit);
	if (r < 0)
		return r;
	t.cap = sizeof(s->out) - sizeof(h) - v->n_addrs * sizeof(res[0]);
	for (; n < v->n_addrs; n++) {
		struct cw_code_location loc;
		struct cw_sym_result *x = &res[n];

		cw_dwfl_lookup(m->mod, cw_sym_request_addr(v, n) + m->bias,
			       v->flags & CW_SYM_SOURCE_LINES, &loc);
		*x = (struct cw_sym_result){.function_offset = loc.function_offset,
					    .line = loc.line};
		if (!add_string(&t, loc.function, &x->function) ||
		    !add_string(&t, loc.file, &x->file))
			break;
	}
	if (n == 0)
		return -E2BIG;
	h.n_results = (uint32_t)n;
	h.strings_len = (uint32_t)t.len;
	h.cached = hit;
	memcpy(s->out, &h, sizeof(h));
	memcpy(s->out + sizeof(h), res, n * sizeof(res[0]));
	memcpy(s->out + sizeof(h) + n * sizeof(res[0]), t.buf, t.len);
	*len = sizeof(h) + n * sizeof(res[0]) + t.len;
	return 0;
}

/* One message from client fd; false when the client is gone or misbehaves at the socket level. */
static bool serve_one(struct server *s, int fd)
{
	union {
		char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {s->in, sizeof(s->in)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	struct cw_sym_request_view v;
	int fds[MAX_FDS], n_fds = 0, r;
	uint16_t type = 0;
	size_t len = 0;
	ssize_t got;

	got = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (got < 0)
		return errno == EAGAIN || errno == EINTR;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int x;

			memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n_fds < MAX_FDS)
				fds[n_fds++] = x;
			else
				close(x);
		}
	}
	if (got == 0 && n_fds == 0)
		return false; /* the client closed its end */
	if (got >= (ssize_t)sizeof(uint16_t) * 4)
		memcpy(&type, s->in + offsetof(struct cw_sym_request, type), sizeof(type));
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		r = -EMSGSIZE;
	else
		r = cw_sym_request_check(s->in, (size_t)got, n_fds, &v);
	memset(s->out, 0, sizeof(struct cw_sym_reply));
	if (r == 0) {
		s->requests++;
		if (v.type == CW_SYM_LOOKUP) {
			r = lookup(s, &v, fds[0], &len);
			fds[0] = -1; /* the cache's now */
			cw_symbol_cache_trim(&s->cache);
		} else {
			len = sizeof(struct cw_sym_reply);
		}
	} else {
		s->bad_requests++;
	}
	for (int i = 0; i < n_fds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* An error reply names the type asked, when it is one of ours. */
	if (type != CW_SYM_LOOKUP && type != CW_SYM_STATS)
		type = 0;
	return reply(s, fd, type, r, len) == 0;
}

static int listen_on(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Made 0600 from the start: the requests hand us files to read as root. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void drop_client(struct server *s, size_t i)
{
	close(s->clients[i]);
	s->clients[i] = s->clients[--s->n_clients];
}

int cw_symbol_server_run(const char *sock_path, uint64_t cache_bytes)
{
	struct server *s = calloc(1, sizeof(*s));
	struct pollfd p[3 + MAX_CLIENTS];
	struct cw_sym_stats st;
	sigset_t mask;
	int lfd = -1, sfd = -1, rc = 1;
	bool bound = false;

	if (!s) {
		fprintf(stderr, "crashwatch-snapshot: failed to start the symbol server: %s\n",
			strerror(ENOMEM));
		return 1;
	}
	cw_symbol_cache_init(&s->cache, cache_bytes);
	/* A fixed threshold: big buffers (decompressed DWARF) go back to the kernel when freed. */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "crashwatch-snapshot: failed to watch signals: %s\n",
			strerror(errno));
		goto cleanup;
	}
	lfd = listen_on(sock_path);
	if (lfd < 0) {
		fprintf(stderr, "crashwatch-snapshot: failed to listen on %s: %s\n", sock_path,
			strerror(-lfd));
		goto cleanup;
	}
	bound = true;
	for (;;) {
		size_t np = 3;

		p[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		p[1] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		p[2] = (struct pollfd){.fd = sfd, .events = POLLIN};
		for (size_t i = 0; i < s->n_clients; i++)
			p[np++] = (struct pollfd){.fd = s->clients[i], .events = POLLIN};
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "crashwatch-snapshot: failed to wait for requests: %s\n",
				strerror(errno));
			goto cleanup;
		}
		if (p[2].revents)
			break; /* SIGTERM, SIGINT, SIGHUP */
		if (p[1].revents) {
			char buf[256];
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			/* The lifeline: EOF (or no stdin at all) when its writer is gone. */
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) ||
			    (p[1].revents & POLLNVAL))
				break;
		}
		/* Clients from the end: drop_client moves the last one into the freed slot. */
		for (size_t i = np - 3; i-- > 0;)
			if (p[3 + i].revents && !serve_one(s, s->clients[i]))
				drop_client(s, i);
		if (p[0].revents & POLLIN) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (c >= 0 && s->n_clients == MAX_CLIENTS)
				close(c);
			else if (c >= 0)
				s->clients[s->n_clients++] = c;
		}
	}
	rc = 0;

cleanup:
	if (s) {
		stats(s, &st);
		fprintf(stderr,
			"crashwatch-snapshot: symbol server: requests=%" PRIu64
			" bad_requests=%" PRIu64 " hits=%" PRIu64 " misses=%" PRIu64
			" evictions=%" PRIu64 " modules=%" PRIu64 " rss_bytes=%" PRIu64 "\n",
			st.requests, st.bad_requests, st.hits, st.misses, st.evictions, st.modules,
			st.rss_bytes);
		while (s->n_clients)
			drop_client(s, s->n_clients - 1);
		cw_symbol_cache_free(&s->cache);
	}
	if (lfd >= 0)
		close(lfd);
	if (bound)
		unlink(sock_path);
	if (sfd >= 0)
		close(sfd);
	free(s);
	return rc;
}
