/* SPDX-License-Identifier: MIT */
/*
 * Who is at the other end of a connection to an HTTP endpoint of the
 * watcher, for request_auth.h's rules.  A unix socket says it itself
 * (SO_PEERCRED).  A TCP connection over loopback does not: the peer's
 * socket is found by its addresses through NETLINK_SOCK_DIAG (inet_diag:
 * its owner's uid, its inode), and the process holding that inode in
 * /proc/PID/fd.  The uid the kernel recorded for the socket must be the
 * holder's effective uid, or the peer is not trusted.
 */
#ifndef CW_HTTP_PEER_H
#define CW_HTTP_PEER_H

#include <stddef.h>

#include "request_auth.h"

/*
 * The peer of the accepted connection fd (family: the listener's).  0, or
 * -errno with why (one sentence, no period) for the 403.
 */
int cw_http_peer(int fd, int family, struct cw_auth_peer *peer, char *why, size_t cap);

#endif
