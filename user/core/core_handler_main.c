// SPDX-License-Identifier: MIT
/*
 * crashwatch-core-handler: the core handler alone, linked statically.  The
 * kernel runs core_pattern's helper from the host's root with the host's
 * libraries: a watcher in a container copies this onto a host path
 * (--host-core-handler), where it runs whatever the host has installed.
 */
#include "core_handler.h"

int main(int argc, char **argv)
{
	return cw_core_handler_main(argc, argv);
}
