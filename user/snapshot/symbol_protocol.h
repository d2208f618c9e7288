/* SPDX-License-Identifier: MIT */
/*
 * The symbol server's protocol (crashwatch-snapshot --symbol-server): one
 * request, one reply, each one SOCK_SEQPACKET message, fixed-width fields in
 * the host's byte order (both ends run on the same host).
 *
 * A lookup asks about one module: its build-id (the cache key), its name as
 * the tool sees it (where a .gnu_debuglink is looked for), and addresses in
 * the ELF file's own address space (pc minus the module's load bias).  The
 * module's ELF file comes along as one fd (SCM_RIGHTS): the server may live
 * in another mount namespace than the process.  The reply may answer fewer
 * addresses than asked, when its strings would not fit one message: the
 * client asks again for the rest.
 */
#ifndef CW_SYMBOL_PROTOCOL_H
#define CW_SYMBOL_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CW_SYM_MAGIC	    0x59534d43u /* "CMSY" */
#define CW_SYM_VERSION	    1
#define CW_SYM_BUILD_ID_MAX 64
#define CW_SYM_NAME_MAX	    4096 /* NUL included */
#define CW_SYM_MAX_ADDRS    256
#define CW_SYM_MAX_MSG	    65536 /* either way; under the default unix socket buffer */
#define CW_SYM_NO_STRING    UINT32_MAX

enum cw_sym_type {
	CW_SYM_LOOKUP = 1, /* one fd attached */
	CW_SYM_STATS = 2,  /* no fd, no addresses */
};

enum cw_sym_flags {
	CW_SYM_SOURCE_LINES = 1u << 0, /* file:line too */
};

struct cw_sym_request {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t flags;
	uint32_t n_addrs;
	uint32_t build_id_len;
	uint32_t name_len; /* bytes of name[] used, its NUL included */
	uint8_t build_id[CW_SYM_BUILD_ID_MAX];
	char name[CW_SYM_NAME_MAX];
	/* then n_addrs uint64_t */
};
_Static_assert(sizeof(struct cw_sym_request) == 24 + CW_SYM_BUILD_ID_MAX + CW_SYM_NAME_MAX,
	       "no hidden padding");
_Static_assert(sizeof(struct cw_sym_request) + CW_SYM_MAX_ADDRS * sizeof(uint64_t) <=
		       CW_SYM_MAX_MSG,
	       "the largest request fits one message");

/* What the server counts; every reply carries them. */
struct cw_sym_stats {
	uint64_t requests;
	uint64_t bad_requests;
	uint64_t hits;	 /* lookups answered from a module already loaded */
	uint64_t misses; /* lookups that loaded their module */
	uint64_t evictions;
	uint64_t modules; /* loaded now */
	uint64_t rss_bytes;
	uint64_t cache_bytes; /* the bound */
};
_Static_assert(sizeof(struct cw_sym_stats) == 64, "no hidden padding");

struct cw_sym_reply {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	int32_t status;	      /* 0, or -errno: nothing else is valid */
	uint32_t n_results;   /* <= the request's n_addrs, in its order */
	uint32_t strings_len; /* bytes after the results */
	uint32_t cached;      /* 1: the module was loaded before this request */
	struct cw_sym_stats stats;
	/* then n_results struct cw_sym_result, then strings_len bytes of strings */
};
_Static_assert(sizeof(struct cw_sym_reply) == 24 + sizeof(struct cw_sym_stats),
	       "no hidden padding");

struct cw_sym_result {
	uint64_t function_offset;
	uint32_t function; /* offset of a NUL-terminated string, or CW_SYM_NO_STRING */
	uint32_t file;	   /* likewise */
	int32_t line;
	uint32_t pad;
};
_Static_assert(sizeof(struct cw_sym_result) == 24, "no hidden padding");

/* A request checked by cw_sym_request_check: pointers into the message. */
struct cw_sym_request_view {
	uint16_t type;
	uint32_t flags;
	const uint8_t *build_id;
	size_t build_id_len;
	const char *name;
	const unsigned char *addrs; /* n_addrs uint64_t, maybe unaligned: cw_sym_request_addr */
	size_t n_addrs;
};

uint64_t cw_sym_request_addr(const struct cw_sym_request_view *r, size_t i);

/*
 * Check a received request of len bytes that came with n_fds descriptors:
 * magic, version, type, sizes, counts, NUL termination, the fd a lookup
 * needs.  0, or -EPROTO (not ours / another version), -EINVAL (malformed),
 * -EBADF (a lookup without exactly one fd, or a fd where none belongs).
 */
int cw_sym_request_check(const void *msg, size_t len, int n_fds, struct cw_sym_request_view *out);

/* A reply checked by cw_sym_reply_check: pointers into the message. */
struct cw_sym_reply_view {
	int status;
	bool cached;
	struct cw_sym_stats stats;
	const unsigned char *results; /* maybe unaligned: cw_sym_reply_result */
	size_t n_results;
	const char *strings;
	size_t strings_len;
};

/*
 * Check a reply of len bytes to a request of type that asked n_asked
 * addresses: every string offset inside the table and NUL-terminated there.
 * 0 or -EPROTO.
 */
int cw_sym_reply_check(const void *msg, size_t len, uint16_t type, size_t n_asked,
		       struct cw_sym_reply_view *out);

/* Result i of a checked reply; its strings point into the message, or NULL. */
void cw_sym_reply_result(const struct cw_sym_reply_view *r, size_t i, uint64_t *function_offset,
			 const char **function, const char **file, int *line);

#endif
