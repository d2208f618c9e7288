/* SPDX-License-Identifier: MIT */
/*
 * Goroutine tracks: what the timeline BPF programs need to tell which
 * goroutine a Go process's thread runs (crashwatch/timeline.h's
 * cw_tl_go_proc), from its executable as the snapshot tool reads it.
 */
#ifndef CW_TIMELINE_GO_H
#define CW_TIMELINE_GO_H

#include <sys/types.h>

#include <linux/types.h>
#include "crashwatch/timeline.h"

/*
 * 0 with out set; -ENOEXEC: no Go program (or none this can read: err says
 * why when set); other -errno: the process could not be read.
 */
int cw_tl_go_proc_read(pid_t pid, struct cw_tl_go_proc *out, char *err, size_t cap);

#endif
