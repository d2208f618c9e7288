// SPDX-License-Identifier: MIT
#include "event_decode.h"

#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

int cw_event_check(const void *data, size_t size)
{
	const struct cw_event_header *h = data;
	const struct cw_signal_event *sig = data;

	if (size < sizeof(*h) || h->version != CW_EVENT_VERSION || h->size > size)
		return -EBADMSG;
	switch (h->kind) {
	case CW_EVENT_SIGNAL:
		if (h->size != sizeof(*sig) || sig->nr_ips > CW_MAX_FRAMES ||
		    sig->nr_build_ids > CW_MAX_FRAMES || sig->exe_len > CW_EXE_PATH_LEN)
			return -EBADMSG;
		return CW_EVENT_SIGNAL;
	case CW_EVENT_EXIT:
		if (h->size != sizeof(struct cw_exit_event))
			return -EBADMSG;
		return CW_EVENT_EXIT;
	case CW_EVENT_EXEC:
		if (h->size != sizeof(struct cw_exec_event))
			return -EBADMSG;
		return CW_EVENT_EXEC;
	case CW_EVENT_USDT:
		if (h->size != sizeof(struct cw_usdt_event) ||
		    ((const struct cw_usdt_event *)data)->nargs > CW_USDT_MAX_ARGS)
			return -EBADMSG;
		return CW_EVENT_USDT;
	}
	return -EBADMSG;
}

void cw_exe_path(const struct cw_signal_event *ev, char *out, size_t cap)
{
	const char *parts[CW_EXE_PATH_DEPTH];
	size_t n = 0, len = 0, used = ev->exe_len;

	if (cap == 0)
		return;
	out[0] = '\0';
	if (used > sizeof(ev->exe_parts))
		used = sizeof(ev->exe_parts);
	for (size_t at = 0; at < used && n < CW_EXE_PATH_DEPTH;) {
		const char *p = ev->exe_parts + at;
		size_t l = strnlen(p, used - at);

		if (l == used - at) /* unterminated: cut off by the capture */
			break;
		parts[n++] = p;
		at += l + 1;
	}
	for (size_t i = n; i-- > 0;) {
		int w = snprintf(out + len, cap - len, "/%s", parts[i]);

		if (w < 0 || (size_t)w >= cap - len)
			break;
		len += (size_t)w;
	}
}

static int64_t boot_to_real_offset;

void cw_clock_init(void)
{
	struct timespec r, b;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_BOOTTIME, &b);
	boot_to_real_offset =
		((int64_t)r.tv_sec - b.tv_sec) * 1000000000LL + (r.tv_nsec - b.tv_nsec);
}

/* Saturated: a record's timestamp is only a number, and near 2^63 the sum would overflow. */
int64_t cw_boot_to_realtime(uint64_t boot_ns)
{
	int64_t real;

	if (boot_ns > INT64_MAX ||
	    __builtin_add_overflow((int64_t)boot_ns, boot_to_real_offset, &real))
		return INT64_MAX;
	return real;
}

void cw_format_time(uint64_t boot_ns, char *out, size_t cap)
{
	int64_t ns = cw_boot_to_realtime(boot_ns);
	time_t sec = (time_t)(ns / 1000000000LL);
	long long frac = ns % 1000000000LL;
	struct tm tm;
	char date[32];

	if (frac < 0) { /* before 1970: the fraction counts up from the second below */
		frac += 1000000000LL;
		sec--;
	}
	if (!gmtime_r(&sec, &tm) || !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(out, cap, "?");
		return;
	}
	snprintf(out, cap, "%s.%06lldZ", date, frac / 1000);
}
