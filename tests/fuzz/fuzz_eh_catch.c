// SPDX-License-Identifier: MIT
/*
 * A frame's exception tables, as the snapshot tool reads them from whatever
 * executable a panicking Rust program runs: .eh_frame and .gcc_except_table
 * (the input split at its first byte's share), asked about a few pcs.  An
 * answer (0, 1) or -EBADMSG; never a read past the bytes or a loop.
 */
#include "fuzz.h"

#include <errno.h>

#include "eh_catch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t pcs[] = {0x1000, 0x1010, 0x2000, 0x10ff0};
	struct cw_eh_section frame, except;
	uint8_t *copy;
	size_t split;

	if (size < 1)
		return 0;
	split = (size_t)data[0] * (size - 1) / 255;
	copy = malloc(size);
	if (!copy)
		abort();
	memcpy(copy, data + 1, size - 1);
	frame = (struct cw_eh_section){copy, split, 0x1000};
	except = (struct cw_eh_section){copy + split, size - 1 - split, 0x10000};
	for (size_t i = 0; i < sizeof(pcs) / sizeof(pcs[0]); i++) {
		int r = cw_eh_catches(&frame, &except, pcs[i]);

		if (r != 0 && r != 1 && r != -EBADMSG)
			abort();
	}
	free(copy);
	return 0;
}
