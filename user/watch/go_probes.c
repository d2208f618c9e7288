// SPDX-License-Identifier: MIT
#include "go_probes.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "go_elf.h"
#include "proc_info.h"

static const char *const fn_names[CW_GO_NR_FNS] = {
	[CW_GO_FATALPANIC] = "runtime.fatalpanic",
	[CW_GO_FATALTHROW] = "runtime.fatalthrow",
	[CW_GO_PREPRINT] = "runtime.preprintpanics",
	[CW_GO_THROW] = "runtime.throw",
	[CW_GO_FATAL] = "runtime.fatal",
};

/* What probe() found, besides -errno. */
enum {
	PROBED = 0,
	NOT_GO = 1,
	KNOWN = 2,
};

int cw_go_probes_init(struct cw_go_probes *g, struct bpf_program *panic, struct bpf_program *fatal,
		      struct bpf_program *preprint, struct bpf_program *throw, int go_exes_fd,
		      unsigned max)
{
	*g = (struct cw_go_probes){.progs = {panic, fatal, preprint, throw, throw},
				   .go_exes_fd = go_exes_fd,
				   .max = max};
	g->v = calloc(max ? max : 1, sizeof(*g->v));
	if (!g->v) {
		fprintf(stderr, "crashwatch: failed to allocate the Go probes: %s\n",
			strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

static void detach(struct cw_go_probe *p)
{
	for (int k = 0; k < CW_GO_NR_FNS; k++) {
		bpf_link__destroy(p->links[k]);
		p->links[k] = NULL;
	}
}

/*
 * Probe the Go runtime's fatal paths in the executable open on fd.  Through
 * /proc/self/fd, as the libcs are: the very file, whatever mount namespace.
 * Both functions or none: a Go without fatalthrow (another name in a
 * future version) still has its panics held.
 */
static int probe(struct cw_go_probes *g, struct cw_libc_probes *libcs, int fd)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts);
	uint64_t offsets[CW_GO_NR_FNS] = {0};
	struct cw_go_probe p = {0};
	struct cw_file_key key;
	char self[64];
	int r;

	r = cw_go_elf_functions(fd, fn_names, CW_GO_NR_FNS, offsets);
	if (r == -ENOENT || r == -ENOEXEC)
		return NOT_GO;
	if (r < 0)
		return r;
	if (!offsets[CW_GO_FATALPANIC])
		return -ENOENT;
	r = cw_libc_probes_real_file(libcs, fd, &key);
	if (r < 0)
		return r;
	for (size_t i = 0; i < g->n; i++)
		if (memcmp(&g->v[i].file, &key, sizeof(key)) == 0)
			return KNOWN;
	if (g->n >= g->max)
		return -ENOSPC;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	p.file = key;
	for (int k = 0; k < CW_GO_NR_FNS; k++) {
		if (!offsets[k])
			continue;
		p.links[k] = bpf_program__attach_uprobe_opts(g->progs[k], -1, self,
							     (size_t)offsets[k], &opts);
		if (!p.links[k]) {
			r = -errno;
			detach(&p);
			return r;
		}
	}
	g->v[g->n++] = p;
	return PROBED;
}

void cw_go_probes_on_exec(struct cw_go_probes *g, struct cw_libc_probes *libcs,
			  const struct cw_exec_event *ev)
{
	char path[PATH_MAX];
	__u8 one = 1;
	int fd, r;

	/* The file exec ran, as it is now: the one the kernel's key names, in any mount ns. */
	fd = cw_proc_open_exe((pid_t)ev->task.pid, path, sizeof(path));
	if (fd < 0)
		return; /* gone, or exec'd again: libc_probes counts the unread */
	r = probe(g, libcs, fd);
	close(fd);
	if (r == NOT_GO)
		return;
	/* Its faults go to its panic: known to the kernel by the file exec ran. */
	if ((r == PROBED || r == KNOWN) &&
	    bpf_map_update_elem(g->go_exes_fd, &ev->key.exe, &one, BPF_ANY) < 0) {
		r = -errno;
		fprintf(stderr,
			"crashwatch: failed to note %s as a Go executable: %s; its faults are "
			"held at its signal handler and again at its panic, ignoring\n",
			path, strerror(-r));
		return;
	}
	switch (r) {
	case PROBED:
		fprintf(stderr,
			"crashwatch: probing runtime.fatalpanic and runtime.fatalthrow in %s, the "
			"Go executable of pid %u (%.*s) in mount namespace %u\n",
			path, ev->task.pid, CW_COMM_LEN, ev->task.comm, ev->mnt_ns);
		break;
	case KNOWN:
		break;
	case -ENOSPC:
		g->skipped++;
		fprintf(stderr,
			"crashwatch: not probing the Go executable %s (pid %u, mount namespace "
			"%u): %u are probed already (--max-go-binaries); its panics are "
			"reported at its exit instead\n",
			path, ev->task.pid, ev->mnt_ns, g->max);
		break;
	default:
		g->failed++;
		fprintf(stderr,
			"crashwatch: failed to attach uprobes to the Go runtime in %s (pid %u, "
			"mount namespace %u): %s; its panics are reported at its exit "
			"instead, ignoring\n",
			path, ev->task.pid, ev->mnt_ns, strerror(-r));
		break;
	}
}

void cw_go_probes_emit_counters(const struct cw_go_probes *g, struct cw_counter_sink *s)
{
	cw_sink_gauge(s, "go_binaries_probed",
		      "Go executables whose panics and fatal errors are probed.", g->n);
	cw_sink_counter(s, "go_binaries_skipped",
			"Go executables not probed: --max-go-binaries reached.", g->skipped);
	cw_sink_counter(s, "go_probes_failed", "Go executables whose probes failed to attach.",
			g->failed);
}

void cw_go_probes_free(struct cw_go_probes *g)
{
	while (g->v && g->n > 0)
		detach(&g->v[--g->n]);
	free(g->v);
	g->v = NULL;
}
