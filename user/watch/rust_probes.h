/* SPDX-License-Identifier: MIT */
/*
 * The entry uprobes on std's panic path in every Rust executable the watched
 * processes run (std is linked into each: one probe set per file, as
 * uprobes are per inode), bounded by --max-rust-binaries:
 * rust_panic_with_hook, where the kernel notes the panic's location and
 * payload, and, where the panic unwinds (panic=unwind), rust_panic, where
 * the main thread's panic is held.  A panic=abort panic is held at abort().
 * Found by the executable's symbols, or a stripped one's debug file (by
 * build-id under --debug-dir, then /usr/lib/debug).
 */
#ifndef CW_RUST_PROBES_H
#define CW_RUST_PROBES_H

#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/types.h>
#include "crashwatch/events.h"
#include "libc_probes.h"

struct cw_rust_probe {
	struct cw_file_key file; /* the real inode (overlayfs: below the overlay) */
	struct bpf_link *hook, *panic;
};

struct cw_rust_probes {
	struct bpf_program *hook_prog, *panic_prog; /* on_rust_hook, on_rust_panic */
	unsigned max;
	const char *const *debug_dirs;
	size_t n_debug_dirs;
	struct cw_rust_probe *v;
	size_t n;
	uint64_t skipped; /* Rust files left unprobed: max reached */
	uint64_t failed;  /* Rust files whose uprobes could not be attached */
};

/* Up to max Rust files.  Prints the failure.  0 or -errno. */
int cw_rust_probes_init(struct cw_rust_probes *p, struct bpf_program *hook,
			struct bpf_program *panic, const char *const *debug_dirs,
			size_t n_debug_dirs, unsigned max);

/*
 * An executable first run in a mount namespace: when it is Rust (its std's
 * panic path found), probe it if its file is not probed yet and say so on
 * stderr.  Failures are counted and printed, never fatal.
 */
void cw_rust_probes_on_exec(struct cw_rust_probes *p, struct cw_libc_probes *libcs,
			    const struct cw_exec_event *ev);

/* " rust_binaries_probed=N rust_binaries_skipped=N rust_probes_failed=N" */
struct cw_counter_sink;
void cw_rust_probes_emit_counters(const struct cw_rust_probes *g, struct cw_counter_sink *s);

/* Detach every probe; safe on a zeroed or half-initialised set. */
void cw_rust_probes_free(struct cw_rust_probes *p);

#endif
