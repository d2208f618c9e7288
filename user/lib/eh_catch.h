/* SPDX-License-Identifier: MIT */
/*
 * Whether a frame catches an exception passing through it, as the unwinder's
 * search phase would decide: the function's FDE in .eh_frame names its LSDA
 * (.gcc_except_table), whose call-site record for the frame's pc names a
 * landing pad and an action chain; a type filter > 0 in that chain is a catch
 * clause (C++ catch, or Rust's catch_unwind: `catch ptr null`), filter 0 a
 * cleanup (a destructor, a Rust drop), a negative one an exception
 * specification.  Read from the file's bytes: nothing runs.
 * (LSB "Exception Frames", the Itanium C++ ABI's LSDA as GCC and LLVM write it.)
 */
#ifndef CW_EH_CATCH_H
#define CW_EH_CATCH_H

#include <stddef.h>
#include <stdint.h>

/* A section's bytes and the link-time address they are loaded at. */
struct cw_eh_section {
	const uint8_t *data;
	size_t size;
	uint64_t vaddr;
};

/*
 * Whether the call at link-time address pc (a return address - 1, or an
 * exact pc) has a catching landing pad: 1 yes; 0 no (a cleanup, no landing
 * pad, no FDE or LSDA for it); -EBADMSG when a record it needs is malformed.
 */
int cw_eh_catches(const struct cw_eh_section *eh_frame, const struct cw_eh_section *except_table,
		  uint64_t pc);

#endif
