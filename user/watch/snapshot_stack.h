/* SPDX-License-Identifier: MIT */
/*
 * The faulted thread of a snapshot document, as the watcher's readable
 * output shows a stack: CFI-unwound and symbolized by the snapshot tool,
 * where the kernel's frame-pointer walk stops or loops (glibc, abort()).
 */
#ifndef CW_SNAPSHOT_STACK_H
#define CW_SNAPSHOT_STACK_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/*
 * What the watcher's record says of a written snapshot: its cause line
 * (cause[0] = 0 when it has none) and the faulted thread's frames as the
 * readable output prints them (*stack malloc'd, NULL when there are none;
 * stack may be NULL).
 * 0, or -errno when the document is unreadable.  The hold's worker calls
 * it, so the watcher's loop never parses a document (2.4 MiB with 1,000
 * goroutines).
 */
int cw_snapshot_summary(const char *path, char *cause, size_t cap, char **stack);

/* One frame of a document's thread (docs/snapshot.md), numbered i. */
void cw_print_snapshot_frame(FILE *out, size_t i, json_t *f);

#endif
