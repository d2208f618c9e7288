/* SPDX-License-Identifier: MIT */
/*
 * Turn the first capture's frames (build-id + file offset, or a bare ip)
 * into module, function and source line, also after the process is gone:
 * files are found by build-id in the live process's mappings when it is
 * still there, the executable's path, the library directories, and
 * /usr/lib/debug/.build-id.
 */
#ifndef CW_SYMBOLIZE_H
#define CW_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>
#include "crashwatch/events.h"

struct cw_symbolizer;

/* Strings point into the symbolizer and stay valid until it is freed. */
struct cw_symbol {
	const char *module;	  /* path of the file, NULL if not found */
	uint64_t module_offset;	  /* file offset of the address */
	bool has_offset;	  /* module_offset known (build-id frame or live mapping) */
	const char *function;	  /* demangled; NULL when no symbol covers it */
	const char *symbol;	  /* the raw (mangled) name; NULL when function is it */
	uint64_t function_offset; /* address - function start */
	const char *file;	  /* source file, NULL without debug info */
	int line;
};

struct cw_symbolizer *cw_symbolizer_new(void);
void cw_symbolizer_free(struct cw_symbolizer *s);

/*
 * With on false, frames get their function but no file:line: no DWARF is
 * read (a library's first lookup of lines can take ~45 ms).  Returns the
 * setting it had.
 */
bool cw_symbolizer_source_lines(struct cw_symbolizer *s, bool on);

/*
 * Start on the frames of one process.  exe_path (may be NULL) is where its
 * executable was; /proc/PID is only used while pid still names the process
 * that started at start_boottime.
 */
void cw_symbolizer_begin(struct cw_symbolizer *s, pid_t pid, uint64_t start_boottime,
			 const char *exe_path);

/*
 * Symbolize one frame.  return_address: frames past the first hold return
 * addresses, looked up one byte earlier so a call at a function's end names
 * the caller's line.  Always fills out; returns 0 if a module was found.
 */
int cw_symbolize(struct cw_symbolizer *s, const struct cw_frame *f, uint64_t ip,
		 bool return_address, struct cw_symbol *out);

/* One frame of the kernel's first capture, symbolized. */
struct cw_frame_view {
	uint64_t ip;
	const struct cw_frame *bid; /* NULL: no build-id walk for this frame */
	struct cw_symbol sym;
};

/*
 * The frames of ev's frame-pointer walk into v (CW_MAX_FRAMES); their
 * count.  sym may be NULL: module offsets only.  Call
 * cw_symbolizer_begin() for ev's process first.
 */
size_t cw_first_capture_frames(const struct cw_signal_event *ev, struct cw_symbolizer *sym,
			       struct cw_frame_view *v);

#endif
