/* SPDX-License-Identifier: MIT */
/* Checking ring-buffer records against include/crashwatch/events.h, and small decoders. */
#ifndef CW_EVENT_DECODE_H
#define CW_EVENT_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>
#include "crashwatch/events.h"

/* The record's kind if it is well-formed and of a version we read, else -EBADMSG. */
int cw_event_check(const void *data, size_t size);

/* Join the leaf-first path components of a signal record into "/a/b/leaf". */
void cw_exe_path(const struct cw_signal_event *ev, char *out, size_t cap);

/* CLOCK_BOOTTIME ns to CLOCK_REALTIME ns, with an offset taken once at start. */
void cw_clock_init(void);
int64_t cw_boot_to_realtime(uint64_t boot_ns);

/* "2026-11-23T18:40:01.123456Z" */
void cw_format_time(uint64_t boot_ns, char *out, size_t cap);

#endif
