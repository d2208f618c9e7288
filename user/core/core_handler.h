/* SPDX-License-Identifier: MIT */
#ifndef CW_CORE_HANDLER_H
#define CW_CORE_HANDLER_H

/*
 * `crashwatch core-handler %P %I %s %c %p %i %u %g %t %h %e`: the program
 * kernel.core_pattern pipes a core to.  Tells the watcher (which seizes the
 * dying process), then sends the core where the previous core_pattern would
 * have.  It never delays a crash for long: no watcher, or no answer within
 * a few seconds, and it goes on at once.
 */
int cw_core_handler_main(int argc, char **argv);

struct cw_core_info;

/*
 * Write the core read from in where a file pattern says, as the kernel
 * would have: relative to the process's cwd, core_uses_pid, owned by its
 * uid, at most ci->limit bytes (none when the limit is 0 or 1).  0 or -errno.
 */
int cw_core_write_file(int in, const char *pattern, const struct cw_core_info *ci);

#endif
