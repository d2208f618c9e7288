/* SPDX-License-Identifier: MIT */
/* Asking a symbol server (crashwatch-snapshot --symbol-server) about one module's addresses. */
#ifndef CW_SYMBOL_CLIENT_H
#define CW_SYMBOL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbol_protocol.h"

struct cw_symbol_client {
	int fd; /* -1: not connected, or given up on */
	unsigned timeout_ms;
};

/* 0 or -errno (the server is not there). */
int cw_symbol_client_connect(struct cw_symbol_client *c, const char *sock_path,
			     unsigned timeout_ms);
void cw_symbol_client_close(struct cw_symbol_client *c);

/* One answer: i indexes the addresses asked; strings valid only during the call. */
typedef void (*cw_symbol_answer_fn)(void *arg, size_t i, uint64_t function_offset,
				    const char *function, const char *file, int line);

/*
 * Ask about addrs (ELF addresses of the module with this build-id, whose
 * file is elf_fd, named name).  0: every address answered.  A negative
 * errno: -ESTALE, -EINVAL… the server could not answer for this module (ask
 * it about others); when the server itself failed (gone, timed out, an
 * answer that is not one) the client is closed (c->fd is -1) as well.
 */
int cw_symbol_client_lookup(struct cw_symbol_client *c, const uint8_t *build_id,
			    size_t build_id_len, const char *name, int elf_fd, bool source_lines,
			    const uint64_t *addrs, size_t n, cw_symbol_answer_fn fn, void *arg);

/* The server's counters.  0 or -errno. */
int cw_symbol_client_stats(struct cw_symbol_client *c, struct cw_sym_stats *out);

#endif
