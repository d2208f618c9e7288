// SPDX-License-Identifier: MIT
#include "crash_list.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crash_index.h"
#include "parse.h"
#include "watch_options.h"

static const char usage[] =
	"Usage: crashwatch list [--since=TIME] [--json] [--spool=DIR]\n"
	"\n"
	"The crashes the watcher handled on this host, newest first: when, the pid,\n"
	"the signal, where it was held, its snapshot (full, partial: the kernel's first\n"
	"capture, suppressed: rate limit or duplicate, none), where it was uploaded, the\n"
	"snapshot's id (for `crashwatch show`), the executable and the cause.  Read\n"
	"from DIR/" CW_INDEX_FILE ", kept beside the spool across uploads and restarts:\n"
	"the newest 1000 crashes of the last 30 days.\n"
	"\n"
	"  --since=TIME  only crashes since TIME: 2026-12-01, 2026-12-01T10:00:00Z\n"
	"                (UTC), or an age: 90s, 30m, 2h, 7d\n"
	"  --json        a JSON array of the crashes\n"
	"  --spool=DIR   the spool (default " CW_DEFAULT_SPOOL ")\n"
	"\n"
	"Exit status: 0 listed (none included), 1 the index cannot be read, 2 bad usage.\n";

int cw_parse_since(const char *s, long long now, long long *t)
{
	static const char *const forms[] = {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
					    "%Y-%m-%dT%H:%M",	 "%Y-%m-%d %H:%M",
					    "%Y-%m-%d",		 NULL};
	size_t len = strlen(s);
	uint64_t n;

	if (len >= 2 && strchr("smhd", s[len - 1]) && !strchr(s, '-')) {
		char num[24];
		char u = s[len - 1];
		long long unit = u == 's' ? 1 : u == 'm' ? 60 : u == 'h' ? 3600 : 86400;

		if (len - 1 >= sizeof(num))
			return -EINVAL;
		memcpy(num, s, len - 1);
		num[len - 1] = '\0';
		if (cw_parse_u64(num, 0, 100ULL * 365 * 86400, &n) < 0)
			return -EINVAL;
		*t = now - (long long)n * unit;
		return 0;
	}
	for (const char *const *f = forms; *f; f++) {
		struct tm tm = {0};
		const char *end = strptime(s, *f, &tm);

		if (end && (!strcmp(end, "") || !strcmp(end, "Z"))) {
			*t = (long long)timegm(&tm);
			return 0;
		}
	}
	return -EINVAL;
}

static const char *or_dash(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && s[0] ? s : "-";
}

static void print_row(json_t *c)
{
	char when[32];
	const char *t = json_string_value(json_object_get(c, "time"));

	/* Whole seconds are enough to read; --json has the rest. */
	snprintf(when, sizeof(when), "%.19sZ", t);
	printf("%-20s %7lld %-9s %-7s %-10s %-36s %-36s %s", when,
	       (long long)json_integer_value(json_object_get(c, "pid")), or_dash(c, "signal"),
	       or_dash(c, "held_at"), or_dash(c, "snapshot"), or_dash(c, "uploaded_to"),
	       or_dash(c, "id"),
	       strcmp(or_dash(c, "exe"), "-") ? or_dash(c, "exe") : or_dash(c, "comm"));
	if (json_is_string(json_object_get(c, "cause")))
		printf("  %s", json_string_value(json_object_get(c, "cause")));
	putchar('\n');
}

int cw_list_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"spool", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *spool = CW_DEFAULT_SPOOL;
	long long since = 0;
	bool json = false;
	json_t *all = NULL, *shown = NULL, *c;
	size_t bad, i;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (cw_parse_since(optarg, (long long)time(NULL), &since) < 0) {
				fprintf(stderr,
					"crashwatch: bad --since '%s': give a time (2026-12-01, "
					"2026-12-01T10:00:00Z; UTC) or an age (90s, 30m, 2h, 7d)\n",
					optarg);
				return 2;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'd':
			spool = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "crashwatch: list takes no argument ('%s')\n%s", argv[optind],
			usage);
		return 2;
	}
	err = cw_index_read(spool, &all, &bad);
	if (err < 0) {
		fprintf(stderr, "crashwatch: failed to read the crash index %s/%s: %s%s\n", spool,
			CW_INDEX_FILE, strerror(-err),
			err == -EPERM	 ? " (it must be a regular file of root's, not writable by "
					   "others)"
			: err == -EACCES ? "; run as root"
					 : "; give the spool with --spool");
		return 1;
	}
	if (bad)
		fprintf(stderr, "crashwatch: %zu line(s) of %s/%s are not index entries, skipped\n",
			bad, spool, CW_INDEX_FILE);
	shown = json_array();
	json_array_foreach(all, i, c)
	{
		char head[20];
		long long when;

		/* The index's times are checked: "YYYY-MM-DDTHH:MM:SS.ffffffZ". */
		snprintf(head, sizeof(head), "%.19s",
			 json_string_value(json_object_get(c, "time")));
		if (since && (cw_parse_since(head, 0, &when) < 0 || when < since))
			continue;
		json_array_append(shown, c);
	}
	if (json) {
		json_dumpf(shown, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (json_array_size(shown)) {
		printf("%-20s %7s %-9s %-7s %-10s %-36s %-36s %s\n", "TIME", "PID", "SIGNAL",
		       "HELD", "SNAPSHOT", "UPLOADED", "ID", "EXE  CAUSE");
		json_array_foreach(shown, i, c) print_row(c);
	} else {
		printf("No crashes%s in %s/%s.\n", since ? " since then" : "", spool,
		       CW_INDEX_FILE);
	}
	json_decref(shown);
	json_decref(all);
	return 0;
}
