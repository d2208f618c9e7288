/* SPDX-License-Identifier: MIT */
/*
 * One HTTP exchange on a non-blocking socket, bounded in time: the head
 * read whole (at most CW_HTTP_HEAD_MAX bytes), answers written with a
 * deadline.  Shared by the watcher's HTTP endpoints (/metrics,
 * /debug/timeline) so that both treat slow clients alike.
 */
#ifndef CW_HTTP_CONN_H
#define CW_HTTP_CONN_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds: what every deadline here is in. */
int64_t cw_http_now_ms(void);

/* All of buf, or -EIO (the client left, or was too slow). */
int cw_http_send_all(int fd, const char *buf, size_t len, int64_t deadline);

/*
 * Read until buf holds a whole request head: its length in *end and 0;
 * -E2BIG when it does not fit in cap, -ETIMEDOUT, -EIO (the client left),
 * or -ECANCELED once cancel_fd (-1: none) is readable (the watcher stops).
 */
int cw_http_read_head(int fd, char *buf, size_t cap, size_t *end, int64_t deadline, int cancel_fd);

/*
 * A whole answer that closes the connection.  extra: more header lines,
 * each ending in CRLF, or NULL.  Best effort: a client gone is no error.
 */
void cw_http_answer(int fd, const char *status, const char *type, const char *extra,
		    const char *body, size_t len, int64_t deadline);

/* A plain-text answer of one line (text ends in a newline). */
void cw_http_answer_text(int fd, const char *status, const char *extra, const char *text,
			 int64_t deadline);

#endif
