/* SPDX-License-Identifier: MIT */
/*
 * What the watcher does with a crash, from the kernel's record to its
 * outcome: the ledger of recent crashes, admission (rate limit, dedup),
 * holds (run on the hold pool, never on the watcher's thread), partial
 * snapshots where no hold caught a crash, the records printed, the spool
 * kept in bounds and the uploader told.  It owns all of that state; the
 * watcher's loop only hands it records and calls.
 */
#ifndef CW_CRASH_FLOW_H
#define CW_CRASH_FLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/types.h>
#include "admission.h"
#include "core_install.h"
#include "crash_ledger.h"
#include "crash_stats.h"
#include "counter_sink.h"
#include "crashwatch/events.h"
#include "event_format.h"
#include "flight_recorder.h"
#include "hold_pool.h"
#include "hold_registry.h"
#include "request_server.h"
#include "scope.h"
#include "symbol_server_proc.h"
#include "symbolize.h"
#include "uploader.h"
#include "usdt_attach.h"
#include "watch_options.h"

struct cw_crash_flow_config {
	const struct cw_watch_options *o; /* hold, rate and spool bounds, upload mode... */
	struct cw_format_options fmt;
	const char *spool;	/* NULL: no spool (report only) */
	const char *tool;	/* the snapshot tool */
	const char *registry;	/* the SIGSTOP holds in flight, for the watchdog */
	bool symbol_server;	/* the tool is crashwatch-snapshot: run its symbol server */
	struct cw_uploader *up; /* up->target NULL: no uploads */
	double upload_timeout_s;
	struct cw_scope *scope;
	struct cw_symbolizer *sym;
	struct cw_flight_recorder *flight; /* NULL: no timeline beside snapshots */
};

struct cw_crash_flow {
	struct cw_crash_flow_config c;
	/* Why a crash no hold caught got only its first capture (set by the watcher). */
	char why_unheld[4608];
	struct cw_crash_ledger ledger; /* recent crashes, when holding */
	struct cw_admission adm;       /* which crashes get a snapshot */
	struct cw_hold_registry registry;
	struct cw_hold_pool pool;
	struct cw_symbol_server symbols; /* warm across crashes; pid 0 when not running */
	uint64_t spool_dropped, partial_snapshots, holds_started, hold_queue_full;
	/* Documents the spool did not take; said at most once a minute, with the count since. */
	uint64_t spool_write_failed, spool_fail_unsaid;
	double spool_fail_said_at; /* monotonic s, 0: never said */
	char unwritten_why[4800];  /* a record's why_partial when its document was not written */
	char partial_cause[512];   /* the partial snapshot's cause line, for its record */
	struct cw_crash_stats stats;
	bool started;
	/* The request socket, when listening: finished request jobs are answered there. */
	struct cw_request_server *requests;
	/* --snapshot-on: the attachments (set once the detector runs), and each probe's
	 * record until its held signal record comes (by thread). */
	struct cw_usdt_set *usdt;
	struct cw_usdt_event usdt_pending[16];
	uint64_t usdt_snapshots, usdt_suppressed;
};

/* Allocate c->holding's state and start the hold pool.  0 or -errno (said on stderr). */
int cw_crash_flow_start(struct cw_crash_flow *f, const struct cw_crash_flow_config *c);

/* A record from the kernel (checked by cw_event_check). */
void cw_crash_flow_signal(struct cw_crash_flow *f, const struct cw_signal_event *ev);
void cw_crash_flow_exit(struct cw_crash_flow *f, const struct cw_exit_event *x);
/* A USDT probe fired (--snapshot-on); its held signal record (CW_SIG_AT_USDT) follows. */
void cw_crash_flow_usdt(struct cw_crash_flow *f, const struct cw_usdt_event *ev);

/*
 * A core dump held back by call (taken) for crashwatch: pid's thread tid
 * dumps for signal sig (0: not said).  The kernel's records read before.
 */
void cw_crash_flow_core_dump(struct cw_crash_flow *f, struct cw_core_call *call, pid_t pid,
			     pid_t tid, int sig);

/*
 * A snapshot asked for on the request socket (request_server.h): may it be
 * taken under the global rate limit (crashes keep the last half of the
 * burst; *wait_s when not), and handed to the request workers (false:
 * their queue is full, the job stays the caller's).
 */
bool cw_crash_flow_admit_request(struct cw_crash_flow *f, double *wait_s);
bool cw_crash_flow_submit_request(struct cw_crash_flow *f, struct cw_hold_job *j);

/* Readable when holds have finished: then call cw_crash_flow_holds_done().  -1 when not holding. */
int cw_crash_flow_done_fd(const struct cw_crash_flow *f);
void cw_crash_flow_holds_done(struct cw_crash_flow *f);

/* Where the symbol server listens. */
#define CW_SYMBOL_SOCKET CW_STATE_DIR "/symbols.sock"

/* Periodic work: aggregates of suppressed crashes; a symbol server that died restarted. */
void cw_crash_flow_tick(struct cw_crash_flow *f);

/* Every hold ends (processes released, outcomes written), aggregates flushed. */
void cw_crash_flow_stop(struct cw_crash_flow *f);
void cw_crash_flow_free(struct cw_crash_flow *f);

/* Each of its counters, through the sink. */
void cw_crash_flow_emit_counters(struct cw_crash_flow *f, struct cw_counter_sink *s);

#endif
