// SPDX-License-Identifier: MIT
#include "rate_limit.h"

#include <time.h>

double cw_monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cw_bucket_init(struct cw_token_bucket *b, double rate, double burst, double now)
{
	b->rate = rate;
	b->burst = burst < 1 ? 1 : burst;
	b->tokens = b->burst;
	b->last = now;
}

static double tokens_at(const struct cw_token_bucket *b, double now)
{
	double t = b->tokens + (now > b->last ? (now - b->last) * b->rate : 0);

	return t > b->burst ? b->burst : t;
}

bool cw_bucket_take(struct cw_token_bucket *b, double now)
{
	if (b->rate <= 0)
		return true;
	b->tokens = tokens_at(b, now);
	b->last = now > b->last ? now : b->last;
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

bool cw_bucket_take_above(struct cw_token_bucket *b, double reserve, double now)
{
	if (b->rate <= 0)
		return true;
	if (reserve > 0 && tokens_at(b, now) < 1 + reserve)
		return false;
	return cw_bucket_take(b, now);
}

double cw_bucket_wait(const struct cw_token_bucket *b, double now)
{
	double t;

	if (b->rate <= 0)
		return 0;
	t = tokens_at(b, now);
	return t >= 1 ? 0 : (1 - t) / b->rate;
}
