/* SPDX-License-Identifier: MIT */
/*
 * A timeline record's stack: the frame-pointer walk the BPF program made,
 * with the frames it misses put back by CFI.  A function without a frame
 * pointer (most of libc: the one a thread blocks in) hides its caller from
 * a frame-pointer walk; libdwfl unwinds through the copied top of the stack
 * with the modules' .eh_frame, reading the walk's saved words beyond it,
 * and the walk's outer frames follow where CFI cannot go on.
 */
#ifndef CW_TIMELINE_UNWIND_H
#define CW_TIMELINE_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>
#include "crashwatch/timeline.h"

#define CW_TL_UNWIND_MAX 128

struct cw_tl_unwinder;

/*
 * For one process, from its mappings now (NULL when it is gone or has
 * none: cw_tl_unwind then gives the frame-pointer walk as it is).
 */
struct cw_tl_unwinder *cw_tl_unwinder_new(pid_t pid);
void cw_tl_unwinder_free(struct cw_tl_unwinder *u);

/*
 * The pcs of r's stack into pcs, innermost first: pcs[0] the exact ip, the
 * others return addresses.  u may be NULL.  Returns the count.
 */
size_t cw_tl_unwind(struct cw_tl_unwinder *u, const struct cw_tl_record *r, uint64_t *pcs,
		    size_t cap);

/*
 * A function name for a pc of a module the symbolizer cannot open (the
 * vdso, a deleted file), from the modules' symbol tables as libdwfl mapped
 * them; NULL when none.  Owned by u.
 */
const char *cw_tl_unwinder_function(struct cw_tl_unwinder *u, uint64_t pc, bool return_address);

#endif
