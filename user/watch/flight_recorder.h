/* SPDX-License-Identifier: MIT */
/*
 * The flight recorder (watch --flight-recorder=SECONDS): the timeline
 * programs record every watched thread all along; the watcher keeps the
 * last SECONDS of records in a ring of at most --flight-recorder-size
 * bytes, the oldest forgotten first.  At a crash, while the process is
 * held, the crashing process's records up to now become a timeline file
 * beside its snapshot (timeline_json.h).
 *
 * The watcher's thread feeds it (cw_flight_consume); hold threads take
 * timelines (cw_flight_write_timeline): a mutex keeps them apart.
 */
#ifndef CW_FLIGHT_RECORDER_H
#define CW_FLIGHT_RECORDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "scope.h"
#include "timeline_json.h"
#include "timeline_recorder.h"

#define CW_FLIGHT_DEFAULT_BYTES (64ULL << 20)
#define CW_FLIGHT_MAX_SECONDS	3600

struct cw_flight_recorder {
	pthread_mutex_t lock;
	bool started;
	struct cw_tl_recorder rec;
	unsigned hz;
	uint64_t window_ns;
	bool flush_by_pid; /* pids are the host's: the task iterator can be narrowed to one */
	/* The ring: compacted records, oldest at first. */
	void **v;
	size_t cap, first, n;
	uint64_t bytes, max_bytes, peak_bytes;
	uint64_t kept, forgotten_full; /* forgotten_full: pushed out by the size bound */
	uint64_t timelines, timeline_failed;
};

/* Start recording the scope.  0 or -errno (said on stderr). */
int cw_flight_start(struct cw_flight_recorder *f, double seconds, uint64_t max_bytes,
		    const struct cw_scope *scope);

/* Polls readable when records wait: then cw_flight_consume. */
int cw_flight_fd(const struct cw_flight_recorder *f);
int cw_flight_consume(struct cw_flight_recorder *f);

/*
 * pid's timeline, the last SECONDS up to now, into a new file in dir
 * (".timeline-PID-NS.json": hidden from the spool until the snapshot tool
 * names it after its snapshot); its path in path.  0, -ENOENT (nothing
 * recorded of pid), or -errno.
 */
int cw_flight_write_timeline(struct cw_flight_recorder *f, pid_t pid, const char *dir, char *path,
			     size_t cap);

/* " flight_records=N ..." */
struct cw_counter_sink;
void cw_flight_emit_counters(struct cw_flight_recorder *f, struct cw_counter_sink *s);

/* Safe on a zeroed recorder. */
void cw_flight_stop(struct cw_flight_recorder *f);

#endif
