/* SPDX-License-Identifier: MIT */
/* Names of signals and of their si_code values, as the kernel's uapi spells them. */
#ifndef CW_SIGNALS_H
#define CW_SIGNALS_H

/* "SIGSEGV"; "SIGRTMIN+3"; NULL when out of 1..64. */
const char *cw_signal_name(int sig);

/* A signal number from "SEGV", "SIGSEGV", "segv", "11"; -1 if unknown. */
int cw_signal_from_name(const char *name);

/*
 * Why sig must not be given to --signals ("it is job control..."), or NULL
 * when it may be watched.
 */
const char *cw_signal_unwatchable(int sig);

/* "SEGV_MAPERR", "SI_USER", ...; NULL when the code has no name for that signal. */
const char *cw_si_code_name(int sig, int code);

#endif
