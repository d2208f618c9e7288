// SPDX-License-Identifier: MIT
#include "usdt_probes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "counter_sink.h"
#include "probe_files.h"
#include "proc_info.h"
#include "proc_maps.h"

static bool is_path(const struct cw_usdt_spec *s)
{
	return s->program && strchr(s->program, '/');
}

/* Does spec s apply to a file shown at path, the executable of its process or not? */
static bool applies(const struct cw_usdt_spec *s, const char *path, bool is_exe)
{
	const char *base = strrchr(path, '/');

	if (!s->program)
		return true;
	if (is_path(s))
		return false; /* attached at start, by its path */
	return is_exe && strcmp(base ? base + 1 : path, s->program) == 0;
}

/*
 * Attach every spec that applies to the file open on fd.  Says what it
 * attached; a spec given by path that the file lacks is an error (-ENOENT).
 */
static int look_at(struct cw_usdt_probes *u, struct cw_libc_probes *files, int fd, const char *path,
		   bool is_exe, int only_spec, pid_t pid)
{
	struct cw_usdt_notes notes;
	struct cw_file_key key;
	bool keyed = false;
	char err[512];
	int r = cw_usdt_notes_read_fd(fd, &notes), ret = 0;

	if (r < 0 || !notes.n) {
		cw_usdt_notes_free(&notes);
		return only_spec >= 0 ? (r < 0 ? r : -ENOENT) : 0;
	}
	for (unsigned s = 0; s < u->n_specs; s++) {
		const struct cw_usdt_spec *sp = &u->specs[s];
		const struct cw_usdt_probe *p;

		if (only_spec >= 0 ? (int)s != only_spec : !applies(sp, path, is_exe))
			continue;
		p = cw_usdt_notes_find(&notes, sp->provider, sp->name);
		if (!p) {
			if (only_spec >= 0)
				ret = -ENOENT;
			continue;
		}
		if (!keyed && (r = cw_libc_probes_real_file(files, fd, &key)) < 0) {
			fprintf(stderr, "crashwatch: failed to identify %s for its probes: %s%s\n",
				path, strerror(-r), only_spec >= 0 ? "" : ", ignoring");
			ret = r;
			break;
		}
		keyed = true;
		r = cw_usdt_attach(&u->set, fd, &key, path, p, s, err, sizeof(err));
		if (r == 0 && pid)
			fprintf(stderr,
				"crashwatch: snapshots on %s:%s in %s (pid %d), %s semaphore\n",
				p->provider, p->name, path, (int)pid, p->semaphore ? "its" : "no");
		else if (r == 0)
			fprintf(stderr, "crashwatch: snapshots on %s:%s in %s, %s semaphore\n",
				p->provider, p->name, path, p->semaphore ? "its" : "no");
		else if (r < 0)
			fprintf(stderr, "crashwatch: %s%s\n", err,
				only_spec >= 0 ? "" : ", ignoring");
		if (r < 0 && only_spec >= 0)
			ret = r;
	}
	cw_usdt_notes_free(&notes);
	return ret;
}

/* A running process's executable and mapped files, each file looked at once. */
static void scan_process(struct cw_usdt_probes *u, struct cw_libc_probes *files, pid_t pid,
			 struct stat *seen, size_t *n_seen, size_t cap)
{
	char link[96], exe[PATH_MAX];
	struct cw_maps maps;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0 || cw_maps_read(pid, &maps) < 0)
		return;
	exe[n] = '\0';
	for (size_t i = 0; i < maps.n; i++) {
		const struct cw_mapping *m = &maps.v[i];
		struct stat st;
		bool known = false;
		int fd;

		if (!m->path || m->perms[2] != 'x')
			continue;
		snprintf(link, sizeof(link), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
			 m->start, m->end);
		fd = open(link, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0)
			for (size_t k = 0; k < *n_seen && !known; k++)
				known = seen[k].st_dev == st.st_dev && seen[k].st_ino == st.st_ino;
		if (!known) {
			if (*n_seen < cap)
				seen[(*n_seen)++] = st;
			look_at(u, files, fd, m->path, strcmp(m->path, exe) == 0, -1, pid);
		}
		close(fd);
	}
	cw_maps_free(&maps);
}

static void scan_running(struct cw_usdt_probes *u, struct cw_libc_probes *files)
{
	size_t cap = 8192, n_seen = 0;
	struct stat *seen = calloc(cap, sizeof(*seen));
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && seen && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid())
			continue;
		scan_process(u, files, (pid_t)pid, seen, &n_seen, cap);
	}
	if (d)
		closedir(d);
	free(seen);
}

int cw_usdt_probes_start(struct cw_usdt_probes *u, const struct cw_watch_options *o,
			 struct bpf_program *prog, int gates_fd, struct cw_libc_probes *files)
{
	bool any_scan = false;
	int r;

	memset(u, 0, sizeof(*u));
	if (!o->n_snapshot_on)
		return 0;
	r = cw_usdt_set_init(&u->set, prog, gates_fd, true, -1);
	if (r < 0) {
		fprintf(stderr, "crashwatch: failed to allocate the USDT probes: %s\n",
			strerror(-r));
		return r;
	}
	u->started = true;
	for (unsigned i = 0; i < o->n_snapshot_on; i++) {
		const char *why;

		/* Checked by the option parser already. */
		if (cw_usdt_spec_parse(o->snapshot_on[i], true, &u->specs[u->n_specs], &why) < 0)
			return -EINVAL;
		u->any_file |= !u->specs[u->n_specs].program;
		u->n_specs++;
	}
	if (u->any_file) {
		struct stat st;

		u->libs_seen = calloc(CW_USDT_LIBS_SEEN, sizeof(*u->libs_seen));
		if (!u->libs_seen)
			return -ENOMEM;
		if (stat("/proc/self/ns/mnt", &st) == 0)
			u->own_mnt_ns = (uint32_t)st.st_ino;
	}
	for (unsigned s = 0; s < u->n_specs; s++) {
		const struct cw_usdt_spec *sp = &u->specs[s];
		int fd;

		if (!is_path(sp)) {
			any_scan = true;
			continue;
		}
		fd = open(sp->program, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			fprintf(stderr, "crashwatch: --snapshot-on=%s:%s@%s: cannot open %s: %s\n",
				sp->provider, sp->name, sp->program, sp->program, strerror(-r));
			return r;
		}
		r = look_at(u, files, fd, sp->program, false, (int)s, 0);
		close(fd);
		if (r == -ENOENT)
			fprintf(stderr,
				"crashwatch: --snapshot-on=%s:%s@%s: %s has no such USDT probe; "
				"crashwatch probes %s lists those it has\n",
				sp->provider, sp->name, sp->program, sp->program, sp->program);
		if (r < 0)
			return r;
	}
	if (any_scan)
		scan_running(u, files);
	return 0;
}

/* Was the library open on fd looked at already?  Remembers it when not. */
static bool lib_seen(struct cw_usdt_probes *u, struct cw_libc_probes *files, int fd)
{
	struct cw_file_key key;

	if (cw_libc_probes_real_file(files, fd, &key) < 0)
		return false;
	for (size_t i = 0; i < u->n_libs_seen; i++)
		if (memcmp(&u->libs_seen[i], &key, sizeof(key)) == 0)
			return true;
	/* Full: looked at again, harmless (an attachment is made once). */
	if (u->n_libs_seen < CW_USDT_LIBS_SEEN)
		u->libs_seen[u->n_libs_seen++] = key;
	return false;
}

/*
 * The libraries a new executable will map, as the loader finds them: not
 * mapped yet at exec, and perhaps by no process before.  Only in the
 * watcher's mount namespace, whose files and loader these are.
 */
static void look_at_libraries(struct cw_usdt_probes *u, struct cw_libc_probes *files,
			      const char *exe, int exe_fd, pid_t pid)
{
	struct cw_probe_files f = {0};

	u->lib_lookups++;
	cw_probe_files_add_libraries(&f, exe, exe_fd);
	for (size_t i = 0; i < f.n; i++)
		if (!lib_seen(u, files, f.v[i].fd))
			look_at(u, files, f.v[i].fd, f.v[i].path, false, -1, pid);
	cw_probe_files_free(&f);
}

void cw_usdt_probes_on_exec(struct cw_usdt_probes *u, struct cw_libc_probes *files,
			    const struct cw_exec_event *ev)
{
	char path[PATH_MAX];
	bool want = false;
	int fd;

	for (unsigned s = 0; s < u->n_specs; s++)
		want |= !is_path(&u->specs[s]);
	if (!u->started || !want)
		return;
	fd = cw_proc_open_exe((pid_t)ev->task.pid, path, sizeof(path));
	if (fd < 0)
		return; /* gone already: libc_probes counts the unread */
	look_at(u, files, fd, path, true, -1, (pid_t)ev->task.pid);
	if (u->any_file && u->own_mnt_ns && ev->mnt_ns == u->own_mnt_ns)
		look_at_libraries(u, files, path, fd, (pid_t)ev->task.pid);
	close(fd);
}

void cw_usdt_probes_emit_counters(const struct cw_usdt_probes *u, struct cw_counter_sink *s)
{
	if (!u->started)
		return;
	cw_sink_gauge(s, "usdt_attached", "USDT probes of --snapshot-on attached now.", u->set.n);
	cw_sink_counter(s, "usdt_attach_failed",
			"USDT probes of --snapshot-on that failed to attach.", u->set.failed);
	cw_sink_counter(s, "usdt_attach_skipped",
			"USDT probes of --snapshot-on not attached: past the bound.",
			u->set.skipped);
	cw_sink_counter(s, "usdt_library_lookups",
			"New executables whose libraries were looked up for --snapshot-on.",
			u->lib_lookups);
}

void cw_usdt_probes_free(struct cw_usdt_probes *u)
{
	if (u->started)
		cw_usdt_set_free(&u->set);
	free(u->libs_seen);
	u->libs_seen = NULL;
	u->started = false;
}
