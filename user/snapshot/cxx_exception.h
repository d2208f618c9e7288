/* SPDX-License-Identifier: MIT */
/*
 * Which C++ exception ended the process, read from libstdc++'s own state
 * at the hold at abort(): std::terminate() runs with the exception it
 * terminates for on the terminating thread's stack of caught exceptions
 * (__cxa_get_globals()->caughtExceptions: __cxa_throw begins a catch of an
 * exception no handler took before it calls terminate).  That list is a
 * thread-local of libstdc++ (general-dynamic TLS): the thread's TCB (its
 * fs_base) leads to its DTV, the module id and offset are in libstdc++'s
 * GOT.  Nothing runs in the process: a few reads while it is stopped.
 *
 * The Itanium C++ ABI (x86_64, libstdc++ of GCC 4 to 14): the
 * __cxa_exception header ends with its _Unwind_Exception at +80, the thrown
 * object follows at +112; its std::type_info's name is mangled
 * ("St13runtime_error").  std::runtime_error and std::logic_error keep
 * their what() as a reference-counted string (__cow_string) right after
 * their vtable pointer: a pointer to the characters, the length 24 bytes
 * before them.
 */
#ifndef CW_CXX_EXCEPTION_H
#define CW_CXX_EXCEPTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc_maps.h"

#define CW_CXX_MESSAGE_MAX 4096
#define CW_CXX_TYPE_MAX	   1024

struct cw_cxx_exception {
	/* Found before the pause, in the process: 0 when it has no libstdc++. */
	uint64_t tls_index;		/* libstdc++'s GOT pair: module id, offset */
	uint64_t tls_add;		/* added by __cxa_get_globals past the offset */
	uint64_t si_vtable, vmi_vtable; /* type_info kinds with bases: their vptrs */
	/* Read in the pause. */
	bool found;		    /* an exception is being handled on the thread */
	bool foreign;		    /* not a C++ one (another language's unwinding) */
	bool std_exception;	    /* derives from std::exception */
	char type[CW_CXX_TYPE_MAX]; /* the mangled name of its type ("" unknown) */
	bool has_message;
	char message[CW_CXX_MESSAGE_MAX + 1]; /* what(), for runtime_error and logic_error */
};

/* Where libstdc++ keeps the thread's exceptions, in pid.  0, or -errno (-ENOENT: none). */
int cw_cxx_exception_locate(pid_t pid, const struct cw_maps *maps, struct cw_cxx_exception *x);

/*
 * __cxa_get_globals's code (len bytes from its start, at link-time address
 * vaddr) is "lea tls_index(%rip), %rdi; call __tls_get_addr; [add $N, %rax]"
 * after endbr64 and a stack adjustment: where its tls_index is, as a
 * link-time address, and N.  0, or -ENOEXEC when the code is not that.
 */
int cw_cxx_decode_get_globals(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *got,
			      uint64_t *add);

/* Read the thread's (its fs_base) current exception, once pid is stopped. */
void cw_cxx_exception_read(pid_t pid, uint64_t fs_base, struct cw_cxx_exception *x);

/*
 * Whether the stack (its functions, innermost first, demangled) is on its
 * way to abort() through std::terminate(): the exception is uncaught, not
 * one a catch block handles while it calls abort() itself.
 */
bool cw_cxx_terminating(const char *const *functions, size_t n);

/* The mangled name of a type_info made readable ("St13runtime_error": std::runtime_error). */
void cw_cxx_type_name(const char *mangled, char *out, size_t cap);

#endif
