/* SPDX-License-Identifier: MIT */
/*
 * The snapshot document (docs/snapshot.md), version CW_SNAPSHOT_VERSION, as
 * plain C: what a snapshot knows, whatever it was taken from.  The full
 * snapshot (the unwinder) and the partial one (the kernel's first capture)
 * fill it; cw_snapshot_doc_json() alone turns it into JSON, so the keys and
 * their null rules are written in one place.
 *
 * Strings: NULL or "" is a field not known (null in the document), except
 * where said.  Pointers are borrowed: they must outlive the call.
 */
#ifndef CW_SNAPSHOT_DOC_H
#define CW_SNAPSHOT_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "container_read.h"
#include "snapshot_values.h"

#define CW_SNAPSHOT_VERSION 1

/* capture.method of a partial snapshot: the only one with capture.partial true. */
#define CW_METHOD_FIRST_CAPTURE "bpf-first-capture"

struct cw_doc_process {
	pid_t pid, ppid;
	uid_t uid;
	gid_t gid;
	const char *comm; /* always written, "" included */
	const char *exe, *cmdline, *cwd, *cgroup;
	bool has_start_time;
	struct timespec start_time; /* CLOCK_REALTIME */
	/* NUL-separated KEY=VALUE; NULL: "environment" left out (only with --env) */
	const char *environment;
	size_t environment_len;
};

struct cw_doc_signal {
	int number;
	bool has_code; /* no si_code: on-demand, or at abort()'s entry */
	int code;      /* its name is derived from number and code */
	bool has_address;
	uint64_t address;
	bool has_sender;
	pid_t sender_pid;
};

struct cw_doc_frame {
	uint64_t pc;
	bool pc_exact;		  /* not a return address: past frame 0, a signal frame */
	const char *function;	  /* demangled; unknown: function_offset null too */
	const char *symbol;	  /* the raw (mangled) name; NULL: null, as function or unknown */
	uint64_t function_offset; /* pc - the function's start */
	const char *module;
	bool has_module_offset; /* known even without the path: a build-id frame */
	uint64_t module_offset;
	const char *build_id; /* hex */
	const char *file;     /* unknown: line null too */
	int line;
};

struct cw_doc_thread {
	pid_t tid;
	const char *name;
	char state; /* 0: not known */
	bool faulted;
	bool has_registers;
	uint64_t registers[CW_DWARF_REGS]; /* DWARF order: cw_dwarf_reg_names */
	const struct cw_doc_frame *frames; /* innermost first */
	size_t n_frames;
	bool frames_truncated, stack_truncated;
	const char *error; /* why no frame at all could be unwound */
};

struct cw_doc_module {
	const char *path;
	bool has_range; /* load start/end: not in the kernel's first capture */
	uint64_t start, end;
	const char *build_id; /* hex */
};

struct cw_doc_attribute {
	const char *key, *value; /* value always written, "" included */
};

struct cw_doc_capture {
	const char *method; /* "ptrace", "ptrace-at-exit", "core", CW_METHOD_FIRST_CAPTURE */
	double pause_ms;    /* the longest any thread stood still */
	double window_ms;   /* first stop to last release (pause_ms unless staggered) */
	bool staggered;	    /* threads stopped one at a time ("stopped_together" false) */
	bool has_total_ms;
	double total_ms;
	const char *tool; /* the program that built the document */
	const pid_t *vanished_threads;
	size_t n_vanished_threads;
	bool process_vanished;
	const char *const *notes; /* for a person; a partial one's first says why */
	size_t n_notes;
};

/*
 * The watcher's aggregate of suppressed crashes (README "Admission"): a
 * partial document of the first one, with the counts.  Only there.
 */
struct cw_doc_aggregate {
	uint64_t signature;
	uint64_t duplicates, rate_limited; /* "count" is their sum */
	const char *counted_on;		   /* the uuid of the snapshot they are like */
	struct timespec first, last;	   /* CLOCK_REALTIME */
};

/* A Go program's goroutine (docs/snapshot.md "Go programs"). */
struct cw_doc_goroutine {
	uint64_t id;
	const char *status;	 /* "waiting", "running", … */
	const char *wait_reason; /* "chan receive", …; NULL: none or not known */
	pid_t thread;		 /* the thread it runs on; 0: none */
	const char *created_function, *created_file; /* NULL function: created_by null */
	int created_line;
	const struct cw_doc_frame *frames; /* innermost first */
	size_t n_frames;
	bool frames_truncated, stack_truncated;
	bool faulted, system;
};

struct cw_doc_go {
	const char *version;	   /* "go1.19.8" */
	const char *layouts;	   /* "dwarf", "table" */
	uint64_t goroutines_total; /* len(runtime.allgs), dead ones included */
	size_t system_left_out;	   /* without --go-system-goroutines */
	size_t filtered_out;	   /* with --thread: not on a listed thread, nor the faulted one */
	bool capped;		   /* more than could be listed */
	const char *error;	   /* why no goroutine could be read */
	bool panicking;		   /* held at runtime.fatalpanic */
	const char *panic_type;	   /* NULL: not known */
	const char *panic_message; /* NULL: not known (an Error() method would say it) */
	uint64_t panic_address;	   /* the *runtime._panic */
	const char *fatal_error;   /* a fatal error's message (after "fatal error: "), or NULL */
	const struct cw_doc_goroutine *goroutines;
	size_t n_goroutines;
};

/* Who asked for a snapshot through the watcher's request socket (trigger "request"). */
struct cw_doc_requester {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	const char *comm; /* NULL: not known */
};

struct cw_snapshot_doc {
	const char *uuid;
	/* "crash", "request"; NULL: "crash" with a signal or a Go panic, else "on-demand" */
	const char *trigger;
	const struct cw_doc_requester *requested_by; /* NULL: "requested_by" null */
	struct cw_doc_process process;
	const struct cw_container_info *container; /* NULL: every field null (a core) */
	bool has_signal;			   /* none: an on-demand snapshot */
	struct cw_doc_signal signal;
	const char *const *classifiers;
	size_t n_classifiers;
	const struct cw_doc_attribute *attributes;
	size_t n_attributes;
	const struct cw_doc_thread *threads;
	size_t n_threads;
	const struct cw_doc_module *modules;
	size_t n_modules;
	struct cw_doc_capture capture;
	const struct cw_doc_aggregate *aggregate; /* NULL: "aggregate" left out */
	const struct cw_doc_go *go; /* NULL (not a Go program): "go", "goroutines" left out */
	/*
	 * The timeline of the seconds before (the watcher's flight recorder):
	 * a file name beside the document; NULL: "timeline" left out.
	 */
	const char *timeline;
};

/* The document, timestamped now.  NULL on ENOMEM. */
json_t *cw_snapshot_doc_json(const struct cw_snapshot_doc *d);

#endif
