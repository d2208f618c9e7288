// SPDX-License-Identifier: MIT
#include "trusted_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/*
 * One directory on the way down: dir itself, and when others may write it
 * but it is sticky, the entry next under it (its name), which must then be
 * root's.  last: dir is the directory asked about, where sticky is no excuse.
 */
static int check_one(const char *dir, const char *next, bool last, char *why, size_t why_cap,
		     char *fix, size_t fix_cap)
{
	bool owner_ok, writable;
	struct stat st;
	int r;

	/* stat, not lstat: the next name is looked up in the directory a link leads to. */
	if (stat(dir, &st) < 0) {
		r = -errno;
		snprintf(why, why_cap, "failed to look at %s: %s", dir, strerror(-r));
		return r;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, why_cap, "%s is not a directory", dir);
		return -ENOTDIR;
	}
	owner_ok = trusted_owner(st.st_uid);
	writable = st.st_mode & (S_IWGRP | S_IWOTH);
	if (writable && !last && owner_ok && (st.st_mode & S_ISVTX)) {
		char child[PATH_MAX + NAME_MAX + 2];
		struct stat cst;

		snprintf(child, sizeof(child), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", next);
		/* Missing: the next step says so. */
		if (lstat(child, &cst) == 0 && !trusted_owner(cst.st_uid)) {
			snprintf(why, why_cap,
				 "%s is owned by uid %u in %s, which others can write", child,
				 (unsigned)cst.st_uid, dir);
			snprintf(fix, fix_cap, "chown -h root: %s", child);
			return -EPERM;
		}
		writable = false;
	}
	if (owner_ok && !writable)
		return 0;
	if (!owner_ok && writable) {
		snprintf(why, why_cap,
			 "%s is owned by uid %u, not root, and writable by group or others "
			 "(mode %04o)",
			 dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		snprintf(fix, fix_cap, "chown root: %s; chmod go-w %s", dir, dir);
	} else if (!owner_ok) {
		snprintf(why, why_cap, "%s is owned by uid %u, not root", dir, (unsigned)st.st_uid);
		snprintf(fix, fix_cap, "chown root: %s", dir);
	} else {
		snprintf(why, why_cap, "%s is writable by group or others (mode %04o)", dir,
			 (unsigned)(st.st_mode & 07777));
		snprintf(fix, fix_cap, "chmod go-w %s", dir);
	}
	return -EPERM;
}

/* Every directory from / down to path (absolute), each as check_one() sees it. */
static int check_chain(const char *path, char *why, size_t why_cap, char *fix, size_t fix_cap)
{
	char prefix[PATH_MAX];
	size_t len = 1;
	const char *p = path;
	int r;

	prefix[0] = '/';
	prefix[1] = '\0';
	for (;;) {
		const char *name, *end;
		char next[NAME_MAX + 1];

		while (*p == '/')
			p++;
		name = p;
		end = name + strcspn(name, "/");
		p = end;
		while (*p == '/')
			p++;
		if (end == name)
			return check_one(prefix, "", true, why, why_cap, fix, fix_cap);
		if ((size_t)(end - name) > NAME_MAX ||
		    len + (size_t)(end - name) + 2 > sizeof(prefix)) {
			snprintf(why, why_cap, "the path %s is too long", path);
			return -ENAMETOOLONG;
		}
		memcpy(next, name, (size_t)(end - name));
		next[end - name] = '\0';
		r = check_one(prefix, next, false, why, why_cap, fix, fix_cap);
		if (r < 0)
			return r;
		if (len > 1)
			prefix[len++] = '/';
		memcpy(prefix + len, next, (size_t)(end - name) + 1);
		len += (size_t)(end - name);
	}
}

int cw_dir_trusted(const char *path, char *why, size_t why_cap, char *fix, size_t fix_cap)
{
	char abs[PATH_MAX], real[PATH_MAX];
	int r;

	fix[0] = '\0';
	if (path[0] == '/') {
		if ((size_t)snprintf(abs, sizeof(abs), "%s", path) >= sizeof(abs))
			r = -ENAMETOOLONG;
		else
			r = 0;
	} else {
		char cwd[PATH_MAX];

		r = getcwd(cwd, sizeof(cwd)) ? 0 : -errno;
		if (r == 0 && (size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, path) >= sizeof(abs))
			r = -ENAMETOOLONG;
	}
	if (r < 0) {
		snprintf(why, why_cap, "failed to make %s absolute: %s", path, strerror(-r));
		return r;
	}
	/* The path as written (whoever may swap a link on it), then where it leads. */
	r = check_chain(abs, why, why_cap, fix, fix_cap);
	if (r < 0)
		return r;
	if (!realpath(abs, real)) {
		r = -errno;
		snprintf(why, why_cap, "failed to resolve %s: %s", path, strerror(-r));
		return r;
	}
	return strcmp(real, abs) ? check_chain(real, why, why_cap, fix, fix_cap) : 0;
}

int cw_dir_writable(const char *path, char *why, size_t cap)
{
	char probe[PATH_MAX];
	struct stat st;
	int fd, r;

	if (stat(path, &st) < 0) {
		r = -errno;
		snprintf(why, cap, "failed to look at %s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, cap, "%s is not a directory", path);
		return -ENOTDIR;
	}
	/* Root passes every permission check: only a real file says (read-only mount, immutable).
	 */
	if ((size_t)snprintf(probe, sizeof(probe), "%s/.cw-probe-%d", path, (int)getpid()) >=
	    sizeof(probe)) {
		snprintf(why, cap, "the path %s is too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(why, cap, "failed to create a file in %s: %s", path, strerror(-r));
		return r;
	}
	close(fd);
	unlink(probe);
	return 0;
}
