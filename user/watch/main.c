// SPDX-License-Identifier: MIT
/* crashwatch: dispatch to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core_handler.h"
#include "core_install.h"
#include "crash_list.h"
#include "crash_show.h"
#include "request_cli.h"
#include "probes_main.h"
#include "timeline_main.h"
#include "upload_main.h"
#include "version.h"
#include "watch.h"

static const char usage[] =
	"Usage: crashwatch COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  watch      watch the host for crashing processes and report them\n"
	"  timeline   record a wall-clock timeline of every thread of processes (Chrome trace "
	"JSON)\n"
	"  upload     upload the snapshots waiting in a spool to a crash backend\n"
	"  list       the recent crashes on this host, newest first\n"
	"  show ID|PID|FILE  one crash: its cause, its threads' stacks, modules\n"
	"  snapshot PID  ask the running watcher for a snapshot of a live process\n"
	"  probes     list a program's USDT probes, or trace them as they fire\n"
	"  config check [FILE]  report each problem in a config file (line, key, reason)\n"
	"  core-handler  what kernel.core_pattern pipes cores to (set by watch)\n"
	"  core-restore  give back the kernel.core_pattern a killed watcher left\n"
	"  version    print the version\n"
	"  help       show this help\n"
	"\n"
	"'crashwatch COMMAND --help' describes a command.\n";

static int core_restore(void)
{
	int r = cw_core_restore();

	if (r < 0) {
		fprintf(stderr, "crashwatch: failed to restore kernel.core_pattern from %s: %s\n",
			CW_CORE_SAVED, strerror(-r));
		return 1;
	}
	printf(r ? "crashwatch: kernel.core_pattern restored\n"
		 : "crashwatch: nothing to restore (no %s)\n",
	       CW_CORE_SAVED);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(cmd, "watch") == 0)
		return cw_watch_main(argc - 1, argv + 1);
	if (strcmp(cmd, "timeline") == 0)
		return cw_timeline_main(argc - 1, argv + 1);
	if (strcmp(cmd, "config") == 0)
		return cw_config_main(argc - 1, argv + 1);
	if (strcmp(cmd, "probes") == 0)
		return cw_probes_main(argc - 1, argv + 1);
	if (strcmp(cmd, "upload") == 0)
		return cw_upload_main(argc - 1, argv + 1);
	if (strcmp(cmd, "list") == 0)
		return cw_list_main(argc - 1, argv + 1);
	if (strcmp(cmd, "show") == 0)
		return cw_show_main(argc - 1, argv + 1);
	if (strcmp(cmd, "snapshot") == 0)
		return cw_request_cli_main(argc - 1, argv + 1);
	if (strcmp(cmd, "core-handler") == 0)
		return cw_core_handler_main(argc - 1, argv + 1);
	if (strcmp(cmd, "core-restore") == 0)
		return core_restore();
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("crashwatch %s\n", CW_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	fprintf(stderr, "crashwatch: unknown command '%s'\n%s", cmd, usage);
	return 2;
}
