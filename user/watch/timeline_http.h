/* SPDX-License-Identifier: MIT */
/*
 * --http=ADDR: fgtrace's endpoint, GET /debug/timeline?pid=&seconds=&hz=,
 * served on threads of its own so that the watcher's loop and crash
 * handling never wait for it: one accepts, each connection has one.  Each
 * recording is a child of its connection's thread (timeline_http_record.h).
 * At most CW_TL_HTTP_MAX_RECORDINGS at once (then 503 with Retry-After), at
 * most CW_TL_HTTP_MAX_CONNS connections (then 503).  Who may record which
 * process: request_auth.h's rules, the peer found by http_peer.h.
 */
#ifndef CW_TIMELINE_HTTP_H
#define CW_TIMELINE_HTTP_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "counter_sink.h"
#include "http_listen.h"

#define CW_TL_HTTP_MAX_RECORDINGS 2
#define CW_TL_HTTP_MAX_CONNS	  8

enum cw_tl_http_counter {
	CW_TL_HTTP_REQUESTS,   /* every request answered or cut off */
	CW_TL_HTTP_RECORDINGS, /* traces served whole */
	CW_TL_HTTP_BAD,	       /* 400, 404, 405, 431 */
	CW_TL_HTTP_REFUSED,    /* 403 */
	CW_TL_HTTP_BUSY,       /* 503 */
	CW_TL_HTTP_FAILED,     /* the recording failed, overran, or the watcher stopped */
	CW_TL_HTTP_CUT_OFF,    /* the client left or was too slow */
	CW_TL_HTTP_NR_COUNTERS
};

struct cw_tl_http_server;

struct cw_tl_http_conn {
	struct cw_tl_http_server *s;
	pthread_t thread;
	int fd;
	bool busy, done; /* done: the thread ended, join it */
};

struct cw_tl_http_server {
	struct cw_http_listener l;
	int stop_fd; /* readable once the watcher stops */
	pthread_t thread;
	bool running, started; /* started: its counters stay after the stop */
	char self[PATH_MAX];   /* this executable, run as `crashwatch timeline` */
	pthread_mutex_t lock;
	struct cw_tl_http_conn conns[CW_TL_HTTP_MAX_CONNS];
	int64_t recording_until[CW_TL_HTTP_MAX_RECORDINGS]; /* monotonic ms; 0: free */
	uint64_t counters[CW_TL_HTTP_NR_COUNTERS];	    /* atomic adds */
};

/* Listen on spec (http_listen.h, CW_HTTP_LOCAL_ONLY) and start.  0 or -errno, said in msg. */
int cw_tl_http_start(struct cw_tl_http_server *s, const char *spec, char *msg, size_t cap);

/* Kill and reap every recording, end every thread, remove a unix socket; safe if not started. */
void cw_tl_http_stop(struct cw_tl_http_server *s);

void cw_tl_http_emit_counters(struct cw_tl_http_server *s, struct cw_counter_sink *sink);

/* For the connection threads: count c; count c and answer text with status. */
void cw_tl_http_count(struct cw_tl_http_server *s, enum cw_tl_http_counter c);
void cw_tl_http_refuse(struct cw_tl_http_server *s, int fd, enum cw_tl_http_counter c,
		       const char *status, const char *extra, const char *text);

#endif
