/* SPDX-License-Identifier: MIT */
/*
 * The request socket's wire protocol: what `crashwatch snapshot`, the client
 * library (libcrashwatch) and a program asking for a snapshot of itself send
 * to the watcher, and what it answers.  One header for all three sides; the
 * daemon, the CLI and the library share its one encoder and parser
 * (user/lib/request_protocol.c), which allocate nothing and call nothing
 * but memcpy/memset/strnlen: safe in a signal handler.
 *
 * The socket is AF_UNIX SOCK_SEQPACKET at CW_REQUEST_SOCKET, one request per
 * connection.  The client sends one message (a request) and reads one
 * message (a reply); the watcher closes the connection after its reply.
 * Both sides are on one host: integers are in the host's byte order.
 *
 * A request:  struct cw_req_head, then fields back to back, each
 *             struct cw_req_field then `len` bytes of value.  Strings end
 *             with their NUL, which `len` counts, and hold no other NUL; a
 *             KV field is "KEY\0VALUE\0".  At most CW_REQ_MAX bytes in all.
 * A reply:    struct cw_reply_head, then `len` bytes of text ending with
 *             its NUL: the snapshot's path, or why not.
 */
#ifndef CRASHWATCH_REQUEST_H
#define CRASHWATCH_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#define CW_REQUEST_SOCKET "/run/crashwatch/request.sock"

#define CW_REQ_MAGIC   0x51525743u /* "CWRQ" */
#define CW_REPLY_MAGIC 0x50525743u /* "CWRP" */
#define CW_REQ_VERSION 1

/* Bounds: a request over any of them is refused whole (CW_STATUS_BAD_REQUEST). */
#define CW_REQ_MAX	       16384 /* bytes in one request message */
#define CW_REQ_MAX_KV	       64    /* --kv pairs */
#define CW_REQ_MAX_CLASSIFIERS 32
#define CW_REQ_MAX_THREADS     256
#define CW_REQ_MAX_KEY	       128  /* bytes in a key, its NUL excluded */
#define CW_REQ_MAX_VALUE       1024 /* a value, a classifier, an error type */
#define CW_REQ_MAX_ERROR       4096 /* the error message */
#define CW_REQ_MAX_TIMEOUT_MS  3600000u
#define CW_REPLY_MAX	       (sizeof(struct cw_reply_head) + 4096)

/* Request flags. */
#define CW_REQ_WAIT	   0x1 /* answer once the snapshot is written (its path), not at once */
#define CW_REQ_FLAGS_KNOWN CW_REQ_WAIT

struct cw_req_head {
	uint32_t magic;	     /* CW_REQ_MAGIC */
	uint16_t version;    /* CW_REQ_VERSION */
	uint16_t flags;	     /* CW_REQ_* */
	int32_t pid;	     /* the process to snapshot; 0: the requester itself */
	int32_t fault_tid;   /* the thread marked faulted; 0: none */
	uint32_t timeout_ms; /* the whole request, queue included; 0: the watcher's default */
	uint32_t reserved;   /* 0 */
};

enum cw_req_field_type {
	CW_REQ_KV = 1,	       /* "KEY\0VALUE\0": an attribute */
	CW_REQ_CLASSIFIER = 2, /* a string */
	CW_REQ_THREAD = 3,     /* int32_t: only these threads (and the faulted one) */
	CW_REQ_ERROR = 4,      /* a string: the error's message (attribute "error") */
	CW_REQ_ERROR_TYPE = 5, /* a string: its type (attribute "error.type") */
	CW_REQ_GOROUTINE = 6,  /* uint64_t: a Go program's asking goroutine (marked faulted) */
};

struct cw_req_field {
	uint16_t type; /* enum cw_req_field_type */
	uint16_t len;  /* bytes of value that follow */
};

/*
 * What a request or a reply can say.  Also the client's own outcomes (no
 * watcher, a garbled reply), so that one enum says everything.  The CLI's
 * exit status is cw_status_exit().
 */
enum cw_status {
	CW_STATUS_DONE = 0,	    /* written: the text is its path */
	CW_STATUS_QUEUED = 1,	    /* taken, not waited for (no CW_REQ_WAIT) */
	CW_STATUS_REFUSED = 2,	    /* not permitted: the text says why */
	CW_STATUS_RATE_LIMITED = 3, /* over a rate limit: detail is the ms to wait */
	CW_STATUS_BUSY = 4,	    /* too many requests at once */
	CW_STATUS_BAD_REQUEST = 5,  /* malformed or out of bounds: the text says what */
	CW_STATUS_NO_PROCESS = 6,   /* no such process or thread */
	CW_STATUS_FAILED = 7,	    /* the snapshot tool failed: detail is its exit status */
	CW_STATUS_TIMED_OUT = 8,    /* not written within the timeout */
	CW_STATUS_UNAVAILABLE = 9,  /* the watcher does not take requests (stopping, no hold) */
	/* The client's own: */
	CW_STATUS_NO_WATCHER = 10, /* nothing listens on the socket */
	CW_STATUS_PROTOCOL = 11,   /* a reply that is not one, or the connection failed */
	CW_STATUS_NR
};

struct cw_reply_head {
	uint32_t magic;	  /* CW_REPLY_MAGIC */
	uint16_t version; /* CW_REQ_VERSION */
	uint16_t status;  /* enum cw_status */
	int32_t detail;	  /* RATE_LIMITED: ms to wait; FAILED: the tool's exit status */
	uint32_t len;	  /* bytes of text that follow, its NUL included */
};

/* A request as parsed: every string points into the parsed buffer. */
struct cw_request {
	uint16_t flags;
	int32_t pid, fault_tid;
	uint32_t timeout_ms;
	const char *error, *error_type; /* NULL: not given */
	uint64_t goroutine;		/* 0: not given */
	struct {
		const char *key, *value;
	} kv[CW_REQ_MAX_KV];
	unsigned n_kv;
	const char *classifiers[CW_REQ_MAX_CLASSIFIERS];
	unsigned n_classifiers;
	int32_t threads[CW_REQ_MAX_THREADS];
	unsigned n_threads;
};

/*
 * Parse buf[0..len) into r.  0, or -1 with *why saying what is wrong (a
 * static string).  Keys are non-empty and hold no ':' nor control
 * characters; values, classifiers and error texts no control characters
 * but tab and newline (the error message) or tab (the others).
 */
int cw_request_parse(const void *buf, size_t len, struct cw_request *r, const char **why);

/*
 * Encode r into buf (cap bytes).  The message's length, or -1 when it does
 * not fit (*why says so).  The bounds of each field are the parser's: a
 * client parses what it encoded (cw_request_parse) to refuse, with the
 * watcher's words, what the watcher would.
 */
long cw_request_encode(const struct cw_request *r, void *buf, size_t cap, const char **why);

/* A reply: its length, or -1 when it does not fit (text is cut to fit first). */
long cw_reply_encode(enum cw_status status, int32_t detail, const char *text, void *buf,
		     size_t cap);

/*
 * Parse a reply: 0, or -1 when it is not one.  *text points into buf (a
 * NUL-terminated string, maybe empty).
 */
int cw_reply_parse(const void *buf, size_t len, enum cw_status *status, int32_t *detail,
		   const char **text);

/* A status in a few words ("refused", "rate-limited", …). */
const char *cw_status_name(enum cw_status s);

/* The exit status of `crashwatch snapshot` for s (its --help lists them). */
int cw_status_exit(enum cw_status s);

#endif
