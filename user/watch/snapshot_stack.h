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

/* Frames printed, or -errno when the document is unreadable or has no thread. */
int cw_print_snapshot_stack(FILE *out, const char *path);

/* One frame of a document's thread (docs/snapshot.md), numbered i. */
void cw_print_snapshot_frame(FILE *out, size_t i, json_t *f);

#endif
