// SPDX-License-Identifier: MIT
#include "outcome_index.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "crash_index.h"
#include "event_decode.h"

void cw_outcome_index(const char *spool, const struct cw_signal_event *ev, enum cw_hold_point at,
		      enum cw_crash_snapshot snap, const char *path, const char *cause)
{
	static bool said;
	char exe[4096] = "", comm[CW_COMM_LEN + 1], id[128] = "";
	int64_t ns = cw_boot_to_realtime(ev->hdr.ts_ns);
	const char *base = path && path[0] ? strrchr(path, '/') : NULL;
	size_t len;
	int err;

	if (!spool)
		return;
	if (ev->exe_len)
		cw_exe_path(ev, exe, sizeof(exe));
	memcpy(comm, ev->task.comm, CW_COMM_LEN);
	comm[CW_COMM_LEN] = '\0';
	base = base ? base + 1 : path && path[0] ? path : NULL;
	if (base && (len = strlen(base)) > 5 && len - 5 < sizeof(id) &&
	    !strcmp(base + len - 5, ".json")) {
		memcpy(id, base, len - 5);
		id[len - 5] = '\0';
	}
	err = cw_index_add_crash(spool, &(const struct cw_index_crash){
						.time = (time_t)(ns / 1000000000LL),
						.nsec = (long)(ns % 1000000000LL),
						.pid = (pid_t)ev->task.pid,
						.tid = (pid_t)ev->task.tid,
						.comm = comm,
						.exe = exe,
						.sig = (int)ev->sig,
						.cause = cause,
						.id = id[0] ? id : NULL,
						.snapshot = cw_crash_snapshot_name(snap),
						.held_at = cw_hold_point_name(at),
					});
	if (err < 0 && !said) {
		said = true;
		fprintf(stderr,
			"crashwatch: failed to add a crash to the index %s/%s: %s; `crashwatch "
			"list` will miss crashes until the spool is writable again (said once), "
			"ignoring\n",
			spool, CW_INDEX_FILE, strerror(-err));
	}
}
