/* SPDX-License-Identifier: MIT */
/*
 * Trace events for C and C++ programs, as USDT probes: the .note.stapsdt
 * notes <sys/sdt.h> writes (systemtap-sdt-dev), so that crashwatch, bpftrace
 * and perf all see them.  Each event has a semaphore: while nothing is
 * attached an event costs one load and one untaken branch, and its arguments
 * are not even computed; a tool that attaches (through the uprobe's
 * ref_ctr_offset) makes the kernel count the semaphore up, and down again
 * when it detaches or dies.
 *
 *   #include <crashwatch/trace.h>
 *
 *   CW_TRACE_EVENT(shop, order, "id,customer:str,cents");   // file scope
 *
 *   CW_TRACE(shop, order, o->id, o->customer, total_cents(o));
 *   if (CW_TRACE_ENABLED(shop, order)) { ...costly preparation... }
 *
 * CW_TRACE_EVENT defines the event (its semaphore) and says what its
 * arguments are: a comma-separated list of names, ":str" after a name whose
 * value is a NUL-terminated string (crashwatch then reads the string, not the
 * pointer).  The list is a string literal of letters, digits, '_', ':' and
 * ','.  It may be defined in a header included by several files (the
 * semaphore is weak), and hidden: a library's events are its own.  Other
 * files of the same program can fire an event defined elsewhere after
 * CW_TRACE_DECLARE(provider, name).  At most 12 arguments (sys/sdt.h's bound).
 *
 * Include this header before <sys/sdt.h>, or instead of it: every probe in a
 * file that includes it has a semaphore.
 */
#ifndef CRASHWATCH_TRACE_H
#define CRASHWATCH_TRACE_H

#if defined(_SYS_SDT_H) && !defined(_SDT_HAS_SEMAPHORES)
#error "include <crashwatch/trace.h> before <sys/sdt.h>: its events need semaphores"
#endif
#ifndef _SDT_HAS_SEMAPHORES
#define _SDT_HAS_SEMAPHORES 1
#endif
#ifndef SDT_USE_VARIADIC
#define SDT_USE_VARIADIC 1
#endif
#include <sys/sdt.h>

/* The semaphore's name is sys/sdt.h's convention: PROVIDER_NAME_semaphore. */
#define CW_TRACE_SEMAPHORE_(provider, name) provider##_##name##_semaphore

#define CW_TRACE_DECLARE(provider, name)                                                           \
	extern __attribute__((visibility("hidden"))) volatile unsigned short CW_TRACE_SEMAPHORE_(  \
		provider, name)

/*
 * The argument list goes into a note of its own (owner "crashwatch", type 1:
 * provider, name, list, each NUL-terminated), beside sys/sdt.h's: not loaded
 * into memory, read by `crashwatch probes`.
 */
#define CW_TRACE_EVENT(provider, name, args)                                                       \
	__asm__(".pushsection .note.crashwatch.trace,\"\",\"note\"\n"                              \
		".balign 4\n"                                                                      \
		".4byte 981f-980f, 983f-982f, 1\n"                                                 \
		"980: .asciz \"crashwatch\"\n"                                                     \
		"981: .balign 4\n"                                                                 \
		"982: .asciz \"" #provider "\"\n"                                                  \
		".asciz \"" #name "\"\n"                                                           \
		".asciz \"" args "\"\n"                                                            \
		"983: .balign 4\n"                                                                 \
		".popsection\n");                                                                  \
	__attribute__((weak, visibility("hidden"), section(".probes"))) volatile unsigned short    \
	CW_TRACE_SEMAPHORE_(provider, name)

/* Whether something is attached to the event: for preparation an event alone needs. */
#define CW_TRACE_ENABLED(provider, name)                                                           \
	__builtin_expect(CW_TRACE_SEMAPHORE_(provider, name) != 0, 0)

/* Fire the event; the arguments are evaluated only while something is attached. */
#define CW_TRACE(provider, name, ...)                                                              \
	do {                                                                                       \
		if (CW_TRACE_ENABLED(provider, name))                                              \
			STAP_PROBEV(provider, name, ##__VA_ARGS__);                                \
	} while (0)

#endif /* CRASHWATCH_TRACE_H */
