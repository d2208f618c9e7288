/* SPDX-License-Identifier: MIT */
/*
 * USDT probes attached to files (libbpf's bpf_program__attach_usdt, the
 * program on_usdt): one attachment per probe name per file, since uprobes
 * are per inode; a process that maps the file later is covered, and the
 * kernel counts the probe's semaphore in it.  Each attachment's cookie
 * names it (its index here) and its string arguments; its gate in the
 * kernel (usdt_gates) keeps one hold per attachment in flight.  Everything
 * attached detaches together (cw_usdt_set_free), and the kernel does the
 * same when the owner dies: the semaphores go back down either way.
 */
#ifndef CW_USDT_ATTACH_H
#define CW_USDT_ATTACH_H

#include <bpf/libbpf.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <linux/types.h>
#include "crashwatch/events.h"
#include "usdt_notes.h"

/* What to attach to: PROVIDER:NAME, in every file or only in one program. */
struct cw_usdt_spec {
	char provider[CW_USDT_NAME_MAX];
	char name[CW_USDT_NAME_MAX];
	const char *program; /* NULL: any; with a '/': that file; else an executable's name */
};

/* "PROVIDER:NAME[@PROGRAM]" (program allowed or not).  0, or -EINVAL with why. */
int cw_usdt_spec_parse(const char *text, bool program_allowed, struct cw_usdt_spec *s,
		       const char **why);

struct cw_usdt_attachment {
	struct cw_file_key file;    /* the real inode */
	char path[256];		    /* where it was found, as its process saw it */
	struct cw_usdt_probe probe; /* its first site: argument specs, names, strings */
	unsigned spec;		    /* the index of the spec it answers */
	pid_t pid;		    /* the only process it fires in, -1: every one */
	struct bpf_link *link;
};

struct cw_usdt_set {
	struct bpf_program *prog;     /* on_usdt */
	int gates_fd;		      /* usdt_gates, or -1 */
	bool snapshot;		      /* hold for a snapshot (watch), or only report (trace) */
	pid_t pid;		      /* the next attachments': -1, every process */
	struct cw_usdt_attachment *v; /* CW_MAX_USDT_ATTACH of them */
	size_t n;
	uint64_t failed, skipped;
};

/* An empty set.  0 or -ENOMEM. */
int cw_usdt_set_init(struct cw_usdt_set *s, struct bpf_program *prog, int gates_fd, bool snapshot,
		     pid_t pid);

/*
 * Attach probe p (provider:name) of the file open on fd, known as key,
 * found at path, for spec.  0; 1 when already attached; -errno (a message
 * in err).
 */
int cw_usdt_attach(struct cw_usdt_set *s, int fd, const struct cw_file_key *key, const char *path,
		   const struct cw_usdt_probe *p, unsigned spec, char *err, size_t cap);

/* The attachment a record's cookie names, or NULL. */
const struct cw_usdt_attachment *cw_usdt_of(const struct cw_usdt_set *s, __u64 cookie);

/* Let the attachment hold again, not before quiet_until_ns (boot time; 0: at once). */
void cw_usdt_gate_open(struct cw_usdt_set *s, __u64 cookie, uint64_t quiet_until_ns);

/*
 * The strings the probe could not read (CW_USDT_STRING_UNREAD), read from
 * the process's memory now, through /proc/PID/mem, which faults the page
 * in; those still unreadable stay "".
 */
void cw_usdt_read_strings(struct cw_usdt_event *ev);

/* Argument i of ev as text: a string argument's string, else its value in decimal. */
void cw_usdt_arg_text(const struct cw_usdt_attachment *a, const struct cw_usdt_event *ev,
		      unsigned i, char *out, size_t cap);

/*
 * The arguments of ev, named as trace.h says (else arg0...), strings
 * decoded, an unsigned value past INT64_MAX as decimal text: a JSON array
 * of {"name","value"} (probes --trace), or one object name -> value (the
 * timeline's args).  NULL when out of memory.
 */
json_t *cw_usdt_args_json(const struct cw_usdt_event *ev, const struct cw_usdt_attachment *a,
			  bool as_object);

/* One line (text or JSON) for a fired probe; a is NULL when not known. */
void cw_format_usdt(FILE *out, const struct cw_usdt_event *ev, const struct cw_usdt_attachment *a,
		    bool json);

/* Detach everything: the kernel sets the semaphores back. */
void cw_usdt_set_free(struct cw_usdt_set *s);

#endif
