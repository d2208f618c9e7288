// SPDX-License-Identifier: MIT
#include "usdt_attach.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event_decode.h"

/* The value of the kernel's usdt_gates (detect.bpf.c). */
struct gate {
	__u64 busy_since, quiet_until;
};

static bool name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= CW_USDT_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '_' || s[i] == '.' || s[i] == '-' || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

int cw_usdt_spec_parse(const char *text, bool program_allowed, struct cw_usdt_spec *s,
		       const char **why)
{
	const char *colon = strchr(text, ':'), *at = strchr(text, '@');
	size_t plen, nlen;

	memset(s, 0, sizeof(*s));
	if (!colon || (at && at < colon)) {
		*why = "give PROVIDER:NAME";
		return -EINVAL;
	}
	plen = (size_t)(colon - text);
	nlen = at ? (size_t)(at - colon - 1) : strlen(colon + 1);
	if (!name_ok(text, plen) || !name_ok(colon + 1, nlen)) {
		*why = "a provider and a name of letters, digits, '_', '.' or '-'";
		return -EINVAL;
	}
	if (at && (!program_allowed || !at[1])) {
		*why = program_allowed ? "give a program after '@'" : "no '@PROGRAM' here";
		return -EINVAL;
	}
	memcpy(s->provider, text, plen);
	memcpy(s->name, colon + 1, nlen);
	s->program = at ? at + 1 : NULL;
	return 0;
}

int cw_usdt_set_init(struct cw_usdt_set *s, struct bpf_program *prog, int gates_fd, bool snapshot,
		     pid_t pid)
{
	*s = (struct cw_usdt_set){
		.prog = prog, .gates_fd = gates_fd, .snapshot = snapshot, .pid = pid};
	s->v = calloc(CW_MAX_USDT_ATTACH, sizeof(*s->v));
	return s->v ? 0 : -ENOMEM;
}

/* The string arguments trace.h's list names: the kernel copies them. */
static uint32_t string_mask(const struct cw_usdt_probe *p)
{
	uint32_t m = 0;

	for (unsigned i = 0; i < p->n_args; i++)
		if (p->args[i].string)
			m |= 1U << i;
	return m;
}

int cw_usdt_attach(struct cw_usdt_set *s, int fd, const struct cw_file_key *key, const char *path,
		   const struct cw_usdt_probe *p, unsigned spec, char *err, size_t cap)
{
	LIBBPF_OPTS(bpf_usdt_opts, opts);
	struct cw_usdt_attachment *a;
	struct gate gate = {0, 0};
	char self[64];
	__u32 id;

	for (size_t i = 0; i < s->n; i++)
		if (memcmp(&s->v[i].file, key, sizeof(*key)) == 0 && s->v[i].pid == s->pid &&
		    strcmp(s->v[i].probe.provider, p->provider) == 0 &&
		    strcmp(s->v[i].probe.name, p->name) == 0)
			return 1;
	if (!s->v || s->n >= CW_MAX_USDT_ATTACH) {
		s->skipped++;
		snprintf(err, cap, "%d probes are attached already, the most there may be",
			 CW_MAX_USDT_ATTACH);
		return -ENOSPC;
	}
	id = (__u32)s->n;
	a = &s->v[id];
	memset(a, 0, sizeof(*a));
	a->file = *key;
	snprintf(a->path, sizeof(a->path), "%s", path);
	a->probe = *p;
	a->spec = spec;
	a->pid = s->pid;
	opts.usdt_cookie =
		CW_USDT_COOKIE(id, string_mask(p)) | (s->snapshot ? CW_USDT_COOKIE_SNAPSHOT : 0);
	if (s->gates_fd >= 0 && bpf_map_update_elem(s->gates_fd, &id, &gate, BPF_ANY) < 0) {
		int e = errno;

		s->failed++;
		snprintf(err, cap, "failed to reset the probe's gate: %s", strerror(e));
		return -e;
	}
	/* Through /proc/self/fd: the very file looked at, whatever mount namespace it is in. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	a->link = bpf_program__attach_usdt(s->prog, s->pid, self, p->provider, p->name, &opts);
	if (!a->link) {
		int e = errno;

		s->failed++;
		snprintf(err, cap, "failed to attach to %s:%s in %s: %s%s", p->provider, p->name,
			 path, strerror(e),
			 e == EINVAL ? " (an argument spec libbpf cannot read, e.g. "
				       "RIP-relative; crashwatch probes shows them)"
				     : "");
		return -e;
	}
	s->n++;
	return 0;
}

const struct cw_usdt_attachment *cw_usdt_of(const struct cw_usdt_set *s, __u64 cookie)
{
	__u32 id = CW_USDT_COOKIE_ID(cookie);

	return s && s->v && id < s->n ? &s->v[id] : NULL;
}

void cw_usdt_gate_open(struct cw_usdt_set *s, __u64 cookie, uint64_t quiet_until_ns)
{
	struct gate gate = {0, quiet_until_ns};
	__u32 id = CW_USDT_COOKIE_ID(cookie);

	if (s && s->gates_fd >= 0 && id < s->n &&
	    bpf_map_update_elem(s->gates_fd, &id, &gate, BPF_ANY) < 0)
		fprintf(stderr,
			"crashwatch: failed to let probe %s:%s hold again: %s; it is held again "
			"after the hold deadline, ignoring\n",
			s->v[id].probe.provider, s->v[id].probe.name, strerror(errno));
}

/* Which of the copied strings argument i is, or -1. */
static int string_slot(const struct cw_usdt_event *ev, unsigned i)
{
	uint32_t mask = CW_USDT_COOKIE_STRINGS(ev->cookie);
	int k = 0;

	if (!(mask & (1U << i)))
		return -1;
	for (unsigned j = 0; j < i; j++)
		if (mask & (1U << j))
			k++;
	return k < CW_USDT_STRINGS ? k : -1;
}

void cw_usdt_arg_text(const struct cw_usdt_attachment *a, const struct cw_usdt_event *ev,
		      unsigned i, char *out, size_t cap)
{
	int k = string_slot(ev, i);

	if (k >= 0) {
		snprintf(out, cap, "%.*s", CW_USDT_STRING_LEN, ev->strings[k]);
		return;
	}
	if (a && i < a->probe.n_args && !a->probe.args[i].is_signed)
		snprintf(out, cap, "%" PRIu64, (uint64_t)ev->args[i]);
	else
		snprintf(out, cap, "%" PRId64, (int64_t)ev->args[i]);
}

static unsigned nargs(const struct cw_usdt_event *ev)
{
	return ev->nargs < 0		      ? 0
	       : ev->nargs > CW_USDT_MAX_ARGS ? CW_USDT_MAX_ARGS
					      : (unsigned)ev->nargs;
}

void cw_usdt_read_strings(struct cw_usdt_event *ev)
{
	uint32_t mask = CW_USDT_COOKIE_STRINGS(ev->cookie);
	char path[64];
	int fd = -1;
	unsigned k = 0;

	for (unsigned i = 0; i < nargs(ev) && k < CW_USDT_STRINGS; i++) {
		ssize_t n;

		if (!(mask & (1U << i)))
			continue;
		if (ev->flags & CW_USDT_STRING_UNREAD(k)) {
			if (fd < 0) {
				snprintf(path, sizeof(path), "/proc/%u/mem", ev->task.pid);
				fd = open(path, O_RDONLY | O_CLOEXEC);
			}
			/* Short when a page past the string's is not mapped: what was read. */
			n = fd < 0 ? -1
				   : pread(fd, ev->strings[k], CW_USDT_STRING_LEN - 1,
					   (off_t)ev->args[i]);
			ev->strings[k][n > 0 ? n : 0] = '\0';
			ev->flags &= ~CW_USDT_STRING_UNREAD(k);
		}
		k++;
	}
	if (fd >= 0)
		close(fd);
}

static const char *arg_name(const struct cw_usdt_attachment *a, unsigned i, char *buf, size_t cap)
{
	if (a && i < a->probe.n_args && a->probe.args[i].name[0])
		return a->probe.args[i].name;
	snprintf(buf, cap, "arg%u", i);
	return buf;
}

json_t *cw_usdt_args_json(const struct cw_usdt_event *ev, const struct cw_usdt_attachment *a,
			  bool as_object)
{
	json_t *args = as_object ? json_object() : json_array();
	char val[CW_USDT_STRING_LEN + 32], name[16];

	for (unsigned i = 0; args && i < nargs(ev); i++) {
		bool unsigned_big = a && i < a->probe.n_args && !a->probe.args[i].is_signed &&
				    ev->args[i] > INT64_MAX;
		const char *n = arg_name(a, i, name, sizeof(name));
		json_t *value;

		if (string_slot(ev, i) >= 0) {
			cw_usdt_arg_text(a, ev, i, val, sizeof(val));
			/* Whatever bytes the program had: what is not UTF-8 JSON cannot say. */
			value = json_string(val);
			for (char *c = val; !value && *c; c++)
				if ((unsigned char)*c >= 0x80)
					*c = '?';
			if (!value)
				value = json_string(val);
		} else if (unsigned_big) {
			cw_usdt_arg_text(a, ev, i, val, sizeof(val));
			value = json_string(val);
		} else {
			value = json_integer((json_int_t)ev->args[i]);
		}
		if (as_object) {
			json_object_set_new(args, n, value);
		} else {
			json_t *arg = json_object();

			json_object_set_new(arg, "name", json_string(n));
			json_object_set_new(arg, "value", value);
			json_array_append_new(args, arg);
		}
	}
	return args;
}

static void usdt_json(FILE *out, const struct cw_usdt_event *ev, const struct cw_usdt_attachment *a,
		      const char *time)
{
	json_t *o = json_object();
	char comm[CW_COMM_LEN + 1], probe[2 * CW_USDT_NAME_MAX + 1];

	memcpy(comm, ev->task.comm, CW_COMM_LEN);
	comm[CW_COMM_LEN] = '\0';
	json_object_set_new(o, "type", json_string("usdt"));
	json_object_set_new(o, "time", json_string(time));
	json_object_set_new(o, "pid", json_integer(ev->task.pid));
	json_object_set_new(o, "tid", json_integer(ev->task.tid));
	json_object_set_new(o, "comm", json_stringn_nocheck(comm, strnlen(comm, CW_COMM_LEN)));
	if (a) {
		snprintf(probe, sizeof(probe), "%s:%s", a->probe.provider, a->probe.name);
		json_object_set_new(o, "probe", json_string(probe));
		json_object_set_new(o, "file", json_string(a->path));
	} else {
		json_object_set_new(o, "probe", json_null());
		json_object_set_new(o, "file", json_null());
	}
	json_object_set_new(o, "args", cw_usdt_args_json(ev, a, false));
	json_object_set_new(o, "held", json_boolean(ev->flags & CW_USDT_HELD_NEXT));
	json_dumpf(o, out, JSON_COMPACT | JSON_ENSURE_ASCII);
	fputc('\n', out);
	json_decref(o);
}

void cw_format_usdt(FILE *out, const struct cw_usdt_event *ev, const struct cw_usdt_attachment *a,
		    bool json)
{
	char time[48], val[CW_USDT_STRING_LEN + 32], name[16];

	cw_format_time(ev->hdr.ts_ns, time, sizeof(time));
	if (json) {
		usdt_json(out, ev, a, time);
		return;
	}
	fprintf(out, "%s usdt pid=%u tid=%u comm=%.*s probe=%s%s%s", time, ev->task.pid,
		ev->task.tid, CW_COMM_LEN, ev->task.comm, a ? a->probe.provider : "?", a ? ":" : "",
		a ? a->probe.name : "");
	for (unsigned i = 0; i < nargs(ev); i++) {
		cw_usdt_arg_text(a, ev, i, val, sizeof(val));
		fprintf(out, " %s=", arg_name(a, i, name, sizeof(name)));
		if (string_slot(ev, i) < 0) {
			fputs(val, out);
			continue;
		}
		/* "…": quoted, a quote or backslash escaped, control bytes as '?'. */
		fputc('"', out);
		for (const char *c = val; *c; c++) {
			if (*c == '"' || *c == '\\')
				fputc('\\', out);
			fputc((unsigned char)*c < 0x20 ? '?' : *c, out);
		}
		fputc('"', out);
	}
	fprintf(out, " file=%s\n", a ? a->path : "?");
}

void cw_usdt_set_free(struct cw_usdt_set *s)
{
	while (s->v && s->n > 0)
		bpf_link__destroy(s->v[--s->n].link);
	free(s->v);
	s->v = NULL;
}
