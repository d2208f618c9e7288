// SPDX-License-Identifier: MIT
#include "timeline_events.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe_files.h"

static char *json_text(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	return s;
}

static void keep(void *ctx, const struct cw_usdt_event *ev, const struct cw_usdt_attachment *a)
{
	struct cw_tl_events *e = ctx;
	struct cw_tl_instant *in;
	char name[2 * CW_USDT_NAME_MAX + 1];

	if (e->err)
		return;
	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 256;
		struct cw_tl_instant *v = realloc(e->v, cap * sizeof(*v));

		if (!v) {
			e->err = -ENOMEM;
			return;
		}
		e->v = v;
		e->cap = cap;
	}
	in = &e->v[e->n];
	memset(in, 0, sizeof(*in));
	in->ts_ns = ev->hdr.ts_ns;
	in->pid = ev->task.pid;
	in->tid = ev->task.tid;
	memcpy(in->comm, ev->task.comm, CW_COMM_LEN);
	snprintf(name, sizeof(name), "%s:%s", a ? a->probe.provider : "?", a ? a->probe.name : "?");
	in->name = json_text(json_string(name));
	in->args = json_text(cw_usdt_args_json(ev, a, true));
	if (!in->name || !in->args) {
		free(in->name);
		free(in->args);
		e->err = -ENOMEM;
		return;
	}
	e->n++;
}

/* "usdt_events (pid 12)": what the messages call a process. */
static void describe(pid_t pid, char *out, size_t cap)
{
	char path[64], exe[4096];
	ssize_t len;
	const char *base;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = '\0';
	base = strrchr(exe, '/');
	snprintf(out, cap, "%.64s (pid %d)", len > 0 ? (base ? base + 1 : exe) : "a process",
		 (int)pid);
}

/* Attach in pid's files, firing in pid alone (or any process: every). */
static int attach_pid(struct cw_tl_events *e, const struct cw_usdt_trace_list *l, pid_t pid,
		      bool every, unsigned found[CW_USDT_TRACE_MAX_SPECS], size_t *declared)
{
	struct cw_probe_files f = {0};
	int r = cw_probe_files_collect(&f, NULL, pid);

	if (r == 0)
		r = cw_usdt_tracer_attach(&e->tracer, &f, l, every ? -1 : pid, false, found,
					  declared);
	cw_probe_files_free(&f);
	return r;
}

/* Every process in scope now, but this one. */
static int attach_scope(struct cw_tl_events *e, const struct cw_usdt_trace_list *l,
			const struct cw_scope *scope, unsigned found[CW_USDT_TRACE_MAX_SPECS],
			size_t *declared, size_t *n_procs)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int r = 0;

	if (!d) {
		r = -errno;
		fprintf(stderr, "crashwatch: failed to list /proc: %s\n", strerror(-r));
		return r;
	}
	while (!r && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == getpid() || !cw_scope_has_pid(scope, (pid_t)pid))
			continue;
		(*n_procs)++;
		r = attach_pid(e, l, (pid_t)pid, true, found, declared);
		/* Gone meanwhile, or a kernel thread: nothing to attach to. */
		if (r == -ENOENT || r == -ESRCH || r == -EACCES)
			r = 0;
	}
	closedir(d);
	return r;
}

int cw_tl_events_start(struct cw_tl_events *e, const struct cw_usdt_trace_list *l,
		       const pid_t *pids, size_t n_pids, const struct cw_scope *scope)
{
	unsigned found[CW_USDT_TRACE_MAX_SPECS] = {0};
	char who[512] = "";
	size_t declared = 0, n_procs = 0;
	int r;

	memset(e, 0, sizeof(*e));
	r = cw_usdt_tracer_open(&e->tracer,
				&(struct cw_usdt_tracer_options){
					.view_pidns = scope && scope->sidecar ? scope->pidns : 0,
					.cgroup_ids = scope ? scope->cgroup_ids : NULL,
					.n_cgroups = scope ? scope->n_cgroups : 0,
					.fn = keep,
					.ctx = e,
				});
	if (r)
		return r;
	if (scope) {
		r = attach_scope(e, l, scope, found, &declared, &n_procs);
		snprintf(who, sizeof(who), "%zu process(es) of the cgroup(s)", n_procs);
	}
	for (size_t i = 0; !scope && !r && i < n_pids; i++) {
		size_t len = strlen(who);

		r = attach_pid(e, l, pids[i], false, found, &declared);
		if (len < sizeof(who) - 64) {
			snprintf(who + len, sizeof(who) - len, "%s", i ? ", " : "");
			len = strlen(who);
			describe(pids[i], who + len, sizeof(who) - len);
		}
	}
	if (r)
		return r;
	if (!declared) {
		fprintf(stderr,
			"crashwatch: %s declares no trace events (USDT probes), nor do the "
			"libraries it maps: nothing for --events to record; `crashwatch probes "
			"--pid=PID` lists a process's\n",
			who);
		return -EINVAL;
	}
	for (unsigned s = 0; s < l->n; s++)
		if (!found[s]) {
			fprintf(stderr,
				"crashwatch: bad --events: %s has no event %s:%s, nor have the "
				"libraries it maps; `crashwatch probes --pid=PID` lists its "
				"events\n",
				who, l->v[s].provider, l->v[s].name);
			return -EINVAL;
		}
	fprintf(stderr, "crashwatch: recording %u trace event(s) in %zu probe attachment(s)\n",
		l->n, e->tracer.set.n);
	return 0;
}

int cw_tl_events_fd(const struct cw_tl_events *e)
{
	return e->tracer.rb ? cw_usdt_tracer_fd(&e->tracer) : -1;
}

int cw_tl_events_consume(struct cw_tl_events *e)
{
	return e->tracer.rb ? cw_usdt_tracer_consume(&e->tracer) : 0;
}

void cw_tl_events_stop(struct cw_tl_events *e)
{
	if (!e->tracer.skel)
		return;
	if (e->tracer.rb)
		cw_usdt_tracer_consume(&e->tracer);
	e->lost = cw_usdt_tracer_lost(&e->tracer);
	cw_usdt_tracer_close(&e->tracer);
}

void cw_tl_events_free(struct cw_tl_events *e)
{
	cw_tl_events_stop(e);
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].name);
		free(e->v[i].args);
	}
	free(e->v);
	e->v = NULL;
	e->n = e->cap = 0;
}
