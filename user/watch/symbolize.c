// SPDX-License-Identifier: MIT
#include "symbolize.h"

#include <dirent.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demangle.h"
#include "dwfl_lookup.h"
#include "elf_info.h"
#include "proc_info.h"
#include "proc_maps.h"

struct module {
	uint8_t id[CW_BUILD_ID_MAX];
	int id_len;
	char *path; /* as the process saw it */
	int fd;	    /* the file, kept open: /proc/PID/root goes away with the process */
	Dwfl *dwfl; /* NULL until first used */
	Dwfl_Module *mod;
	bool broken;			/* could not be opened by libdwfl: do not retry */
	struct cw_demangle_cache names; /* keyed by this Dwfl's strings */
};

struct indexed_file {
	uint8_t id[CW_BUILD_ID_MAX];
	int id_len;
	char *path;
};

struct cw_symbolizer {
	struct module *mods;
	size_t nmods, amods;
	struct indexed_file *index;
	size_t nindex, aindex;
	bool index_built;

	/* The process being symbolized. */
	pid_t pid;
	bool live;
	struct cw_maps maps;
	bool maps_scanned;
	char *exe_path;
	bool no_source_lines; /* functions only: no DWARF read */
};

static char *debuginfo_path;
static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

struct cw_symbolizer *cw_symbolizer_new(void)
{
	elf_version(EV_CURRENT);
	return calloc(1, sizeof(struct cw_symbolizer));
}

bool cw_symbolizer_source_lines(struct cw_symbolizer *s, bool on)
{
	bool was = !s->no_source_lines;

	s->no_source_lines = !on;
	return was;
}

void cw_symbolizer_free(struct cw_symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmods; i++) {
		cw_demangle_cache_free(&s->mods[i].names);
		if (s->mods[i].dwfl)
			dwfl_end(s->mods[i].dwfl);
		if (s->mods[i].fd >= 0)
			close(s->mods[i].fd);
		free(s->mods[i].path);
	}
	for (size_t i = 0; i < s->nindex; i++)
		free(s->index[i].path);
	free(s->mods);
	free(s->index);
	cw_maps_free(&s->maps);
	free(s->exe_path);
	free(s);
}

void cw_symbolizer_begin(struct cw_symbolizer *s, pid_t pid, uint64_t start_boottime,
			 const char *exe_path)
{
	cw_maps_free(&s->maps);
	free(s->exe_path);
	s->exe_path = exe_path && *exe_path ? strdup(exe_path) : NULL;
	s->pid = pid;
	s->maps_scanned = false;
	s->live = cw_proc_is_same(pid, start_boottime) && cw_maps_read(pid, &s->maps) == 0 &&
		  cw_proc_is_same(pid, start_boottime);
	if (!s->live)
		cw_maps_free(&s->maps);
}

static bool id_equal(const uint8_t *a, int alen, const uint8_t *b, int blen)
{
	/* BPF gives 20 bytes, zero-padded for shorter ids. */
	int n = alen < blen ? alen : blen;

	return n > 0 && memcmp(a, b, (size_t)n) == 0;
}

static struct module *find_module(struct cw_symbolizer *s, const uint8_t *id, int len)
{
	for (size_t i = 0; i < s->nmods; i++)
		if (id_equal(s->mods[i].id, s->mods[i].id_len, id, len))
			return &s->mods[i];
	return NULL;
}

/* Takes fd (may be -1) in every case. */
static struct module *add_module(struct cw_symbolizer *s, const uint8_t *id, int len,
				 const char *path, int fd)
{
	struct module *m = find_module(s, id, len);

	if (m) {
		if (fd >= 0)
			close(fd);
		return m;
	}
	if (s->nmods == s->amods) {
		size_t na = s->amods ? 2 * s->amods : 16;
		struct module *nv = realloc(s->mods, na * sizeof(*nv));

		if (!nv) {
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		s->mods = nv;
		s->amods = na;
	}
	m = &s->mods[s->nmods];
	*m = (struct module){.id_len = len, .fd = fd};
	memcpy(m->id, id, (size_t)len);
	m->path = strdup(path);
	if (!m->path) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	s->nmods++;
	return m;
}

/* The build-id of the file at path, or <= 0. */
static int path_build_id(const char *path, uint8_t *id)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int n;

	if (fd < 0)
		return -errno;
	n = cw_elf_build_id_fd(fd, id, CW_BUILD_ID_MAX);
	close(fd);
	return n;
}

/* Register a file as a module; returns it (or NULL if it has no build-id). */
static struct module *learn_file(struct cw_symbolizer *s, const char *open_path,
				 const char *shown_path)
{
	uint8_t id[CW_BUILD_ID_MAX];
	int fd = open(open_path, O_RDONLY | O_CLOEXEC);
	int n;

	if (fd < 0)
		return NULL;
	n = cw_elf_build_id_fd(fd, id, CW_BUILD_ID_MAX);
	if (n <= 0) {
		close(fd);
		return NULL;
	}
	return add_module(s, id, n, shown_path ? shown_path : open_path, fd);
}

static void index_add(struct cw_symbolizer *s, const uint8_t *id, int len, const char *path)
{
	struct indexed_file *f;

	if (s->nindex == s->aindex) {
		size_t na = s->aindex ? 2 * s->aindex : 256;
		struct indexed_file *nv = realloc(s->index, na * sizeof(*nv));

		if (!nv)
			return;
		s->index = nv;
		s->aindex = na;
	}
	f = &s->index[s->nindex];
	f->path = strdup(path);
	if (!f->path)
		return;
	f->id_len = len;
	memcpy(f->id, id, (size_t)len);
	s->nindex++;
}

static void index_dir(struct cw_symbolizer *s, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];

	if (!d)
		return;
	while ((de = readdir(d))) {
		uint8_t id[CW_BUILD_ID_MAX];
		struct stat st;
		int n;

		if (de->d_name[0] == '.' || !strstr(de->d_name, ".so"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		n = path_build_id(path, id);
		if (n > 0)
			index_add(s, id, n, path);
	}
	closedir(d);
}

/* The shared-library directories: the usual ones and those ld.so.conf names. */
static void build_index(struct cw_symbolizer *s)
{
	static const char *const dirs[] = {
		"/lib64", "/usr/lib64", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
		"/lib",	  "/usr/lib",	"/usr/local/lib",
	};
	glob_t g = {0};

	s->index_built = true;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		index_dir(s, dirs[i]);
	if (glob("/etc/ld.so.conf.d/*.conf", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			FILE *f = fopen(g.gl_pathv[i], "re");
			char line[1024];

			if (!f)
				continue;
			while (fgets(line, sizeof(line), f)) {
				line[strcspn(line, "\n#")] = '\0';
				if (line[0] == '/')
					index_dir(s, line);
			}
			fclose(f);
		}
	}
	globfree(&g);
}

/* Every file mapped by the live process, learnt once per process. */
static void scan_live_maps(struct cw_symbolizer *s)
{
	char open_path[4200];

	if (!s->live || s->maps_scanned)
		return;
	s->maps_scanned = true;
	for (size_t i = 0; i < s->maps.n; i++) {
		const struct cw_mapping *m = &s->maps.v[i];

		if (!m->path ||
		    (i > 0 && s->maps.v[i - 1].path && strcmp(s->maps.v[i - 1].path, m->path) == 0))
			continue;
		/* Through the process's root: right inside containers too. */
		snprintf(open_path, sizeof(open_path), "/proc/%d/root%s", (int)s->pid, m->path);
		learn_file(s, open_path, m->path);
	}
}

static struct module *resolve_build_id(struct cw_symbolizer *s, const uint8_t *id, int len)
{
	struct module *m = find_module(s, id, len);
	char path[64 + 2 * CW_BUILD_ID_MAX], hex[2 * CW_BUILD_ID_MAX + 1];

	if (m)
		return m;
	if (s->exe_path && (m = learn_file(s, s->exe_path, NULL)) &&
	    id_equal(m->id, m->id_len, id, len))
		return m;
	scan_live_maps(s);
	if ((m = find_module(s, id, len)))
		return m;
	if (!s->index_built)
		build_index(s);
	for (size_t i = 0; i < s->nindex; i++)
		if (id_equal(s->index[i].id, s->index[i].id_len, id, len))
			return add_module(s, s->index[i].id, s->index[i].id_len, s->index[i].path,
					  -1);
	cw_hex(id, (size_t)len, hex);
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", hex, hex + 2);
	if (access(path, R_OK) == 0)
		return add_module(s, id, len, path, -1);
	return NULL;
}

static bool open_module(struct module *m)
{
	if (m->dwfl || m->broken)
		return m->dwfl != NULL;
	m->dwfl = dwfl_begin(&offline_callbacks);
	if (m->dwfl) {
		dwfl_report_begin(m->dwfl);
		/* libdwfl owns the descriptor it is given. */
		int fd = m->fd >= 0 ? fcntl(m->fd, F_DUPFD_CLOEXEC, 0) : -1;

		m->mod = dwfl_report_elf(m->dwfl, m->path, m->path, fd, 0, true);
		if (!m->mod && fd >= 0)
			close(fd);
		dwfl_report_end(m->dwfl, NULL, NULL);
	}
	if (!m->mod) {
		if (m->dwfl)
			dwfl_end(m->dwfl);
		m->dwfl = NULL;
		m->broken = true;
	}
	return m->dwfl != NULL;
}

static void lookup(struct module *m, uint64_t offset, bool return_address, bool source_lines,
		   struct cw_symbol *out)
{
	struct cw_code_location loc;
	uint64_t vaddr, at;
	GElf_Addr bias;
	Elf *elf;

	out->module = m->path;
	if (!open_module(m))
		return;
	elf = dwfl_module_getelf(m->mod, &bias);
	if (cw_elf_offset_to_vaddr(elf, offset, &vaddr) < 0)
		return;
	at = vaddr + bias - (return_address && vaddr > 0 ? 1 : 0);
	cw_dwfl_lookup(m->mod, at, source_lines, &loc);
	/* The one place the watcher's names are demangled. */
	out->function = cw_demangle_cached(&m->names, loc.function, &out->symbol);
	if (loc.function)
		out->function_offset = loc.function_offset + (vaddr + bias - at);
	out->file = loc.file;
	out->line = loc.line;
}

int cw_symbolize(struct cw_symbolizer *s, const struct cw_frame *f, uint64_t ip,
		 bool return_address, struct cw_symbol *out)
{
	const struct cw_mapping *map;
	struct module *m = NULL;
	uint64_t offset = 0;
	char open_path[4200];

	*out = (struct cw_symbol){0};
	if (f && f->status == CW_FRAME_BUILD_ID) {
		m = resolve_build_id(s, f->build_id, CW_BUILD_ID_SIZE);
		offset = f->addr;
		out->has_offset = true;
	} else if (s->live && (map = cw_maps_find(&s->maps, ip)) && map->path) {
		offset = ip - map->start + map->pgoff;
		out->has_offset = true;
		snprintf(open_path, sizeof(open_path), "/proc/%d/root%s", (int)s->pid, map->path);
		m = learn_file(s, open_path, map->path);
		if (!m) {
			out->module = NULL;
			out->module_offset = offset;
			return -ENOENT;
		}
	}
	out->module_offset = offset;
	if (!m)
		return -ENOENT;
	lookup(m, offset, return_address, !s->no_source_lines, out);
	return 0;
}

size_t cw_first_capture_frames(const struct cw_signal_event *ev, struct cw_symbolizer *sym,
			       struct cw_frame_view *v)
{
	size_t n = ev->nr_ips > ev->nr_build_ids ? ev->nr_ips : ev->nr_build_ids;

	for (size_t i = 0; i < n; i++) {
		v[i].ip = i < ev->nr_ips ? ev->ips[i] : 0;
		v[i].bid = i < ev->nr_build_ids && ev->frames[i].status == CW_FRAME_BUILD_ID
				   ? &ev->frames[i]
				   : NULL;
		if (!v[i].ip && i < ev->nr_build_ids && ev->frames[i].status == CW_FRAME_IP_ONLY)
			v[i].ip = ev->frames[i].addr;
		memset(&v[i].sym, 0, sizeof(v[i].sym));
		if (sym)
			cw_symbolize(sym, v[i].bid, v[i].ip, i > 0, &v[i].sym);
		else if (v[i].bid) {
			v[i].sym.module_offset = v[i].bid->addr;
			v[i].sym.has_offset = true;
		}
	}
	return n;
}
