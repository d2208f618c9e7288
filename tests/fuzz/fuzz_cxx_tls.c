// SPDX-License-Identifier: MIT
/*
 * The code of a libstdc++'s __cxa_get_globals, as the snapshot tool reads it
 * from whatever libstdc++ a process maps: decoded for where its TLS index is.
 * Any bytes: an answer or -ENOEXEC, never a read past them.
 */
#include "fuzz.h"

#include <errno.h>

#include "cxx_exception.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *code = malloc(size ? size : 1);
	uint64_t got = 0, add = 0;
	int r;

	if (!code)
		abort();
	memcpy(code, data, size);
	r = cw_cxx_decode_get_globals(code, size, 0xa80e0, &got, &add);
	if (r != 0 && r != -ENOEXEC)
		abort();
	free(code);
	return 0;
}
