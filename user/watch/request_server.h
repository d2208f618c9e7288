/* SPDX-License-Identifier: MIT */
/*
 * The request socket (CW_REQUEST_SOCKET, include/crashwatch/request.h): a
 * program, `crashwatch snapshot` or libcrashwatch asks the watcher for a
 * snapshot of a live process.  Everything here runs on the watcher's
 * thread and never blocks: connections are non-blocking and read when
 * epoll says so, a bounded number at once, each given a second to send its
 * one request.  A request is checked (its format, who asks for what:
 * request_auth.h, the requester's rate, the global one), then handed to the
 * hold pool's request workers (hold_pool.h): never a crash's worker, never
 * its queue.  The answer goes back when the snapshot is written, or at
 * once without CW_REQ_WAIT.
 */
#ifndef CW_REQUEST_SERVER_H
#define CW_REQUEST_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "crashwatch/request.h"
#include "rate_limit.h"

#define CW_REQUEST_CONNS_MAX  32    /* connections that have not sent their request yet */
#define CW_REQUEST_USERS_MAX  64    /* requesting users whose rate is remembered */
#define CW_REQUEST_WAIT_S     1.0   /* a connection must send its request within this */
#define CW_REQUEST_DEFAULT_MS 10000 /* a request's timeout when it gives none */

struct cw_crash_flow;
struct cw_hold_job;

struct cw_request_conn {
	int fd;
	struct ucred peer;
	double deadline; /* monotonic s */
};

struct cw_requester {
	uid_t uid;
	bool used;
	double last; /* monotonic s: the least recently seen one makes room */
	struct cw_token_bucket bucket;
};

struct cw_request_server {
	int fd;	  /* listening, -1 */
	int epfd; /* the watcher's epoll: connections are added to it */
	struct cw_crash_flow *flow;
	double rate, burst; /* per requesting user */
	unsigned max_timeout_s;
	struct cw_request_conn conns[CW_REQUEST_CONNS_MAX];
	unsigned n_conns;
	struct cw_requester users[CW_REQUEST_USERS_MAX];
	unsigned char buf[CW_REQ_MAX + 1];
	/* Counters (SIGUSR1). */
	uint64_t received, accepted, written, failed, refused, rate_limited, busy, malformed;
	uint64_t refused_unsaid;
	double refused_said_at;
};

struct cw_request_server_config {
	struct cw_crash_flow *flow;
	int epfd;
	double rate, burst;	/* --request-rate, --request-burst */
	unsigned max_timeout_s; /* --hold-timeout: the longest a request may take */
};

/* Listen on path (mode 0666: who may ask is decided per request).  0 or -errno, said. */
int cw_request_server_start(struct cw_request_server *s, const struct cw_request_server_config *c,
			    const char *path);

/* Whether fd is the server's (its socket or a connection): then call _ready. */
bool cw_request_server_owns(const struct cw_request_server *s, int fd);
void cw_request_server_ready(struct cw_request_server *s, int fd);

/* Connections that sent nothing in time are closed. */
void cw_request_server_tick(struct cw_request_server *s);

/*
 * A request job finished (taken from the pool): its answer sent, its
 * record printed.  Whether it wrote a snapshot into the spool.
 */
bool cw_request_server_done(struct cw_request_server *s, struct cw_hold_job *j, bool json_records);

/* Stop listening: the socket is closed and removed, pending connections closed. */
void cw_request_server_stop(struct cw_request_server *s, const char *path);

struct cw_counter_sink;
void cw_request_server_emit_counters(const struct cw_request_server *s, struct cw_counter_sink *k);

#endif
