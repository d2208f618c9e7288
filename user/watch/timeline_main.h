/* SPDX-License-Identifier: MIT */
/* crashwatch timeline: record the threads of processes or cgroups for some seconds. */
#ifndef CW_TIMELINE_MAIN_H
#define CW_TIMELINE_MAIN_H

#include <stdio.h>

#include "timeline_json.h"

/* fgtrace's defaults. */
#define CW_TL_DEFAULT_SECONDS 30.0
#define CW_TL_DEFAULT_OUTPUT  "timeline.json"

/* "0.5", "30": seconds > 0 (and finite, at most a day).  0 or -EINVAL. */
int cw_tl_parse_seconds(const char *s, double *out);

/* 0, 1 (could not record), 2 (bad usage). */
int cw_timeline_main(int argc, char **argv);

#endif
