/* SPDX-License-Identifier: MIT */
/*
 * A timeline record as it is kept while recording: without the frames it
 * does not have (struct cw_tl_record reserves CW_TL_MAX_FRAMES of them,
 * 1 KiB, where a thread has a handful).  What a recording costs is mostly
 * the memory it keeps growing, page by page.
 */
#ifndef CW_TIMELINE_COMPACT_H
#define CW_TIMELINE_COMPACT_H

#include <stddef.h>

#include <linux/types.h>
#include "crashwatch/timeline.h"

/* The fields before frames[], nframes frames, stack_len bytes of stack. */
size_t cw_tl_compact_size(const struct cw_tl_record *r);

/* A malloc'd compact copy of r, or NULL. */
void *cw_tl_compact(const struct cw_tl_record *r);

/* A malloc'd full record from a compact copy, or NULL. */
struct cw_tl_record *cw_tl_expand(const void *c);

#endif
