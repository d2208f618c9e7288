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

#endif
