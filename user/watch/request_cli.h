/* SPDX-License-Identifier: MIT */
/* `crashwatch snapshot`: ask the running watcher for a snapshot of a live process. */
#ifndef CW_REQUEST_CLI_H
#define CW_REQUEST_CLI_H

int cw_request_cli_main(int argc, char **argv);

#endif
