// SPDX-License-Identifier: MIT
#include "http_peer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* The uid and inode of the TCP socket whose source is peer and destination local. */
static int diag_lookup(const struct sockaddr_storage *peer, const struct sockaddr_storage *local,
		       uint32_t *uid, uint64_t *inode)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = {.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST},
		.r = {.sdiag_family = (uint8_t)peer->ss_family,
		      .sdiag_protocol = IPPROTO_TCP,
		      .idiag_states = ~0u,
		      .id.idiag_cookie = {INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE}},
	};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct timeval tv = {.tv_sec = 1};
	union {
		struct nlmsghdr h;
		char buf[8192];
	} ans;
	ssize_t n;
	int fd, r = -ENOENT;

	if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *p = (const void *)peer, *l = (const void *)local;

		req.r.id.idiag_sport = p->sin_port;
		req.r.id.idiag_dport = l->sin_port;
		memcpy(req.r.id.idiag_src, &p->sin_addr, 4);
		memcpy(req.r.id.idiag_dst, &l->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *p = (const void *)peer, *l = (const void *)local;

		req.r.id.idiag_sport = p->sin6_port;
		req.r.id.idiag_dport = l->sin6_port;
		memcpy(req.r.id.idiag_src, &p->sin6_addr, 16);
		memcpy(req.r.id.idiag_dst, &l->sin6_addr, 16);
	}
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		r = -errno;
		goto out;
	}
	n = recv(fd, &ans, sizeof(ans), 0);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	for (struct nlmsghdr *h = &ans.h; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)))
				r = e->error < 0 ? e->error : -ENOENT;
			break;
		}
		if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
			const struct inet_diag_msg *m = NLMSG_DATA(h);

			*uid = m->idiag_uid;
			*inode = m->idiag_inode;
			r = 0;
			break;
		}
	}
out:
	close(fd);
	return r;
}

/* Whether pid holds the socket of this inode among its fds. */
static bool holds(pid_t pid, const char *want)
{
	char path[64], link[64];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);

		if (n > 0) {
			link[n] = '\0';
			found = !strcmp(link, want);
		}
	}
	closedir(d);
	return found;
}

/* The first process holding the socket of this inode: its pid, or 0. */
static pid_t holder(uint64_t inode)
{
	char want[48];
	struct dirent *e;
	pid_t found = 0;
	DIR *proc = opendir("/proc");

	if (!proc)
		return 0;
	snprintf(want, sizeof(want), "socket:[%llu]", (unsigned long long)inode);
	while (!found && (e = readdir(proc))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
		    strspn(e->d_name, "0123456789") != strlen(e->d_name))
			continue;
		if (holds((pid_t)atoi(e->d_name), want))
			found = (pid_t)atoi(e->d_name);
	}
	closedir(proc);
	return found;
}

int cw_http_peer(int fd, int family, struct cw_auth_peer *peer, char *why, size_t cap)
{
	struct sockaddr_storage local, remote;
	socklen_t llen = sizeof(local), rlen = sizeof(remote);
	uint64_t inode = 0;
	uint32_t uid = 0;
	pid_t pid;
	int r;

	if (family == AF_UNIX) {
		struct ucred c;
		socklen_t len = sizeof(c);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) < 0) {
			r = -errno;
			snprintf(why, cap, "failed to read who connected (SO_PEERCRED): %s",
				 strerror(-r));
			return r;
		}
		*peer = (struct cw_auth_peer){.pid = c.pid, .uid = c.uid, .gid = c.gid};
		peer->cap_prm = cw_auth_cap_prm(c.pid);
		return 0;
	}
	if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0 ||
	    getpeername(fd, (struct sockaddr *)&remote, &rlen) < 0) {
		r = -errno;
		snprintf(why, cap, "failed to read the connection's addresses: %s", strerror(-r));
		return r;
	}
	r = diag_lookup(&remote, &local, &uid, &inode);
	if (r < 0) {
		snprintf(why, cap,
			 "failed to find who connected (NETLINK_SOCK_DIAG): %s; ask over the "
			 "unix socket instead",
			 strerror(-r));
		return r;
	}
	pid = inode ? holder(inode) : 0;
	if (!pid) {
		snprintf(why, cap,
			 "no process of this host holds the connecting socket (inode %llu): "
			 "ask from a process the watcher can see",
			 (unsigned long long)inode);
		return -EPERM;
	}
	r = cw_auth_peer_of(pid, peer);
	if (r < 0) {
		snprintf(why, cap, "failed to read pid %d, which holds the connecting socket: %s",
			 (int)pid, strerror(-r));
		return -EPERM;
	}
	if (peer->uid != uid) {
		snprintf(why, cap,
			 "the connecting socket was made by uid %u but is held by pid %d running "
			 "as uid %u: ask from a socket of your own",
			 (unsigned)uid, (int)pid, (unsigned)peer->uid);
		return -EPERM;
	}
	return 0;
}
