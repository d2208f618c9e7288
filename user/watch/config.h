/* SPDX-License-Identifier: MIT */
/*
 * /etc/crashwatch/crashwatch.conf: INI (libinih), a [watch] section whose
 * keys are the long options of `crashwatch watch` without their dashes
 * (`hold-timeout = 10`, `json = yes`).  Entries become options placed
 * before the command line's, so that flags override the file.
 */
#ifndef CW_CONFIG_H
#define CW_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CW_DEFAULT_CONFIG "/etc/crashwatch/crashwatch.conf"

/* A config file is a regular file of at most this many bytes. */
#define CW_CONFIG_MAX_BYTES (1 << 20)

struct cw_config {
	char **args; /* "--key=value" or "--flag" */
	size_t n;
};

/*
 * Read path.  Each problem is printed to err as "PATH:LINE: key 'K': REASON"
 * (or "PATH: REASON": a directory, FIFO, device, a file over
 * CW_CONFIG_MAX_BYTES or one holding a NUL byte is one problem; /dev/null
 * is an empty config).  Returns the number of problems (0: args usable), or
 * -errno when the file cannot be read (nothing printed).
 */
int cw_config_read(const char *path, struct cw_config *c, FILE *err);
void cw_config_free(struct cw_config *c);

/* `crashwatch config check [FILE]` */
int cw_config_main(int argc, char **argv);

#endif
