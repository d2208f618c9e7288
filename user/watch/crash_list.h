/* SPDX-License-Identifier: MIT */
/* `crashwatch list`: the recent crashes of the spool's index, newest first. */
#ifndef CW_CRASH_LIST_H
#define CW_CRASH_LIST_H

int cw_list_main(int argc, char **argv);

/*
 * "2026-12-01", "2026-12-01T10:00[:SS][Z]", "2026-12-01 10:00[:SS]" (UTC), or
 * an age "90s", "30m", "2h", "7d" before now.  0 and *t, or -EINVAL.
 */
int cw_parse_since(const char *s, long long now, long long *t);

#endif
