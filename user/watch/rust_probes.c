// SPDX-License-Identifier: MIT
#include "rust_probes.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rust_elf.h"
#include "proc_info.h"
#include "counter_sink.h"

int cw_rust_probes_init(struct cw_rust_probes *p, struct bpf_program *hook,
			struct bpf_program *panic, const char *const *debug_dirs,
			size_t n_debug_dirs, unsigned max)
{
	*p = (struct cw_rust_probes){.hook_prog = hook,
				     .panic_prog = panic,
				     .debug_dirs = debug_dirs,
				     .n_debug_dirs = n_debug_dirs,
				     .max = max};
	p->v = calloc(max ? max : 1, sizeof(*p->v));
	if (!p->v) {
		fprintf(stderr, "crashwatch: failed to allocate the Rust probes: %s\n",
			strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

static void detach(struct cw_rust_probe *p)
{
	bpf_link__destroy(p->hook);
	bpf_link__destroy(p->panic);
	p->hook = p->panic = NULL;
}

enum {
	PROBED = 0,
	NOT_RUST = 1,
	KNOWN = 2,
};

/* Through /proc/self/fd, as the libcs are: the very file, whatever mount namespace. */
static int probe(struct cw_rust_probes *g, struct cw_libc_probes *libcs, int fd,
		 struct cw_rust_panic_points *pts)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts);
	struct cw_rust_probe p = {0};
	struct cw_file_key key;
	char self[64];
	int r;

	r = cw_rust_panic_points(fd, g->debug_dirs, g->n_debug_dirs, pts);
	if (r == -ENOENT || r == -ENOEXEC)
		return NOT_RUST;
	if (r < 0)
		return r;
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
	p.hook = bpf_program__attach_uprobe_opts(g->hook_prog, -1, self, (size_t)pts->hook, &opts);
	if (!p.hook)
		return -errno;
	/* panic=abort: held at abort(), which the libc's probe holds. */
	if (!pts->abort && pts->panic) {
		p.panic = bpf_program__attach_uprobe_opts(g->panic_prog, -1, self,
							  (size_t)pts->panic, &opts);
		if (!p.panic) {
			r = -errno;
			detach(&p);
			return r;
		}
	}
	g->v[g->n++] = p;
	return PROBED;
}

void cw_rust_probes_on_exec(struct cw_rust_probes *g, struct cw_libc_probes *libcs,
			    const struct cw_exec_event *ev)
{
	struct cw_rust_panic_points pts;
	char path[PATH_MAX];
	int fd, r;

	fd = cw_proc_open_exe((pid_t)ev->task.pid, path, sizeof(path));
	if (fd < 0)
		return; /* gone, or exec'd again */
	r = probe(g, libcs, fd, &pts);
	close(fd);
	switch (r) {
	case NOT_RUST:
	case KNOWN:
		break;
	case PROBED:
		fprintf(stderr,
			"crashwatch: probing std's panic path (%s%s) in %s, the Rust executable "
			"of pid %u (%.*s) in mount namespace %u%s\n",
			pts.abort ? "panic=abort: held at abort()" : "panic=unwind",
			!pts.abort && !pts.panic ? ", no rust_panic: not held" : "", path,
			ev->task.pid, CW_COMM_LEN, ev->task.comm, ev->mnt_ns,
			pts.from_debug_file ? ", its symbols from its debug file" : "");
		break;
	case -ENOSPC:
		g->skipped++;
		fprintf(stderr,
			"crashwatch: not probing the Rust executable %s (pid %u, mount namespace "
			"%u): %u are probed already (--max-rust-binaries); its panics are "
			"reported without their message\n",
			path, ev->task.pid, ev->mnt_ns, g->max);
		break;
	default:
		g->failed++;
		fprintf(stderr,
			"crashwatch: failed to attach uprobes to std's panic path in %s (pid %u, "
			"mount namespace %u): %s; its panics are reported without their "
			"message, ignoring\n",
			path, ev->task.pid, ev->mnt_ns, strerror(-r));
		break;
	}
}

void cw_rust_probes_emit_counters(const struct cw_rust_probes *g, struct cw_counter_sink *s)
{
	cw_sink_gauge(s, "rust_binaries_probed", "Rust executables whose panic paths are probed.",
		      g->n);
	cw_sink_counter(s, "rust_binaries_skipped",
			"Rust executables not probed: past --max-rust-binaries.", g->skipped);
	cw_sink_counter(s, "rust_probes_failed", "Rust executables whose probes failed to attach.",
			g->failed);
}

void cw_rust_probes_free(struct cw_rust_probes *g)
{
	while (g->v && g->n > 0)
		detach(&g->v[--g->n]);
	free(g->v);
	g->v = NULL;
}
