/* SPDX-License-Identifier: MIT */
/*
 * Rust executables, and where their std's panic path starts.  std is linked
 * into each Rust executable (no shared libstd), so its functions are found
 * in the executable's own symbol table, or, stripped, in its debug file
 * (by build-id, under the given directories, then /usr/lib/debug).
 */
#ifndef CW_RUST_ELF_H
#define CW_RUST_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cw_rust_panic_points {
	uint64_t hook;	/* std::panicking::rust_panic_with_hook, a file offset */
	uint64_t panic; /* rust_panic (#[no_mangle]): after the hook, before unwinding */
	bool abort;	/* linked with panic_abort (-C panic=abort): no unwinding */
	bool from_debug_file;
};

/* A mangled name (legacy "_ZN…17h<hash>E" or v0 "_R…") of std's rust_panic_with_hook. */
bool cw_rust_is_panic_hook_symbol(const char *name);

/*
 * The panic path of the Rust executable open on fd: 0; -ENOEXEC when not
 * ELF; -ENOENT when it has no rust_panic_with_hook in its symbols nor in a
 * debug file found for it (not Rust, or stripped without one).
 */
int cw_rust_panic_points(int fd, const char *const *debug_dirs, size_t n_dirs,
			 struct cw_rust_panic_points *out);

#endif
