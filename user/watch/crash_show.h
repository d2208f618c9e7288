/* SPDX-License-Identifier: MIT */
/* `crashwatch show ID|PID|FILE`: one crash for a person, or its document. */
#ifndef CW_CRASH_SHOW_H
#define CW_CRASH_SHOW_H

int cw_show_main(int argc, char **argv);

#endif
