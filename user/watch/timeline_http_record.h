/* SPDX-License-Identifier: MIT */
/*
 * One recording for GET /debug/timeline (timeline_http.h): a `crashwatch
 * timeline --output=-` child of the connection's thread, its trace carried
 * to the client as it comes (chunked for HTTP/1.1, a close-ended body for
 * 1.0).  The child is killed when the client leaves, when it overruns its
 * seconds by a minute, or at the watcher's stop, and reaped in every case.
 */
#ifndef CW_TIMELINE_HTTP_RECORD_H
#define CW_TIMELINE_HTTP_RECORD_H

#include <stdbool.h>

#include "request_auth.h"
#include "timeline_http.h"
#include "timeline_http_params.h"

/* Record p for peer (already judged) and answer on fd: the trace, a 500 or a 503. */
void cw_tl_http_record(struct cw_tl_http_server *s, int fd, bool chunked,
		       const struct cw_tl_http_params *p, const struct cw_auth_peer *peer);

#endif
