/* SPDX-License-Identifier: MIT */
/*
 * The USDT probes an ELF file declares: its .note.stapsdt notes (version 3,
 * the format <sys/sdt.h> writes: owner "stapsdt", type 3; pc, base,
 * semaphore, then provider, name and the argument specs "SIZE@LOCATION"),
 * and the argument lists include/crashwatch/trace.h adds (owner
 * "crashwatch", type 1).  Everything is read from an untrusted file: every
 * length and string is checked before use.
 */
#ifndef CW_USDT_NOTES_H
#define CW_USDT_NOTES_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CW_USDT_MAX_ARGS     12	   /* sys/sdt.h's bound, and libbpf's */
#define CW_USDT_NAME_MAX     128   /* a provider or probe name, NUL included */
#define CW_USDT_SPEC_MAX     64	   /* one argument's location, NUL included */
#define CW_USDT_ARG_NAME_MAX 32	   /* one argument's name from trace.h, NUL included */
#define CW_USDT_MAX_PROBES   65536 /* per file: past it the file is refused */
#define CW_USDT_NOTE_TYPE    3
#define CW_TRACE_NOTE_TYPE   1

struct cw_usdt_arg {
	int size;			 /* bytes: 1, 2, 4 or 8; 0 when the spec does not say */
	bool is_signed;			 /* a negative size in the spec */
	char spec[CW_USDT_SPEC_MAX];	 /* "-4@-20(%rbp)", as written */
	char name[CW_USDT_ARG_NAME_MAX]; /* from trace.h's list, or "" */
	bool string;			 /* trace.h says ":str": a NUL-terminated string */
};

struct cw_usdt_probe {
	char provider[CW_USDT_NAME_MAX];
	char name[CW_USDT_NAME_MAX];
	uint64_t pc;	    /* as the note says (link-time address) */
	uint64_t base;	    /* the note's .stapsdt.base */
	uint64_t semaphore; /* 0: none */
	unsigned n_args;
	bool args_truncated; /* more than CW_USDT_MAX_ARGS, or a spec too long */
	bool described;	     /* trace.h's argument list was found */
	struct cw_usdt_arg args[CW_USDT_MAX_ARGS];
};

struct cw_usdt_notes {
	struct cw_usdt_probe *v;
	size_t n;
	size_t malformed; /* notes skipped: bad lengths, unterminated or over-long strings */
};

/* The probes of elf (any ELF; none is 0 probes).  0, -ENOEXEC (not ELF), -ENOMEM, -E2BIG. */
int cw_usdt_notes_read(Elf *elf, struct cw_usdt_notes *out);
/* The same from the file open on fd, or from a memory image. */
int cw_usdt_notes_read_fd(int fd, struct cw_usdt_notes *out);
int cw_usdt_notes_read_mem(const void *data, size_t size, struct cw_usdt_notes *out);
void cw_usdt_notes_free(struct cw_usdt_notes *n);

/* The first probe named provider:name, or NULL. */
const struct cw_usdt_probe *cw_usdt_notes_find(const struct cw_usdt_notes *n, const char *provider,
					       const char *name);

/* The arguments as trace.h's list says them ("i,cost" ...), applied to p.  0 or -EINVAL. */
int cw_usdt_describe_args(struct cw_usdt_probe *p, const char *list);

#endif
