/* SPDX-License-Identifier: MIT */
/*
 * The listening socket of an HTTP endpoint of the watcher, from the address
 * its option gives: ADDR:PORT, [ADDR6]:PORT, :PORT or PORT alone (then
 * 127.0.0.1), numeric.  With CW_HTTP_LOCAL_ONLY (--http) also localhost:PORT
 * and unix:/PATH, and any address that is not a loopback one is refused:
 * what it serves is not for the network.
 */
#ifndef CW_HTTP_LISTEN_H
#define CW_HTTP_LISTEN_H

#include <stddef.h>
#include <sys/un.h>

#define CW_HTTP_LOCAL_ONLY 1u

struct cw_http_listener {
	int fd;	    /* -1 when not open */
	int family; /* AF_INET, AF_INET6 or AF_UNIX */
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* removed at close */
	char where[sizeof(((struct sockaddr_un *)0)->sun_path) + 8]; /* "127.0.0.1:9464" */
};

/*
 * Bind and listen (non-blocking, close-on-exec).  option names the flag in
 * messages ("--metrics").  0, or -errno with the reason in msg.
 */
int cw_http_listen(const char *spec, const char *option, unsigned flags, struct cw_http_listener *l,
		   char *msg, size_t cap);

/*
 * The next client of an endpoint's thread: its fd (non-blocking,
 * close-on-exec), or -1 once stop_fd is readable or poll fails (said, with
 * what is then no longer served, e.g. "/metrics").
 */
int cw_http_accept(int listen_fd, int stop_fd, const char *serves);

/* Close, and remove a unix socket's file; safe on one never opened (fd -1). */
void cw_http_listener_close(struct cw_http_listener *l);

#endif
