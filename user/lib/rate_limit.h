/* SPDX-License-Identifier: MIT */
/*
 * A token bucket: `rate` tokens a second up to `burst`.  Time is given by
 * the caller (seconds, monotonic) so that tests can drive it.
 */
#ifndef CW_RATE_LIMIT_H
#define CW_RATE_LIMIT_H

#include <stdbool.h>

struct cw_token_bucket {
	double rate;  /* tokens per second; <= 0: no limit */
	double burst; /* the most tokens held */
	double tokens;
	double last; /* when tokens was last brought up to date */
};

void cw_bucket_init(struct cw_token_bucket *b, double rate, double burst, double now);

/* Take one token if there is one. */
bool cw_bucket_take(struct cw_token_bucket *b, double now);

/*
 * Take one token only if `reserve` tokens are left after it: what may wait
 * (a snapshot on request) never takes the last ones from what may not (a
 * crash).  0 or below: cw_bucket_take().
 */
bool cw_bucket_take_above(struct cw_token_bucket *b, double reserve, double now);

/* Seconds until a token is there (0: now). */
double cw_bucket_wait(const struct cw_token_bucket *b, double now);

double cw_monotonic_s(void);

#endif
