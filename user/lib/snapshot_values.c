// SPDX-License-Identifier: MIT
#include "snapshot_values.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "event_decode.h"

const char *const cw_dwarf_reg_names[CW_DWARF_REGS] = {
	"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8",
	"r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip",
};

json_t *cw_json_hex(uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "0x%" PRIx64, v);
	return json_string(b);
}

void cw_iso_time(const struct timespec *ts, char *out, size_t cap)
{
	struct tm tm;
	char date[32];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, cap, "%s.%06dZ", date, (int)((ts->tv_nsec / 1000) % 1000000));
}

struct timespec cw_boot_timespec(uint64_t boot_ns)
{
	int64_t real = cw_boot_to_realtime(boot_ns);

	return (struct timespec){.tv_sec = real / 1000000000LL, .tv_nsec = real % 1000000000LL};
}

json_t *cw_boot_time_json(uint64_t boot_ns)
{
	struct timespec ts = cw_boot_timespec(boot_ns);
	char t[64];

	cw_iso_time(&ts, t, sizeof(t));
	return json_string(t);
}

json_t *cw_host_json(void)
{
	struct utsname u;
	char name[256] = "";
	json_t *h = json_object();

	gethostname(name, sizeof(name) - 1);
	uname(&u);
	json_object_set_new(h, "hostname", json_string(name));
	json_object_set_new(h, "kernel", json_sprintf("%s %s", u.release, u.version));
	json_object_set_new(h, "arch", json_string(u.machine));
	return h;
}
