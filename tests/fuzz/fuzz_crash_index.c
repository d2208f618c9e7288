// SPDX-License-Identifier: MIT
/*
 * The crash index as `crashwatch list` reads it (SPOOL/.index.jsonl): any
 * bytes give an array of checked entries, at most CW_INDEX_MAX_ENTRIES,
 * each with the fields list prints of the types it prints them as.
 */
#include "fuzz.h"

#include "crash_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact copy: ASan sees a read past the end of the file's bytes. */
	char *buf = malloc(size ? size : 1);
	json_t *all, *c;
	size_t bad, i;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	all = cw_index_parse(buf, size, 1796000000, &bad);
	if (!all || json_array_size(all) > CW_INDEX_MAX_ENTRIES)
		abort();
	json_array_foreach(all, i, c)
	{
		if (!json_is_string(json_object_get(c, "time")) ||
		    !json_is_integer(json_object_get(c, "pid")) ||
		    !json_is_string(json_object_get(c, "snapshot")) ||
		    !json_is_string(json_object_get(c, "held_at")))
			abort();
	}
	json_decref(all);
	free(buf);
	return 0;
}
