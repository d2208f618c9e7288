// SPDX-License-Identifier: MIT
#include "timeline_compact.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FIXED_PART offsetof(struct cw_tl_record, frames)

size_t cw_tl_compact_size(const struct cw_tl_record *r)
{
	return FIXED_PART + r->nframes * sizeof(r->frames[0]) + r->stack_len;
}

void *cw_tl_compact(const struct cw_tl_record *r)
{
	size_t frames = r->nframes * sizeof(r->frames[0]);
	uint8_t *c = malloc(cw_tl_compact_size(r));

	if (!c)
		return NULL;
	memcpy(c, r, FIXED_PART);
	memcpy(c + FIXED_PART, r->frames, frames);
	memcpy(c + FIXED_PART + frames, r->stack, r->stack_len);
	return c;
}

struct cw_tl_record *cw_tl_expand(const void *c)
{
	const struct cw_tl_record *head = c;
	size_t frames = head->nframes * sizeof(head->frames[0]);
	struct cw_tl_record *r = malloc(sizeof(*r));

	if (!r)
		return NULL;
	/* Only what the record has: frames and stack past it are never read. */
	memcpy(r, c, FIXED_PART);
	memcpy(r->frames, (const uint8_t *)c + FIXED_PART, frames);
	memcpy(r->stack, (const uint8_t *)c + FIXED_PART + frames, head->stack_len);
	return r;
}
