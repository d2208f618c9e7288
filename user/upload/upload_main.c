// SPDX-License-Identifier: MIT
#include "upload_main.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse.h"
#include "spool.h"
#include "trusted_dir.h"
#include "uploader.h"
#include "watch_options.h"

static const char usage[] =
	"Usage: crashwatch upload --upload=KIND:WHERE [--upload-token=TOKEN] [--wait=SEC]\n"
	"                         [--upload-timeout=SEC] [DIR]\n"
	"\n"
	"Upload every snapshot waiting in DIR (default " CW_DEFAULT_SPOOL "), oldest\n"
	"first; each moves to DIR/uploaded once the backend accepted it (the newest\n"
	"100 are kept there, for `crashwatch show`); refused ones move to\n"
	"DIR/failed with the reason.  KIND:WHERE is generic:URL, sentry:DSN or\n"
	"backtrace:ENDPOINT, as for `crashwatch watch`.\n"
	"\n"
	"  --wait=SEC   the most time spent waiting on a backend that fails or asks to\n"
	"               wait (Retry-After) before giving up (default 60)\n"
	"  --upload-timeout=SEC  the most one request may take, connecting included\n"
	"               (default 30, 1-3600); then it is retried with the same\n"
	"               idempotency key\n"
	"\n"
	"Only regular files of root's, at most 64 MiB, that follow docs/snapshot.md are\n"
	"sent; any other file moves to DIR/failed with the reason.\n"
	"SIGINT or SIGTERM stop at once: a request in flight is abandoned, its snapshot\n"
	"stays in DIR.\n"
	"\n"
	"Exit status: 0 the spool is empty, 1 snapshots are left or DIR cannot be used\n"
	"(not root's alone, not writable: the message says why), 2 bad usage.\n";

/* The uploader's stop flag: a lock-free atomic store is safe in a signal handler. */
static atomic_bool *stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	if (stop_flag)
		atomic_store(stop_flag, true);
}

/* No SA_RESTART: the poll and the sleep between tries return on the signal. */
static int install_handlers(void)
{
	struct sigaction sa = {0};

	sa.sa_handler = on_stop;
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	return 0;
}

int cw_upload_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"upload", required_argument, NULL, 'u'},
		{"upload-token", required_argument, NULL, 't'},
		{"wait", required_argument, NULL, 'w'},
		{"upload-timeout", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *spec = NULL, *token = NULL, *dir = CW_DEFAULT_SPOOL;
	struct cw_upload_target target;
	struct cw_uploader u = {0};
	struct cw_spool_file *left = NULL;
	uint64_t wait_s = 60, timeout_s = CW_UPLOAD_TIMEOUT_DEFAULT_S;
	char err[512], why[PATH_MAX + 256], fix[2 * PATH_MAX + 64];
	double until;
	size_t n = 0;
	int c, r;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			spec = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'w':
			if (cw_parse_u64(optarg, 0, 86400, &wait_s) < 0) {
				fprintf(stderr,
					"crashwatch: bad --wait '%s': give seconds from 0 to "
					"86400\n",
					optarg);
				return 2;
			}
			break;
		case 'T':
			if (cw_parse_u64(optarg, 1, CW_UPLOAD_TIMEOUT_MAX_S, &timeout_s) < 0) {
				fprintf(stderr,
					"crashwatch: bad --upload-timeout '%s': give seconds from "
					"1 "
					"to %d\n",
					optarg, CW_UPLOAD_TIMEOUT_MAX_S);
				return 2;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fprintf(stderr, "crashwatch: unknown option or missing value in '%s'\n%s",
				argv[optind - 1], usage);
			return 2;
		}
	}
	if (optind < argc)
		dir = argv[optind++];
	if (optind < argc || !spec) {
		fprintf(stderr, "crashwatch: %s\n%s",
			spec ? "more than one directory given" : "--upload=KIND:WHERE is needed",
			usage);
		return 2;
	}
	/* What is in it is sent with the token: root's alone, as the watcher insists. */
	if (cw_dir_trusted(dir, why, sizeof(why), fix, sizeof(fix)) < 0) {
		fprintf(stderr, "crashwatch: cannot use the spool %s: %s%s%s\n", dir, why,
			fix[0] ? "; fix: " : "", fix);
		return 1;
	}
	if (cw_dir_writable(dir, why, sizeof(why)) < 0) {
		fprintf(stderr,
			"crashwatch: cannot use the spool %s: %s (uploaded files are removed from "
			"it)\n",
			dir, why);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (cw_upload_target_parse(spec, token, &target, err, sizeof(err)) < 0) {
		fprintf(stderr, "crashwatch: %s\n", err);
		curl_global_cleanup();
		return 2;
	}
	target.timeout_s = (unsigned)timeout_s;
	u.target = &target;
	u.spool = dir;
	u.verbose = true;
	cw_bucket_init(&u.bucket, 0, 1, 0); /* by hand: no rate limit */
	stop_flag = &u.aborting;
	r = install_handlers();
	if (r < 0)
		fprintf(stderr, "crashwatch: failed to install signal handlers: %s, ignoring\n",
			strerror(-r));
	r = cw_uploader_open(&u);
	if (r < 0)
		fprintf(stderr, "crashwatch: failed to open a connection: %s\n", strerror(-r));
	until = cw_monotonic_s() + (double)wait_s;
	while (r >= 0 && (r = cw_uploader_pass(&u)) == 1 && !atomic_load(&u.aborting) &&
	       cw_monotonic_s() < until) {
		double pause = u.not_before - cw_monotonic_s();

		if (pause > until - cw_monotonic_s())
			break;
		/* In slices: a signal just before a long sleep must not wait it out. */
		while (pause > 0 && !atomic_load(&u.aborting)) {
			usleep((useconds_t)((pause < 0.1 ? pause : 0.1) * 1e6));
			pause = u.not_before - cw_monotonic_s();
		}
	}
	cw_uploader_close(&u);
	if (atomic_load(&u.aborting))
		fprintf(stderr, "crashwatch: stopped by a signal\n");
	cw_spool_list(dir, &left, &n);
	free(left);
	printf("crashwatch: %lu uploaded, %lu refused (in %s/failed), %zu left in %s\n",
	       (unsigned long)u.uploaded, (unsigned long)u.refused, dir, n, dir);
	cw_upload_target_free(&target);
	curl_global_cleanup();
	return n ? 1 : 0;
}
