/* SPDX-License-Identifier: MIT */
#ifndef CW_PROBES_MAIN_H
#define CW_PROBES_MAIN_H

/* `crashwatch probes`: the exit status of the command. */
int cw_probes_main(int argc, char **argv);

#endif
