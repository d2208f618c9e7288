// SPDX-License-Identifier: MIT
/*
 * A shared library with a trace event of its own (include/crashwatch/trace.h):
 * a library's probe, for the tests of probes in libraries that no process
 * maps when the watcher starts.  usdt_lib_user links it.
 */
#include <crashwatch/trace.h>

CW_TRACE_EVENT(cwlib, ping, "n,who:str");

int cwlib_ping(long n);

/* Fires ping; whether something is attached to it. */
int cwlib_ping(long n)
{
	CW_TRACE(cwlib, ping, n, "lib");
	return CW_TRACE_ENABLED(cwlib, ping) ? 1 : 0;
}
