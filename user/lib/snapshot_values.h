/* SPDX-License-Identifier: MIT */
/*
 * How the snapshot document (docs/snapshot.md) writes its values: addresses
 * as hex strings, times as UTC text, the host, the register names.  Shared
 * by the document's writer and by the watcher's own records.
 */
#ifndef CW_SNAPSHOT_VALUES_H
#define CW_SNAPSHOT_VALUES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

json_t *cw_json_hex(uint64_t v); /* "0x…": JSON numbers lose bits above 2^53 */

/* "2026-11-23T19:10:28.913915Z" */
void cw_iso_time(const struct timespec *ts, char *out, size_t cap);

/* A CLOCK_BOOTTIME time (the kernel's records) in CLOCK_REALTIME; needs cw_clock_init(). */
struct timespec cw_boot_timespec(uint64_t boot_ns);

/* A CLOCK_BOOTTIME time as the snapshot's UTC text. */
json_t *cw_boot_time_json(uint64_t boot_ns);

/* {"hostname", "kernel", "arch"} of this host. */
json_t *cw_host_json(void);

/* Lowercase DWARF-order register names for x86_64 (17). */
#define CW_DWARF_REGS 17
extern const char *const cw_dwarf_reg_names[CW_DWARF_REGS];

#endif
