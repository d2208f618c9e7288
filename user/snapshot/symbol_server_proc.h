/* SPDX-License-Identifier: MIT */
/*
 * Running a symbol server (crashwatch-snapshot --symbol-server) for the
 * daemon: started with a lifeline pipe on its stdin, so it ends with its
 * starter even after a SIGKILL; restarted when it died, at most once a
 * second; stopped by closing the lifeline.
 */
#ifndef CW_SYMBOL_SERVER_PROC_H
#define CW_SYMBOL_SERVER_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define CW_SYMBOL_SERVER_START_MS   2000 /* how long start waits for the socket */
#define CW_SYMBOL_SERVER_STOP_MS    2000 /* how long stop waits before SIGKILL */
#define CW_SYMBOL_SERVER_RESTART_MS 1000 /* at most one restart this often */

/* Zero it before cw_symbol_server_start; everything in it is owned by it. */
struct cw_symbol_server {
	pid_t pid;    /* 0: not running */
	int lifeline; /* the write end of the server's stdin; -1 when closed */
	char *tool_path;
	char *sock_path;
	uint64_t cache_bytes; /* 0: the tool's default */
	/* Its --debug-dir directories (not copied: they outlive it). */
	const char *const *debug_dirs;
	unsigned n_debug_dirs;
	struct timespec last_start; /* CLOCK_MONOTONIC */
	unsigned restarts;
};

/*
 * Spawn tool_path in server mode on sock_path and wait until the socket
 * accepts.  0, or -errno after a message on stderr ("failed to <verb>
 * <object>: <reason>"); nothing is left running on failure.
 */
int cw_symbol_server_start(struct cw_symbol_server *s, const char *tool_path, const char *sock_path,
			   uint64_t cache_bytes, const char *const *debug_dirs,
			   unsigned n_debug_dirs);

/*
 * Is it running?  Reaps it when it died (said on stderr) and starts it
 * again, unless it was started less than CW_SYMBOL_SERVER_RESTART_MS ago.
 */
bool cw_symbol_server_alive(struct cw_symbol_server *s);

/* Close the lifeline, reap it (SIGKILL after CW_SYMBOL_SERVER_STOP_MS), free everything. */
void cw_symbol_server_stop(struct cw_symbol_server *s);

#endif
