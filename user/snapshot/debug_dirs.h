/* SPDX-License-Identifier: MIT */
/*
 * Where libdwfl looks for debug files (--debug-dir): the Dwfl_Callbacks.debuginfo_path string
 * of every Dwfl the snapshot tool and its symbol server begin.
 */
#ifndef CW_DEBUG_DIRS_H
#define CW_DEBUG_DIRS_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>

#define CW_MAX_DEBUG_DIRS 16

/* libdwfl's own search, after the given directories. */
#define CW_DEFAULT_DEBUGINFO_PATH ":.debug:/usr/lib/debug"

/*
 * NULL until cw_debug_dirs_set: libdwfl's default.  Dwfl_Callbacks.debuginfo_path points here.
 */
extern char *cw_debuginfo_path;

/* Why dir cannot be one (absolute, no ':'), or NULL when it can. */
const char *cw_debug_dir_invalid(const char *dir);

/*
 * The directories first, each searched by build-id (.build-id/xx/yyyy.debug) and by
 * .gnu_debuglink as /usr/lib/debug is, then libdwfl's default.  0 or -errno.
 */
int cw_debug_dirs_set(const char *const *dirs, size_t n);

/*
 * debuginfod (DEBUGINFOD_URLS, libdw's client) never waits longer than this without progress
 * unless DEBUGINFOD_TIMEOUT says otherwise, nor downloads longer than CW_DEBUGINFOD_MAXTIME.
 */
#define CW_DEBUGINFOD_TIMEOUT	  "5"
#define CW_DEBUGINFOD_MAXTIME	  "10"
#define CW_DEBUGINFOD_RETRY_LIMIT "0" /* a server that timed out is not asked again at once */
void cw_debuginfod_bound(bool symbol_server);

/*
 * What one snapshot spends finding debug files, debuginfod included: past this many
 * milliseconds the rest is looked for locally only (DEBUGINFOD_URLS is unset), so that a
 * slow server asked for module after module stays within the tool's --timeout.
 */
#define CW_DEBUGINFOD_BUDGET_MS 10000
#define CW_DEBUGINFOD_SLOW_MS	1000  /* one lookup that found nothing in longer than this */
#define CW_DEBUGINFOD_PAUSE_MS	60000 /* the symbol server: how long a slow server is left */

/*
 * dwfl_standard_find_debuginfo within CW_DEBUGINFOD_BUDGET_MS (the tool), or leaving a slow
 * server alone for CW_DEBUGINFOD_PAUSE_MS (the symbol server, no budget in all).
 */
int cw_find_debuginfo_bounded(Dwfl_Module *mod, void **userdata, const char *modname,
			      GElf_Addr base, const char *file_name, const char *debuglink_file,
			      GElf_Word debuglink_crc, char **debuginfo_file_name);

#endif
