/* SPDX-License-Identifier: MIT */
/* `crashwatch probes --trace`: attach to probes of files and print each event as it fires. */
#ifndef CW_PROBES_TRACE_H
#define CW_PROBES_TRACE_H

#include <stdbool.h>
#include <sys/types.h>

#include "probe_files.h"

struct cw_probes_trace_opts {
	const char *list;    /* PROVIDER:NAME[,...] */
	const char *program; /* f->v[0], whose processes alone are traced; NULL with pid */
	pid_t pid;	     /* only this process, 0: every process */
	bool json;
	double duration_s; /* 0: until SIGINT or SIGTERM (or pid's end) */
};

/* Until stopped.  0; -EINVAL for a bad list (said); -errno (said). */
int cw_probes_trace(const struct cw_probes_trace_opts *o, struct cw_probe_files *f);

#endif
