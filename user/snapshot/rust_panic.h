/* SPDX-License-Identifier: MIT */
/*
 * A Rust panic's message and location, read while the process is stopped
 * at its hold (std's rust_panic, or abort() with panic=abort), from what
 * the watcher's uprobe on std::panicking::rust_panic_with_hook noted:
 *
 * - its &Location: { file: &str (pointer, length), line: u32, col: u32 };
 * - its payload, a &mut dyn BoxMeUp, told by its vtable's size (the second
 *   word of a Rust vtable): 16, a &'static str (panic!("literal"),
 *   StrPanicPayload, or panic_any(&str)); 24, a String (panic_any(String));
 *   32, std's FormatStringPayload { &Arguments, Option<String> }, whose
 *   string the panic hook has formatted by the time it returns.  Another
 *   payload (panic_any of another type) has no message to read:
 *   "Box<dyn Any>", as std says.
 *
 * Layouts of rustc 1.63 (Debian 12), as std lays them out to this day.
 */
#ifndef CW_RUST_PANIC_H
#define CW_RUST_PANIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "unwind.h"

#define CW_RUST_MESSAGE_MAX 4096

struct cw_rust_panic {
	uint64_t location, payload, vtable; /* given: addresses in the process, 0 unknown */
	bool has_location;
	char file[1024];
	uint32_t line, column;
	bool has_message;
	char message[CW_RUST_MESSAGE_MAX + 1];
};

/* Read message and location, once pid is stopped. */
void cw_rust_panic_read(pid_t pid, struct cw_rust_panic *p);

/*
 * Held at rust_panic: whether a catch_unwind catches the panic, from the
 * functions of the panicking thread (innermost first, demangled): a
 * catching frame met going out (__rust_try, std::panicking::try,
 * std::panic::catch_unwind) before std::rt::lang_start_internal, whose own
 * catch turns main's panic into exit status 101.  Not known (no such
 * frame named): false, reported.
 */
bool cw_rust_panic_caught(const char *const *functions, size_t n);

/*
 * The same, asking each frame's own exception table too (eh_catch.h), as
 * the unwinder will: a catch_unwind the compiler inlined into optimized
 * code leaves no frame of its name but its catching landing pad.  t: the
 * panicking thread as u unwound it; functions: its frames' names.
 */
bool cw_rust_panic_caught_at(const struct cw_unwinder *u, const struct cw_unwound_thread *t,
			     const char *const *functions, size_t n);

#endif
