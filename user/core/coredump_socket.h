/* SPDX-License-Identifier: MIT */
/*
 * The kernel's coredump socket (Linux >= 6.17): with kernel.core_pattern =
 * "@@/path" the kernel itself connects to a unix stream socket listening at
 * /path for every dump, with no usermode helper.  The protocol, as the uapi
 * header include/uapi/linux/coredump.h and fs/coredump.c of 6.17/6.18 define
 * it (Debian 12's linux-libc-dev 6.1 has no such header, so it lives here
 * under our own names):
 *
 *   kernel -> server  struct cw_coredump_req: its size, the size of the ack
 *                     it knows, the answers it supports
 *   server -> kernel  struct cw_coredump_ack: exactly one of KERNEL,
 *                     USERSPACE, REJECT, optionally WAIT
 *   kernel -> server  a __u32 mark: REQACK (0) or why the ack was refused
 *   kernel -> server  with KERNEL: the core (ELF), then shutdown(SHUT_WR)
 *   with WAIT         the dumping process stays until the server closes
 *
 * What the kernel does not send: the pid comes from the peer (SO_PEERPIDFD,
 * SO_PEERCRED), the dumping thread from /proc (PF_DUMPCORE), the signal
 * from PIDFD_GET_INFO only on kernels that have PIDFD_INFO_COREDUMP_SIGNAL
 * (6.19; 6.18 does not say).  RLIMIT_CORE is ignored for sockets: the
 * kernel connects even with `ulimit -c 0`.
 */
#ifndef CW_COREDUMP_SOCKET_H
#define CW_COREDUMP_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* coredump_req.mask / coredump_ack.mask bits (uapi COREDUMP_*). */
enum cw_coredump_mode {
	CW_COREDUMP_KERNEL = 1u << 0,	 /* the kernel writes the core into the connection */
	CW_COREDUMP_USERSPACE = 1u << 1, /* no core written; the parent sees one dumped */
	CW_COREDUMP_REJECT = 1u << 2,	 /* no core, and the parent sees none */
	CW_COREDUMP_WAIT = 1u << 3,	 /* OR-ed in: hold the process until we close */
};

/* The kernel's request (uapi struct coredump_req, first version). */
struct cw_coredump_req {
	uint32_t size;	   /* of the request the kernel sent */
	uint32_t size_ack; /* the largest ack the kernel reads */
	uint64_t mask;	   /* enum cw_coredump_mode bits it supports */
};
_Static_assert(sizeof(struct cw_coredump_req) == 16, "coredump_req VER0 is 16 bytes");

/* Our answer (uapi struct coredump_ack, first version). */
struct cw_coredump_ack {
	uint32_t size;	/* sizeof(struct cw_coredump_ack) */
	uint32_t spare; /* must be 0 */
	uint64_t mask;	/* one of KERNEL, USERSPACE, REJECT; maybe WAIT */
};
_Static_assert(sizeof(struct cw_coredump_ack) == 16, "coredump_ack VER0 is 16 bytes");

#define CW_COREDUMP_REQ_SIZE_VER0 16u
#define CW_COREDUMP_ACK_SIZE_VER0 16u
/* A later kernel may send a longer request; more than this is not a request. */
#define CW_COREDUMP_REQ_SIZE_MAX 4096u

/* The kernel's answer to our ack (uapi enum coredump_mark, sent as a __u32). */
enum cw_coredump_mark {
	CW_COREDUMP_MARK_REQACK = 0,	  /* accepted */
	CW_COREDUMP_MARK_MINSIZE = 1,	  /* ack.size too small */
	CW_COREDUMP_MARK_MAXSIZE = 2,	  /* ack.size larger than req.size_ack */
	CW_COREDUMP_MARK_UNSUPPORTED = 3, /* a bit the kernel did not offer, or spare set */
	CW_COREDUMP_MARK_CONFLICTING = 4, /* not exactly one of KERNEL, USERSPACE, REJECT */
};

/*
 * Check a request as read from the connection: len bytes, the first
 * req.size of what the kernel sent.  Fills out (its first version; what a
 * later kernel adds is ignored).  0, -EBADMSG (too short, or the size field
 * disagrees with len), -EMSGSIZE (larger than CW_COREDUMP_REQ_SIZE_MAX), or
 * -EPROTO (the kernel reads no ack we can send, or offers none of KERNEL,
 * USERSPACE, REJECT).
 */
int cw_coredump_req_parse(const void *buf, size_t len, struct cw_coredump_req *out);

/* One dump the kernel is making, from accept to close. */
struct cw_coredump_conn {
	int fd;		     /* the kernel's connection; -1 once closed */
	int pidfd;	     /* the dumping process (SO_PEERPIDFD); -1 if none */
	pid_t pid;	     /* its thread-group id, in our pid namespace */
	pid_t tid;	     /* the dumping thread, 0 if not found */
	int sig;	     /* the signal, 0 where the kernel does not say (6.18) */
	uid_t uid;	     /* real uid and gid of the process */
	gid_t gid;	     /*   (what %u and %g would have said) */
	uint32_t dump_flags; /* pidfd_info.coredump_mask (PIDFD_COREDUMP_*) */
	struct cw_coredump_req req;
	uint64_t answered; /* the ack's mask once answered, else 0 */
	uint32_t mark;	   /* the kernel's mark once answered */
};

#define CW_COREDUMP_CONN_INIT                                                                      \
	{                                                                                          \
		.fd = -1, .pidfd = -1                                                              \
	}

/*
 * Does the running kernel take "@@/path" in core_pattern?  1, 0, or
 * -errno (core_pattern unreadable, or could not be put back).  It writes
 * core_pattern twice and puts back what it found: a crash in that window
 * (microseconds) may lose its core.  0 also where core_pattern cannot be
 * set to a socket from here (not root, not in the host's mount namespace).
 */
int cw_coredump_socket_supported(void);

/*
 * Listen at path (absolute, no symlinks in it, no "..", no spaces, shorter
 * than sun_path: the kernel looks it up from the host's root with its own
 * credentials, so 0600 root-owned is enough and other users cannot
 * connect).  The directory must exist.  The fd, or -errno with err set.
 */
int cw_coredump_socket_listen(const char *path, char *err, size_t cap);

/*
 * Accept one connection and read the kernel's request.  A peer that is
 * not a dumping process, or a malformed request, is closed without an ack
 * (the kernel then writes no core and the process dies at once): -EPERM /
 * -EBADMSG / -EMSGSIZE / -EPROTO, err set.  0: c is filled and owns the
 * connection and the pidfd; answer it, then cw_coredump_conn_close().  The
 * process cannot exit before the answer, so c->pid names it until then.
 */
int cw_coredump_socket_accept(int lfd, struct cw_coredump_conn *c, char *err, size_t cap);

/*
 * Answer: mode is one of CW_COREDUMP_KERNEL, _USERSPACE, _REJECT, with
 * CW_COREDUMP_WAIT OR-ed in as wanted; then read the kernel's mark.  0
 * (accepted), -EOPNOTSUPP (a bit the kernel did not offer; nothing sent),
 * -EINVAL (not exactly one of the three), -EALREADY, -EPROTO (the kernel's
 * mark refused it; c->mark says why), or -errno.
 */
int cw_coredump_socket_answer(struct cw_coredump_conn *c, enum cw_coredump_mode mode);

/*
 * What to answer so that the core goes where the previous core_pattern
 * would have sent it, with the wait status the parent would have seen:
 * drop or a previous socket pattern: USERSPACE (no core written, the
 * parent sees one dumped, as with a pipe handler); a pipe: KERNEL; a file:
 * KERNEL when the process's RLIMIT_CORE allows one (the kernel ignores it
 * for sockets, so it is read from /proc), REJECT otherwise, as the kernel
 * would have written no core.
 */
enum cw_coredump_mode cw_coredump_socket_mode_for(const struct cw_coredump_conn *c,
						  const char *previous, bool drop);

/*
 * After a KERNEL answer, hand the core stream to the previous consumer:
 * a pipe pattern's program runs with the connection as its stdin (and the
 * pidfd as fd 3 where it asked with %F), *child (owned by the caller: reap
 * it) is that process, and the kernel's WAIT ends when it exits; a file
 * pattern is written on the calling thread, within RLIMIT_CORE (*child -1).  0, -ELOOP (the
 * previous pattern is crashwatch's own handler), -EINVAL (no consumer), or -errno; err set.  On
 * error nothing reads the stream: drain it or close.
 */
int cw_coredump_socket_forward(struct cw_coredump_conn *c, const char *previous, pid_t *child,
			       char *err, size_t cap);

/* Read and discard the rest of the stream (a KERNEL answer with no consumer). */
void cw_coredump_socket_drain(struct cw_coredump_conn *c);

/* Close the connection (the kernel's WAIT ends here) and the pidfd.  Accepts a closed one. */
void cw_coredump_conn_close(struct cw_coredump_conn *c);

#endif
