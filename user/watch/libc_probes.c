// SPDX-License-Identifier: MIT
#include "libc_probes.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "elf_info.h"
#include "proc_maps.h"

/* What probe() found, besides -errno. */
enum {
	PROBED = 0,
	NOT_LIBC = 1, /* does not export abort */
	KNOWN = 2,    /* probed already */
};

int cw_libc_probes_init(struct cw_libc_probes *p, struct bpf_program *prog,
			struct bpf_program *identify, int execs_fd, unsigned max)
{
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info info = {.task.pid = (__u32)getpid()};
	int r;

	*p = (struct cw_libc_probes){.prog = prog, .execs_fd = execs_fd, .max = max};
	p->v = calloc(max ? max : 1, sizeof(*p->v));
	if (!p->v) {
		fprintf(stderr, "crashwatch: failed to allocate the libc probes: %s\n",
			strerror(ENOMEM));
		return -ENOMEM;
	}
	opts.link_info = &info;
	opts.link_info_len = sizeof(info);
	p->iter = bpf_program__attach_iter(identify, &opts);
	if (!p->iter) {
		r = -errno;
		fprintf(stderr,
			"crashwatch: failed to create the task_vma iterator that identifies "
			"libcs: %s; task iterators need Linux >= 5.12\n",
			strerror(-r));
		return r;
	}
	return 0;
}

/*
 * The inode a uprobe on the file open on fd attaches to.  fstat will not
 * tell: through overlayfs it shows the overlay's device, another for each
 * container of one image, while the uprobe goes to the file below, which
 * they share.  Mapped here, the file behind the mapping is that one.
 */
int cw_libc_probes_real_file(struct cw_libc_probes *p, int fd, struct cw_file_key *key)
{
	struct cw_mapped_file buf[64];
	void *addr = mmap(NULL, 1, PROT_READ, MAP_PRIVATE, fd, 0);
	size_t have = 0;
	ssize_t n;
	int it, r = -ENOENT;

	if (addr == MAP_FAILED)
		return -errno;
	it = bpf_iter_create(bpf_link__fd(p->iter));
	if (it < 0)
		r = -errno;
	while (it >= 0 && r == -ENOENT &&
	       (n = read(it, (char *)buf + have, sizeof(buf) - have)) > 0) {
		have += (size_t)n;
		for (size_t i = 0; i < have / sizeof(buf[0]); i++)
			if (buf[i].start == (uintptr_t)addr) {
				*key = buf[i].file;
				r = 0;
			}
		/* A record cut by the read goes on in the next. */
		memmove(buf, (char *)buf + have / sizeof(buf[0]) * sizeof(buf[0]),
			have % sizeof(buf[0]));
		have %= sizeof(buf[0]);
	}
	if (it >= 0)
		close(it);
	munmap(addr, 1);
	return r;
}

/*
 * Probe abort() in the ELF file open on fd.  The uprobe is attached through
 * /proc/self/fd: to the very file open here, whatever mount namespace it was
 * found in and even if the process that mapped it is gone by now.
 */
static int probe(struct cw_libc_probes *p, int fd)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts);
	struct cw_file_key key;
	struct bpf_link *link;
	char self[64];
	uint64_t offset;
	int r;

	r = cw_elf_exported_function(fd, "abort", &offset);
	if (r == -ENOENT || r == -ENOEXEC)
		return NOT_LIBC;
	if (r < 0)
		return r;
	r = cw_libc_probes_real_file(p, fd, &key);
	if (r < 0)
		return r;
	for (size_t i = 0; i < p->n; i++)
		if (memcmp(&p->v[i].file, &key, sizeof(key)) == 0)
			return KNOWN;
	if (p->n >= p->max)
		return -ENOSPC;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	link = bpf_program__attach_uprobe_opts(p->prog, -1, self, (size_t)offset, &opts);
	if (!link)
		return -errno;
	p->v[p->n++] = (struct cw_libc_probe){.file = key, .link = link};
	return PROBED;
}

/* The libc this watcher runs on: the host's. */
static int host_libc(char *out, size_t cap)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096];
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');

		if (path && strstr(path, "/libc.so.")) {
			path[strcspn(path, "\n")] = '\0';
			snprintf(out, cap, "%s", path);
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

int cw_libc_probes_add_host(struct cw_libc_probes *p, char *path, size_t cap)
{
	int fd, r = host_libc(path, cap);

	if (r) {
		fprintf(stderr,
			"crashwatch: failed to find the host's libc in /proc/self/maps: %s; "
			"--hold needs crashwatch linked dynamically against libc.so\n",
			strerror(-r));
		return r;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -errno : probe(p, fd);
	if (fd >= 0)
		close(fd);
	if (r == NOT_LIBC)
		r = -ENOEXEC;
	if (r < 0)
		fprintf(stderr, "crashwatch: failed to attach a uprobe to abort() in %s: %s\n",
			path, strerror(-r));
	return r < 0 ? r : 0;
}

/*
 * A mapping of pid, by its range.  The range may have been split since the
 * kernel saw it (ld.so maps a library whole, then its segments over it):
 * then the mapping that now holds start at the same file offset is the file.
 */
static int open_mapping(pid_t pid, uint64_t start, uint64_t end, uint64_t pgoff, char *link,
			size_t cap)
{
	const struct cw_mapping *m;
	struct cw_maps maps;
	uint64_t at = start;
	int fd, r;

	snprintf(link, cap, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, start, end);
	fd = open(link, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	r = cw_maps_read(pid, &maps);
	if (r < 0)
		return r;
	m = cw_maps_find(&maps, at);
	start = end = 0;
	if (m && m->path && m->pgoff + (at - m->start) == pgoff) {
		start = m->start;
		end = m->end;
	}
	cw_maps_free(&maps);
	if (!start)
		return -ENOENT;
	snprintf(link, cap, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, start, end);
	fd = open(link, O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

/* path under base: the root of another process (symlinks and ".." kept inside it), or ours. */
static int open_under(int base, const char *path)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	long fd;

	if (base == AT_FDCWD)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	else
		fd = syscall(SYS_openat2, base, path, &how, sizeof(how));
	return fd >= 0 ? (int)fd : -errno;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Say what probe() did with the file at path, the process's view of it. */
static void report(struct cw_libc_probes *p, const struct cw_exec_event *ev, int r,
		   const char *path)
{
	switch (r) {
	case PROBED:
		fprintf(stderr,
			"crashwatch: probing abort() in %s, the libc of pid %u (%.*s) in mount "
			"namespace %u\n",
			path, ev->task.pid, CW_COMM_LEN, ev->task.comm, ev->mnt_ns);
		break;
	case NOT_LIBC:
	case KNOWN:
		break;
	case -ENOSPC:
		p->skipped++;
		fprintf(stderr,
			"crashwatch: not probing abort() in %s (pid %u, mount namespace %u): "
			"%u libcs are probed already (--max-libcs); its aborts are held in "
			"their core dump instead\n",
			path, ev->task.pid, ev->mnt_ns, p->max);
		break;
	default:
		p->failed++;
		fprintf(stderr,
			"crashwatch: failed to attach a uprobe to abort() in %s (pid %u, mount "
			"namespace %u): %s%s; its aborts are held in their core dump "
			"instead, ignoring\n",
			path, ev->task.pid, ev->mnt_ns, strerror(-r),
			r == -EMFILE ? " (raise the open files limit: ulimit -n)" : "");
		break;
	}
}

/*
 * The libc installed beside the interpreter, where glibc installs it: what
 * ld.so will load in every distribution's layout, found before ld.so has
 * even run.  The interpreter's path (as /proc shows it) is looked up in the
 * process's root first, a container's, then in ours, a chroot's path being
 * shown from our root; the right root is the one where that path is the
 * interpreter mapped.
 */
static void probe_beside(struct cw_libc_probes *p, const struct cw_exec_event *ev, int interp,
			 const char *interp_path)
{
	char root_link[64], path[PATH_MAX];
	const char *slash = strrchr(interp_path, '/');
	int bases[2], fd;

	if (interp_path[0] != '/' || !slash)
		return;
	snprintf(root_link, sizeof(root_link), "/proc/%u/root", ev->task.pid);
	bases[0] = open(root_link, O_PATH | O_DIRECTORY | O_CLOEXEC);
	bases[1] = AT_FDCWD;
	for (int i = 0; i < 2; i++) {
		if (bases[i] == -1)
			continue;
		fd = open_under(bases[i], interp_path);
		if (fd < 0)
			continue;
		if (!same_file(fd, interp)) {
			close(fd);
			continue;
		}
		close(fd);
		snprintf(path, sizeof(path), "%.*s/libc.so.6", (int)(slash - interp_path),
			 interp_path);
		fd = open_under(bases[i], path);
		if (fd >= 0) {
			report(p, ev, probe(p, fd), path);
			close(fd);
		}
		break;
	}
	if (bases[0] >= 0)
		close(bases[0]);
}

/*
 * A libc somewhere else (RPATH, LD_LIBRARY_PATH, a bundled one) is found
 * only if ld.so has mapped it by the time we look.  By name, to spare an
 * ELF read of every library: glibc's libc.so.6 or libc-2.x.so, musl's
 * ld-musl-ARCH.so.1.
 */
static void probe_mapped(struct cw_libc_probes *p, const struct cw_exec_event *ev)
{
	const char *last = NULL;
	struct cw_maps maps;
	char link[96];

	if (cw_maps_read((pid_t)ev->task.pid, &maps) < 0)
		return;
	for (size_t i = 0; i < maps.n; i++) {
		const struct cw_mapping *m = &maps.v[i];
		const char *base = m->path ? strrchr(m->path, '/') : NULL;
		int fd;

		if (!base || m->perms[2] != 'x' || (last && strcmp(last, m->path) == 0))
			continue;
		last = m->path;
		if (strncmp(base, "/libc.so", 8) != 0 && strncmp(base, "/libc-", 6) != 0 &&
		    strncmp(base, "/ld-musl-", 9) != 0)
			continue;
		snprintf(link, sizeof(link), "/proc/%u/map_files/%" PRIx64 "-%" PRIx64,
			 ev->task.pid, m->start, m->end);
		fd = open(link, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		report(p, ev, probe(p, fd), m->path);
		close(fd);
	}
	cw_maps_free(&maps);
}

/* Hear of the executable again at its next exec: this one told us nothing. */
static void forget(struct cw_libc_probes *p, const struct cw_exec_event *ev)
{
	if (p->execs_fd >= 0)
		bpf_map_delete_elem(p->execs_fd, &ev->key);
}

void cw_libc_probes_on_exec(struct cw_libc_probes *p, const struct cw_exec_event *ev)
{
	char link[96], interp_path[PATH_MAX];
	ssize_t n;
	int fd;

	/* Static: no interpreter, no libc but its own (go_probes looks at it). */
	if (memcmp(&ev->interp, &ev->key.exe, sizeof(ev->interp)) == 0)
		return;

	fd = open_mapping((pid_t)ev->task.pid, ev->interp_start, ev->interp_end, ev->interp_pgoff,
			  link, sizeof(link));
	if (fd == -ENOENT || fd == -ESRCH) {
		/* The process exited or unmapped it first; a later exec will tell. */
		p->unread++;
		forget(p, ev);
		return;
	}
	if (fd < 0) {
		/* Not forgotten: every later exec would fail the same way. */
		p->failed++;
		fprintf(stderr,
			"crashwatch: failed to open %s to look for the libc of pid %u: %s; the "
			"watcher needs CAP_SYS_ADMIN for /proc/PID/map_files, ignoring\n",
			link, ev->task.pid, strerror(-fd));
		return;
	}
	/* As /proc/PID/maps shows it: from the process's mount namespace's root. */
	n = readlink(link, interp_path, sizeof(interp_path) - 1);
	interp_path[n > 0 ? n : 0] = '\0';
	/* musl's interpreter is its libc. */
	report(p, ev, probe(p, fd), n > 0 ? interp_path : link);
	if (n > 0)
		probe_beside(p, ev, fd, interp_path);
	close(fd);
	probe_mapped(p, ev);
}

void cw_libc_probes_emit_counters(const struct cw_libc_probes *p, struct cw_counter_sink *s)
{
	cw_sink_gauge(s, "libcs_probed", "libc files whose abort() is probed.", p->n);
	cw_sink_counter(s, "libcs_skipped", "libc files not probed: --max-libcs reached.",
			p->skipped);
	cw_sink_counter(s, "libc_probes_failed", "libc files whose probes failed to attach.",
			p->failed);
	cw_sink_counter(s, "execs_unread", "Programs started whose libc could not be read.",
			p->unread);
}

void cw_libc_probes_free(struct cw_libc_probes *p)
{
	while (p->v && p->n > 0)
		bpf_link__destroy(p->v[--p->n].link);
	free(p->v);
	p->v = NULL;
	bpf_link__destroy(p->iter);
	p->iter = NULL;
}
