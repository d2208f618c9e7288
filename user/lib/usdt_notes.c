// SPDX-License-Identifier: MIT
#include "usdt_notes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The next NUL-terminated string at *at within [0, len) of p, or NULL. */
static const char *take_string(const char *p, size_t len, size_t *at)
{
	const char *s = p + *at, *end;

	if (*at >= len)
		return NULL;
	end = memchr(s, '\0', len - *at);
	if (!end)
		return NULL;
	*at += (size_t)(end - s) + 1;
	return s;
}

static bool copy_name(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n == 0 || n >= CW_USDT_NAME_MAX)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

/* "SIZE@LOCATION": the size's sign says signed; a spec without '@' has no size. */
static void parse_arg(struct cw_usdt_arg *a, const char *tok, size_t len)
{
	const char *at = memchr(tok, '@', len);
	long size = 0;

	memcpy(a->spec, tok, len);
	a->spec[len] = '\0';
	if (!at)
		return;
	for (const char *c = tok + (*tok == '-'); c < at; c++) {
		if (*c < '0' || *c > '9' || size > 8)
			return;
		size = size * 10 + (*c - '0');
	}
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return;
	a->size = (int)size;
	a->is_signed = *tok == '-';
}

static void parse_args(struct cw_usdt_probe *p, const char *text)
{
	const char *c = text;

	while (*c) {
		size_t len;

		while (*c == ' ')
			c++;
		if (!*c)
			break;
		len = strcspn(c, " ");
		if (p->n_args == CW_USDT_MAX_ARGS || len >= CW_USDT_SPEC_MAX) {
			p->args_truncated = true;
			if (p->n_args == CW_USDT_MAX_ARGS)
				return;
		} else {
			parse_arg(&p->args[p->n_args++], c, len);
		}
		c += len;
	}
}

static int add_probe(struct cw_usdt_notes *out, size_t *cap, const struct cw_usdt_probe *p)
{
	if (out->n == *cap) {
		size_t want = *cap ? *cap * 2 : 16;
		struct cw_usdt_probe *v;

		if (out->n >= CW_USDT_MAX_PROBES)
			return -E2BIG;
		v = realloc(out->v, want * sizeof(*v));
		if (!v)
			return -ENOMEM;
		out->v = v;
		*cap = want;
	}
	out->v[out->n++] = *p;
	return 0;
}

/* One stapsdt note's descriptor (addresses of addr_size bytes). */
static int stapsdt_note(struct cw_usdt_notes *out, size_t *cap, const char *desc, size_t len,
			size_t addr_size)
{
	struct cw_usdt_probe p;
	const char *provider, *name, *args;
	size_t at = 3 * addr_size;
	uint64_t addr[3] = {0};

	memset(&p, 0, sizeof(p));
	if (len < at) {
		out->malformed++;
		return 0;
	}
	for (int i = 0; i < 3; i++) {
		if (addr_size == 8) {
			memcpy(&addr[i], desc + 8 * i, 8);
		} else {
			uint32_t a32;

			memcpy(&a32, desc + 4 * i, 4);
			addr[i] = a32;
		}
	}
	provider = take_string(desc, len, &at);
	name = provider ? take_string(desc, len, &at) : NULL;
	/* Version 3 always has the arguments' string, empty when there are none. */
	args = name ? take_string(desc, len, &at) : NULL;
	if (!args || !copy_name(p.provider, provider) || !copy_name(p.name, name)) {
		out->malformed++;
		return 0;
	}
	p.pc = addr[0];
	p.base = addr[1];
	p.semaphore = addr[2];
	parse_args(&p, args);
	return add_probe(out, cap, &p);
}

static bool arg_name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= CW_USDT_ARG_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

int cw_usdt_describe_args(struct cw_usdt_probe *p, const char *list)
{
	struct cw_usdt_arg named[CW_USDT_MAX_ARGS];
	unsigned n = 0;
	const char *c = list;

	memset(named, 0, sizeof(named));
	while (*c) {
		size_t len = strcspn(c, ","), name_len = len;
		bool string = false;

		if (len > 4 && memcmp(c + len - 4, ":str", 4) == 0) {
			string = true;
			name_len = len - 4;
		}
		if (n == CW_USDT_MAX_ARGS || !arg_name_ok(c, name_len))
			return -EINVAL;
		memcpy(named[n].name, c, name_len);
		named[n].name[name_len] = '\0';
		named[n].string = string;
		n++;
		c += len;
		if (*c == ',' && *++c == '\0')
			return -EINVAL; /* a trailing comma */
	}
	for (unsigned i = 0; i < n && i < p->n_args; i++) {
		memcpy(p->args[i].name, named[i].name, sizeof(named[i].name));
		/* A string is a pointer: 8 bytes on x86_64, or the list is wrong. */
		p->args[i].string = named[i].string && p->args[i].size == 8;
	}
	p->described = true;
	return 0;
}

/* trace.h's note: provider, name and the argument list, for every probe of that name. */
static void trace_note(struct cw_usdt_notes *out, const char *desc, size_t len)
{
	size_t at = 0;
	const char *provider = take_string(desc, len, &at);
	const char *name = provider ? take_string(desc, len, &at) : NULL;
	const char *list = name ? take_string(desc, len, &at) : NULL;
	bool bad = !list;

	for (size_t i = 0; list && i < out->n; i++) {
		struct cw_usdt_probe *p = &out->v[i];

		if (strcmp(p->provider, provider) == 0 && strcmp(p->name, name) == 0 &&
		    cw_usdt_describe_args(p, list) < 0)
			bad = true;
	}
	if (bad)
		out->malformed++;
}

/* Every note of owner/type in elf's SHT_NOTE sections, handed to fn; -errno from fn stops. */
static int each_note(Elf *elf, const char *owner, uint32_t type,
		     int (*fn)(struct cw_usdt_notes *, size_t *, const char *, size_t, size_t),
		     struct cw_usdt_notes *out, size_t *cap, size_t addr_size)
{
	size_t owner_len = strlen(owner) + 1;
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		size_t off = 0, name_off, desc_off, next;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		/* gelf_getnote checks each note's lengths against the section: 0 ends it. */
		while (off < data->d_size &&
		       (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const char *name = (const char *)data->d_buf + name_off;
			int r;

			off = next;
			if (nh.n_type != type || nh.n_namesz != owner_len ||
			    memcmp(name, owner, owner_len) != 0)
				continue;
			r = fn(out, cap, (const char *)data->d_buf + desc_off, nh.n_descsz,
			       addr_size);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int trace_note_fn(struct cw_usdt_notes *out, size_t *cap, const char *desc, size_t len,
			 size_t addr_size)
{
	(void)cap;
	(void)addr_size;
	trace_note(out, desc, len);
	return 0;
}

int cw_usdt_notes_read(Elf *elf, struct cw_usdt_notes *out)
{
	size_t cap = 0, addr_size;
	int r;

	memset(out, 0, sizeof(*out));
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		return -ENOEXEC;
	switch (gelf_getclass(elf)) {
	case ELFCLASS64:
		addr_size = 8;
		break;
	case ELFCLASS32:
		addr_size = 4;
		break;
	default:
		return -ENOEXEC;
	}
	r = each_note(elf, "stapsdt", CW_USDT_NOTE_TYPE, stapsdt_note, out, &cap, addr_size);
	if (r == 0 && out->n)
		r = each_note(elf, "crashwatch", CW_TRACE_NOTE_TYPE, trace_note_fn, out, &cap,
			      addr_size);
	if (r < 0)
		cw_usdt_notes_free(out);
	return r;
}

int cw_usdt_notes_read_fd(int fd, struct cw_usdt_notes *out)
{
	Elf *elf;
	int r;

	memset(out, 0, sizeof(*out));
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -ENOEXEC;
	r = cw_usdt_notes_read(elf, out);
	elf_end(elf);
	return r;
}

int cw_usdt_notes_read_mem(const void *data, size_t size, struct cw_usdt_notes *out)
{
	Elf *elf;
	int r;

	memset(out, 0, sizeof(*out));
	elf_version(EV_CURRENT);
	/* libelf may write its own conversions into the image: it gets a copy. */
	elf = elf_memory((char *)data, size);
	if (!elf)
		return -ENOEXEC;
	r = cw_usdt_notes_read(elf, out);
	elf_end(elf);
	return r;
}

void cw_usdt_notes_free(struct cw_usdt_notes *n)
{
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

const struct cw_usdt_probe *cw_usdt_notes_find(const struct cw_usdt_notes *n, const char *provider,
					       const char *name)
{
	for (size_t i = 0; i < n->n; i++)
		if (strcmp(n->v[i].provider, provider) == 0 && strcmp(n->v[i].name, name) == 0)
			return &n->v[i];
	return NULL;
}
