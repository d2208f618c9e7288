// SPDX-License-Identifier: MIT
#include "probe_files.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elf_info.h"
#include "proc_maps.h"

extern char **environ;

void cw_probe_files_free(struct cw_probe_files *f)
{
	for (size_t i = 0; i < f->n; i++)
		close(f->v[i].fd);
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}

/* Add the file open on fd (taken) unless the same file is there already. */
static int files_add(struct cw_probe_files *f, const char *path, int fd)
{
	struct stat st, other;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	for (size_t i = 0; i < f->n; i++)
		if (fstat(f->v[i].fd, &other) == 0 && other.st_dev == st.st_dev &&
		    other.st_ino == st.st_ino) {
			close(fd);
			return 0;
		}
	if (f->n == f->cap) {
		size_t want = f->cap ? 2 * f->cap : 16;
		struct cw_probe_file *v = realloc(f->v, want * sizeof(*v));

		if (!v) {
			close(fd);
			return -ENOMEM;
		}
		f->v = v;
		f->cap = want;
	}
	snprintf(f->v[f->n].path, sizeof(f->v[f->n].path), "%s", path);
	f->v[f->n++].fd = fd;
	return 0;
}

/* PT_INTERP of the ELF file open on fd into out, "" when none. */
static void elf_interp(int fd, char *out, size_t cap)
{
	Elf *elf;
	size_t n;

	out[0] = '\0';
	elf = cw_elf_open(fd);
	if (!elf)
		return;
	if (elf_getphdrnum(elf, &n) == 0)
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);
			ssize_t got;

			if (!ph || ph->p_type != PT_INTERP || ph->p_filesz == 0 ||
			    ph->p_filesz >= cap)
				continue;
			got = pread(fd, out, ph->p_filesz, (off_t)ph->p_offset);
			out[got > 0 ? got : 0] = '\0';
			out[strnlen(out, cap - 1)] = '\0';
			break;
		}
	elf_end(elf);
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/*
 * The libraries the dynamic loader maps for program, as `ld.so --list`
 * says (what ldd runs).  Only this system's own loader, the one this
 * program runs with, is run: it maps the libraries and runs no code of
 * theirs nor of the program's.  A program with another loader (or none:
 * static) is listed alone.
 */
int cw_probe_files_add_libraries(struct cw_probe_files *f, const char *program, int program_fd)
{
	char interp[PATH_MAX], ours[PATH_MAX], buf[65536], *line, *save = NULL;
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), out[2], st;
	posix_spawn_file_actions_t fa;
	size_t got = 0;
	pid_t child;
	ssize_t n;

	elf_interp(program_fd, interp, sizeof(interp));
	ours[0] = '\0';
	if (self >= 0) {
		elf_interp(self, ours, sizeof(ours));
		close(self);
	}
	if (!interp[0] || !ours[0] || !same_file(interp, ours) || pipe2(out, O_CLOEXEC) < 0)
		return 0;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&child, ours, &fa, NULL, (char *[]){ours, "--list", (char *)program, NULL},
			environ) != 0)
		child = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	while (child > 0 && got < sizeof(buf) - 1 &&
	       ((n = read(out[0], buf + got, sizeof(buf) - 1 - got)) > 0 ||
		(n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	close(out[0]);
	buf[got] = '\0';
	if (child > 0)
		while (waitpid(child, &st, 0) < 0 && errno == EINTR)
			;
	/* "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)", "\t/lib64/ld-... (0x...)" */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *path = strstr(line, " => "), *end;
		int fd;

		path = path ? path + 4 : line + strspn(line, " \t");
		if (path[0] != '/')
			continue;
		end = strstr(path, " (");
		if (end)
			*end = '\0';
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && files_add(f, path, fd) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Every file a process maps, through map_files: the very file, in any mount namespace. */
static int add_mapped(struct cw_probe_files *f, pid_t pid)
{
	struct cw_maps maps;
	char link[96];
	int r = cw_maps_read(pid, &maps);

	if (r < 0)
		return r;
	for (size_t i = 0; i < maps.n; i++) {
		const struct cw_mapping *m = &maps.v[i];
		int fd;

		if (!m->path || m->path[0] != '/' ||
		    (i && maps.v[i - 1].path && strcmp(maps.v[i - 1].path, m->path) == 0))
			continue;
		snprintf(link, sizeof(link), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
			 m->start, m->end);
		fd = open(link, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && (r = files_add(f, m->path, fd)) < 0)
			break;
	}
	cw_maps_free(&maps);
	return r < 0 ? r : 0;
}

int cw_probe_files_collect(struct cw_probe_files *f, const char *program, pid_t pid)
{
	int fd, r;

	if (pid) {
		r = add_mapped(f, pid);
		if (r < 0)
			fprintf(stderr, "crashwatch: failed to read the mappings of pid %d: %s\n",
				(int)pid, strerror(-r));
		return r;
	}
	fd = open(program, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "crashwatch: cannot open %s: %s\n", program, strerror(-r));
		return r;
	}
	r = files_add(f, program, fd);
	if (r == 0 && f->n == 0) {
		fprintf(stderr, "crashwatch: %s is not a regular file: give a program's path\n",
			program);
		return -EINVAL;
	}
	if (r == 0)
		r = cw_probe_files_add_libraries(f, program, f->v[0].fd);
	return r;
}
