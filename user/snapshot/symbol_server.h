/* SPDX-License-Identifier: MIT */
/*
 * crashwatch-snapshot --symbol-server=SOCKPATH: answers symbol lookups
 * (symbol_protocol.h) from modules kept warm across snapshots, until its
 * stdin reaches EOF (the lifeline of whoever started it) or SIGTERM.
 */
#ifndef CW_SYMBOL_SERVER_H
#define CW_SYMBOL_SERVER_H

#include <stdint.h>

#define CW_SYM_DEFAULT_CACHE_BYTES (256ULL << 20)

/* Serve on sock_path (made mode 0600, removed at exit).  0, or 1 after a message. */
int cw_symbol_server_run(const char *sock_path, uint64_t cache_bytes);

#endif
