// SPDX-License-Identifier: MIT
/* crashwatch: dispatch to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "watch.h"

#ifndef CW_VERSION
#define CW_VERSION "0.1.0"
#endif

static const char usage[] = "Usage: crashwatch COMMAND [OPTIONS]\n"
			    "\n"
			    "Commands:\n"
			    "  watch      watch the host for crashing processes and report them\n"
			    "  version    print the version\n"
			    "  help       show this help\n"
			    "\n"
			    "'crashwatch COMMAND --help' describes a command.\n";

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(cmd, "watch") == 0)
		return cw_watch_main(argc - 1, argv + 1);
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
