// SPDX-License-Identifier: MIT
#include "http_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse.h"

/* ADDR:PORT, [ADDR]:PORT, :PORT or PORT into host ("" for the default) and port. */
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

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

/* Whether something still accepts connections on the socket at sa. */
static bool still_served(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool yes;

	if (fd < 0)
		return false;
	yes = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return yes;
}

static int listen_unix(const char *path, const char *option, struct cw_http_listener *l, char *msg,
		       size_t cap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, r;

	if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(msg, cap,
			 "bad %s 'unix:%s': give an absolute path of at most %zu bytes for the "
			 "socket",
			 option, path, sizeof(sa.sun_path) - 1);
		return -EINVAL;
	}
	strcpy(sa.sun_path, path);
	/* A socket left by an earlier run goes; anything else there is not ours to remove. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(msg, cap,
				 "%s: %s exists and is not a socket: give a path that is free or "
				 "a socket",
				 option, path);
			return -EEXIST;
		}
		if (still_served(&sa)) {
			snprintf(msg, cap,
				 "%s: another process serves unix:%s: stop it or give another "
				 "path",
				 option, path);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	/* Anyone may connect: each request is checked against who asks (SO_PEERCRED). */
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 16) < 0) {
		r = -errno;
		snprintf(msg, cap,
			 "failed to listen on unix:%s for %s: %s; give a path in a "
			 "directory that exists",
			 path, option, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	l->fd = fd;
	l->family = AF_UNIX;
	strcpy(l->unix_path, path);
	snprintf(l->where, sizeof(l->where), "unix:%s", path);
	return 0;
}

int cw_http_listen(const char *spec, const char *option, unsigned flags, struct cw_http_listener *l,
		   char *msg, size_t cap)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai = NULL;
	char host[64], shown[INET6_ADDRSTRLEN];
	const char *port;
	uint64_t p;
	int one = 1, r, fd;

	l->fd = -1;
	l->unix_path[0] = '\0';
	if ((flags & CW_HTTP_LOCAL_ONLY) && !strncmp(spec, "unix:", 5))
		return listen_unix(spec + 5, option, l, msg, cap);
	if (split_spec(spec, host, sizeof(host), &port) < 0 ||
	    cw_parse_u64(port, 1, 65535, &p) < 0) {
		snprintf(msg, cap,
			 "bad %s '%s': give ADDR:PORT (e.g. 127.0.0.1:9464, [::1]:9464)%s or "
			 "a PORT alone for the loopback address",
			 option, spec, (flags & CW_HTTP_LOCAL_ONLY) ? ", unix:/PATH" : "");
		return -EINVAL;
	}
	/* Only the name every host gives its loopback: no resolver decides where we listen. */
	if ((flags & CW_HTTP_LOCAL_ONLY) && !strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	r = getaddrinfo(host[0] ? host : "127.0.0.1", port, &hints, &ai);
	if (r) {
		snprintf(msg, cap, "bad %s '%s': %s is not a numeric IP address", option, spec,
			 host);
		return -EINVAL;
	}
	if ((flags & CW_HTTP_LOCAL_ONLY) && !is_loopback(ai->ai_addr)) {
		snprintf(msg, cap,
			 "bad %s '%s': %s is not a loopback address; what it serves is for this "
			 "host only: give 127.0.0.1:PORT, [::1]:PORT, localhost:PORT or "
			 "unix:/PATH",
			 option, spec, host);
		freeaddrinfo(ai);
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		r = -errno;
		snprintf(msg, cap, "failed to listen on %s for %s: %s; give a free port", spec,
			 option, strerror(-r));
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
	snprintf(l->where, sizeof(l->where), ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", shown,
		 port);
	l->family = ai->ai_family;
	freeaddrinfo(ai);
	l->fd = fd;
	return 0;
}

void cw_http_listener_close(struct cw_http_listener *l)
{
	if (l->fd < 0)
		return;
	close(l->fd);
	l->fd = -1;
	if (l->unix_path[0])
		unlink(l->unix_path);
	l->unix_path[0] = '\0';
}

int cw_http_accept(int listen_fd, int stop_fd, const char *serves)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN},
				      {.fd = stop_fd, .events = POLLIN}};
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr,
				"crashwatch: the endpoint of %s failed to poll: %s; it is no "
				"longer served\n",
				serves, strerror(errno));
			return -1;
		}
		if (p[1].revents)
			return -1;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0)
			return fd;
		/* The client left already, or out of fds for now: the next one. */
	}
}
