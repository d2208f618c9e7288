/* SPDX-License-Identifier: MIT */
/*
 * What `crashwatch core-handler` (run by kernel.core_pattern's pipe) and the
 * watcher say to each other on CW_CORE_SOCKET (SOCK_SEQPACKET): the handler
 * sends one request, "PID TID SIG" (the dumping process and thread as the
 * host numbers them, the signal), and waits for CW_CORE_CALL_GO, sent once
 * every thread is seized, before it lets the dump finish.  The kernel's own
 * coredump socket (Linux >= 6.17) is another protocol: coredump_socket.h.
 */
#ifndef CW_CORE_CALL_PROTOCOL_H
#define CW_CORE_CALL_PROTOCOL_H

#include <stddef.h>
#include <sys/types.h>

#define CW_CORE_CALL_MAX 96 /* bytes of a request, NUL included */
#define CW_CORE_CALL_GO	 "go"

/* The request's text into buf; its length, or -ENAMETOOLONG. */
int cw_core_call_format(char *buf, size_t cap, long pid, long tid, int sig);

/* A request as received (len bytes, not NUL-terminated): 0, or -EBADMSG. */
int cw_core_call_parse(const char *msg, size_t len, pid_t *pid, pid_t *tid, int *sig);

#endif
