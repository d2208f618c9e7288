/* SPDX-License-Identifier: MIT */
#ifndef CW_WATCH_H
#define CW_WATCH_H

/* `crashwatch watch`: the exit status of the command. */
int cw_watch_main(int argc, char **argv);

#endif
