// SPDX-License-Identifier: MIT
#include "container_read.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc_info.h"

/* The path of a /proc/PID/cgroup line ("ID:CONTROLLERS:PATH"), its length in *n. */
static const char *line_path(const char *line, size_t *n)
{
	size_t len = strcspn(line, "\n");
	const char *c1 = memchr(line, ':', len), *c2;

	if (!c1)
		return NULL;
	c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line));
	if (!c2)
		return NULL;
	*n = len - (size_t)(c2 + 1 - line);
	return c2 + 1;
}

int cw_container_from_cgroup_file(const char *text, struct cw_container_info *out)
{
	char *v1 = NULL;

	for (const char *line = text; *line;) {
		size_t next = strcspn(line, "\n"), n;
		const char *path = line_path(line, &n);

		if (path && strncmp(line, "0::", 3) == 0 && !out->cgroup) {
			out->cgroup = strndup(path, n);
			if (!out->cgroup) {
				free(v1);
				return -ENOMEM;
			}
		} else if (path && !v1) {
			struct cw_container_name name;
			char *p = strndup(path, n);

			if (!p)
				return -ENOMEM;
			cw_container_name_parse(p, &name);
			if (name.id[0])
				v1 = p;
			else
				free(p);
		}
		line += next + (line[next] ? 1 : 0);
	}
	cw_container_name_parse(out->cgroup, &out->name);
	if (!out->name.id[0] && v1)
		cw_container_name_parse(v1, &out->name);
	free(v1);
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static int unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

int cw_mountinfo_cgroup2(const char *text, char *mount, size_t mount_cap, char *root,
			 size_t root_cap)
{
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER" */
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		const char *sep = memmem(line, len, " - ", 3), *f[5], *p = line;
		size_t flen[5];
		int i;

		for (i = 0; sep && i < 5 && p < sep; i++) {
			p += strspn(p, " ");
			f[i] = p;
			flen[i] = strcspn(p, " \n");
			p += flen[i];
		}
		if (i == 5 && p <= sep && line + len - (sep + 3) >= 7 &&
		    strncmp(sep + 3, "cgroup2", 7) == 0 &&
		    (sep[10] == ' ' || sep[10] == '\n' || !sep[10])) {
			int r = unescape(f[4], flen[4], mount, mount_cap);

			return r ? r : unescape(f[3], flen[3], root, root_cap);
		}
		line += len + (line[len] ? 1 : 0);
	}
	return -ENOENT;
}

int cw_cgroup2_mount(char *mount, size_t mount_cap, char *root, size_t root_cap)
{
	char *text = cw_proc_read_file(AT_FDCWD, "/proc/self/mountinfo", NULL);
	int r;

	if (!text)
		return -errno;
	r = cw_mountinfo_cgroup2(text, mount, mount_cap, root, root_cap);
	free(text);
	return r;
}

uint64_t cw_cgroup_id(const char *path)
{
	char mount[PATH_MAX], root[PATH_MAX], dir[PATH_MAX];
	size_t rlen;
	struct stat st;

	if (!path || path[0] != '/' ||
	    cw_cgroup2_mount(mount, sizeof(mount), root, sizeof(root)) < 0)
		return 0;
	/* A mount of a sub-hierarchy (a bind mount, a container's) holds only what is below root.
	 */
	rlen = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (rlen && (strncmp(path, root, rlen) != 0 || (path[rlen] && path[rlen] != '/')))
		return 0;
	if ((size_t)snprintf(dir, sizeof(dir), "%s%s", mount, path + rlen) >= sizeof(dir) ||
	    stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return (uint64_t)st.st_ino;
}

#define FILEID_KERNFS 0xfe /* include/linux/exportfs.h: a kernfs node by its 64-bit id */

char *cw_cgroup_path_of_id(uint64_t id)
{
	char mount[PATH_MAX], root[PATH_MAX], link[64], at[PATH_MAX], *path;
	struct {
		struct file_handle h;
		uint64_t id;
	} fh = {.h = {.handle_bytes = sizeof(uint64_t), .handle_type = FILEID_KERNFS}};
	size_t mlen;
	ssize_t n;
	int mfd, fd;

	if (!id || cw_cgroup2_mount(mount, sizeof(mount), root, sizeof(root)) < 0)
		return NULL;
	mfd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return NULL;
	memcpy(fh.h.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mfd, &fh.h, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(mfd);
	if (fd < 0)
		return NULL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, at, sizeof(at) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	at[n] = '\0';
	mlen = strcmp(mount, "/") == 0 ? 0 : strlen(mount);
	/* Outside the mount point: a cgroup the mount does not show (another namespace's). */
	if (strncmp(at, mount, mlen) != 0 || (at[mlen] && at[mlen] != '/'))
		return NULL;
	if (strcmp(root, "/") == 0)
		return strdup(at[mlen] ? at + mlen : "/");
	return asprintf(&path, "%s%s", root, at + mlen) < 0 ? NULL : path;
}

static uint64_t ns_inode(int proc_dir, const char *name)
{
	struct stat st;

	return fstatat(proc_dir, name, &st, 0) == 0 ? (uint64_t)st.st_ino : 0;
}

int cw_container_info_read(int proc_dir, struct cw_container_info *out)
{
	char *text;
	int r;

	memset(out, 0, sizeof(*out));
	out->pid_ns = ns_inode(proc_dir, "ns/pid");
	out->mnt_ns = ns_inode(proc_dir, "ns/mnt");
	text = cw_proc_read_file(proc_dir, "cgroup", NULL);
	if (!text)
		return -errno;
	r = cw_container_from_cgroup_file(text, out);
	free(text);
	if (r < 0)
		return r;
	out->cgroup_id = cw_cgroup_id(out->cgroup);
	return 0;
}

void cw_container_info_free(struct cw_container_info *ci)
{
	free(ci->cgroup);
	memset(ci, 0, sizeof(*ci));
}

static json_t *text_or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

static json_t *inode_or_null(uint64_t v)
{
	return v ? json_integer((json_int_t)v) : json_null();
}

json_t *cw_container_json(const struct cw_container_info *ci)
{
	json_t *o = json_object();

	json_object_set_new(o, "cgroup", text_or_null(ci->cgroup));
	if (ci->cgroup_id)
		json_object_set_new(o, "cgroup_id", json_integer((json_int_t)ci->cgroup_id));
	json_object_set_new(o, "runtime", text_or_null(ci->name.runtime));
	json_object_set_new(o, "id", text_or_null(ci->name.id));
	json_object_set_new(o, "pod_uid", text_or_null(ci->name.pod_uid));
	json_object_set_new(o, "systemd_unit", text_or_null(ci->name.systemd_unit));
	json_object_set_new(o, "pid_ns", inode_or_null(ci->pid_ns));
	json_object_set_new(o, "mnt_ns", inode_or_null(ci->mnt_ns));
	return o;
}
