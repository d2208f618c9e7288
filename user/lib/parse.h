/* SPDX-License-Identifier: MIT */
/* Strict parsing of command-line values: "12abc", "", overflow are errors. */
#ifndef CW_PARSE_H
#define CW_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* Decimal (or 0x hex) integer in [min, max].  Returns 0 or -EINVAL/-ERANGE. */
int cw_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A size in bytes with an optional K, M or G suffix (powers of 1024). */
int cw_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * A comma-separated list of signals, by name ("SEGV", "SIGSEGV",
 * case-insensitive) or number, into a CW_SIGMASK() mask.  On error
 * *bad points at the offending item.
 */
int cw_parse_signal_list(const char *s, uint64_t *mask, const char **bad);

#endif
