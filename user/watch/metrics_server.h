/* SPDX-License-Identifier: MIT */
/*
 * --metrics=ADDR:PORT: GET /metrics on a thread of its own, one connection
 * at a time, each bounded in size and time.  The thread never reads the
 * watcher's counters: it asks for them (want_fd becomes readable), the
 * watcher's loop renders them between crashes and publishes the text, and
 * a scrape that is not answered within a second gets the last text.  A
 * slow or hostile client thus never delays crash handling.
 */
#ifndef CW_METRICS_SERVER_H
#define CW_METRICS_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cw_metrics_server {
	int listen_fd, want_fd, stop_fd; /* -1 when not open */
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *text; /* the last published, owned */
	size_t len;
	uint64_t published, wanted; /* generations */
	char where[120];	    /* "127.0.0.1:9464", for messages */
};

/*
 * Parse ADDR:PORT ("[::1]:9464"; PORT alone or ":PORT" is 127.0.0.1),
 * bind, listen, start the thread.  0 or -errno, said in msg.
 */
int cw_metrics_server_start(struct cw_metrics_server *m, const char *spec, char *msg, size_t cap);

/* Readable when a scrape waits: read it (cw_metrics_server_wanted), then publish. */
int cw_metrics_server_want_fd(const struct cw_metrics_server *m);
void cw_metrics_server_wanted(struct cw_metrics_server *m);

/* The text of the counters now; ownership of text moves to m. */
void cw_metrics_server_publish(struct cw_metrics_server *m, char *text, size_t len);

/* Ends the thread, closes everything; safe on one never started. */
void cw_metrics_server_stop(struct cw_metrics_server *m);

#endif
