/* SPDX-License-Identifier: MIT */
/* `crashwatch upload [DIR]`: push a spool to a backend by hand. */
#ifndef CW_UPLOAD_MAIN_H
#define CW_UPLOAD_MAIN_H

int cw_upload_main(int argc, char **argv);

#endif
