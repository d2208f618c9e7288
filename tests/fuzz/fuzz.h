/* SPDX-License-Identifier: MIT */
/* What the libFuzzer harnesses share (tests/fuzz/fuzz_*.c; `make fuzz`). */
#ifndef CW_FUZZ_H
#define CW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the formatters write: read by nobody, opened once. */
static inline FILE *fuzz_devnull(void)
{
	static FILE *f;

	if (!f && !(f = fopen("/dev/null", "we")))
		abort();
	return f;
}

/* The input as a NUL-terminated string (malloc'd: ASan sees reads past its end). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
