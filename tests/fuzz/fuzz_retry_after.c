// SPDX-License-Identifier: MIT
/*
 * What a backend says about waiting: a Retry-After value (seconds or an
 * HTTP date) and Sentry's X-Sentry-Rate-Limits, as the header callback
 * hands them over (a NUL-terminated value).  Either answer is a wait in
 * seconds the uploader adds to its clock: never negative, NaN, or more
 * than CW_RETRY_AFTER_MAX_S.
 */
#include "fuzz.h"

#include <math.h>

#include "upload_target.h"

static void check(double s)
{
	if (!(s >= 0) || !isfinite(s) || s > CW_RETRY_AFTER_MAX_S)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = fuzz_string(data, size);

	check(cw_retry_after_header(value));
	check(cw_sentry_rate_limits(value));
	free(value);
	return 0;
}
