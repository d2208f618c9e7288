/* SPDX-License-Identifier: MIT */
/*
 * The query of GET /debug/timeline (--http): pid (required), seconds and hz
 * checked as fgtrace's ServeHTTP checks them (seconds a float > 0, hz an
 * integer > 0; an empty value is the default), each also bounded here, and
 * state-frames.  A refusal is fgtrace's 400 body: `bad hz: "x": <reason>\n`,
 * the reason as Go's strconv says it.
 */
#ifndef CW_TIMELINE_HTTP_PARAMS_H
#define CW_TIMELINE_HTTP_PARAMS_H

#include <stddef.h>
#include <sys/types.h>

#include "timeline_json.h"

#define CW_TL_HTTP_DEFAULT_SECONDS 30.0 /* fgtrace's defaultHTTPDuration */
#define CW_TL_HTTP_MAX_SECONDS	   300
#define CW_TL_HTTP_MAX_HZ	   1000

struct cw_tl_http_params {
	pid_t pid;
	double seconds;
	unsigned hz;
	enum cw_tl_state_frames frames;
};

/*
 * 0, or -EINVAL with the 400's body (one line, newline-terminated) in body:
 * 640 bytes hold any (a value is at most 64 bytes, quoted twice).
 */
int cw_tl_http_params_parse(const char *query, struct cw_tl_http_params *p, char *body, size_t cap);

#endif
