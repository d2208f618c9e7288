// SPDX-License-Identifier: MIT
#include "go_pclntab.h"

#include <errno.h>
#include <string.h>

#define MAGIC_118 0xfffffff0u /* Go 1.18, 1.19 */
#define MAGIC_120 0xfffffff1u /* Go 1.20+: _func gains startLine */
#define HEADER	  72
#define FUNC_MIN  40 /* the fixed part of a _func */
/* A pc table's run of steps is bounded by its function's size; this bounds a corrupt one. */
#define MAX_STEPS (1u << 20)

static uint32_t u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A NUL-terminated string at off in data; NULL when it runs off the end. */
static const char *cstr(const struct cw_gopclntab *t, size_t base, uint64_t off)
{
	if (off >= t->len - base)
		return NULL;
	if (!memchr(t->data + base + off, 0, t->len - base - off))
		return NULL;
	return (const char *)t->data + base + off;
}

int cw_gopclntab_init(struct cw_gopclntab *t, const uint8_t *data, size_t len, uint64_t text_start)
{
	uint32_t magic;
	uint64_t nfunc, off[5];

	memset(t, 0, sizeof(*t));
	if (len < HEADER)
		return -EINVAL;
	magic = u32(data);
	if ((magic != MAGIC_118 && magic != MAGIC_120) || data[4] || data[5] || data[6] != 1 ||
	    data[7] != 8)
		return -EINVAL;
	nfunc = u64(data + 8);
	if (nfunc == 0 || nfunc > CW_GOPCLN_MAX_FUNCS)
		return -EINVAL;
	for (int i = 0; i < 5; i++) {
		off[i] = u64(data + 32 + 8 * i);
		if (off[i] < HEADER || off[i] >= len)
			return -EINVAL;
	}
	t->data = data;
	t->len = len;
	t->nfunc = (uint32_t)nfunc;
	t->has_start_line = magic == MAGIC_120;
	t->text_start = u64(data + 24) ? u64(data + 24) : text_start;
	t->funcname = off[0];
	t->cutab = off[1];
	t->filetab = off[2];
	t->pctab = off[3];
	t->functab = off[4];
	/* nfunc + 1 entries of {entryoff, funcoff}: the last one's entry is the end of text. */
	if ((len - t->functab) / 8 < nfunc + 1)
		return -EINVAL;
	return 0;
}

static bool func_at(const struct cw_gopclntab *t, uint32_t i, struct cw_gofunc *f)
{
	const uint8_t *e = t->data + t->functab + 8 * (size_t)i;
	uint32_t funcoff = u32(e + 4);
	const char *name;

	if (funcoff > t->len - t->functab || t->len - t->functab - funcoff < FUNC_MIN)
		return false;
	f->off = t->functab + funcoff;
	/* The _func's own entry offset is the one the runtime trusts. */
	f->entry = t->text_start + u32(t->data + f->off);
	f->end = t->text_start + u32(e + 8);
	if (f->end < f->entry)
		return false;
	name = cstr(t, t->funcname, (uint32_t)u32(t->data + f->off + 4));
	f->name = name ? name : "";
	return true;
}

bool cw_gopclntab_func(const struct cw_gopclntab *t, uint64_t pc, struct cw_gofunc *f)
{
	uint32_t lo = 0, hi = t->nfunc;

	if (!t->data || pc < t->text_start || pc - t->text_start > UINT32_MAX)
		return false;
	/* The last entry i with entryoff <= pc - text_start. */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->text_start + u32(t->data + t->functab + 8 * (size_t)mid) <= pc)
			lo = mid;
		else
			hi = mid;
	}
	return func_at(t, lo, f) && pc >= f->entry && pc < f->end;
}

bool cw_gopclntab_find(const struct cw_gopclntab *t, const char *name, struct cw_gofunc *f)
{
	for (uint32_t i = 0; t->data && i < t->nfunc; i++)
		if (func_at(t, i, f) && strcmp(f->name, name) == 0)
			return true;
	return false;
}

/* A varint at *p within [*p, end); false when it runs off or is too long. */
static bool varint(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
	uint32_t r = 0;

	for (int shift = 0; shift < 35; shift += 7) {
		if (*p >= end)
			return false;
		r |= (uint32_t)(**p & 0x7f) << shift;
		if (!(*(*p)++ & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false;
}

/* The runtime's pcvalue: the value in the table at off for targetpc. */
static bool pcvalue(const struct cw_gopclntab *t, const struct cw_gofunc *f, uint32_t off,
		    uint64_t targetpc, int32_t *out)
{
	const uint8_t *p, *end = t->data + t->len;
	uint64_t pc = f->entry;
	int32_t val = -1;

	if (off == 0 || off >= t->len - t->pctab)
		return false;
	p = t->data + t->pctab + off;
	for (uint32_t step = 0; step < MAX_STEPS; step++) {
		uint32_t uv, pcd;

		if (p >= end || (*p == 0 && step > 0))
			return false; /* the table ended before targetpc */
		if (!varint(&p, end, &uv) || !varint(&p, end, &pcd))
			return false;
		val += (int32_t)(-(uv & 1) ^ (uv >> 1));
		pc += pcd; /* x86: one byte per pc quantum */
		if (targetpc < pc) {
			*out = val;
			return true;
		}
		if (pc >= f->end)
			return false;
	}
	return false;
}

bool cw_gopclntab_line(const struct cw_gopclntab *t, const struct cw_gofunc *f, uint64_t pc,
		       const char **file, int *line)
{
	const uint8_t *fn = t->data + f->off;
	uint32_t cu = u32(fn + 32);
	int32_t fileno, ln;
	uint64_t cutab_at;

	if (!pcvalue(t, f, u32(fn + 20), pc, &fileno) || !pcvalue(t, f, u32(fn + 24), pc, &ln) ||
	    fileno < 0)
		return false;
	cutab_at = (uint64_t)t->cutab + 4 * ((uint64_t)cu + (uint32_t)fileno);
	if (cutab_at + 4 > t->len)
		return false;
	*file = cstr(t, t->filetab, u32(t->data + cutab_at));
	*line = ln;
	return *file != NULL;
}

bool cw_gopclntab_spdelta(const struct cw_gopclntab *t, const struct cw_gofunc *f, uint64_t pc,
			  int32_t *delta)
{
	return pcvalue(t, f, u32(t->data + f->off + 16), pc, delta) && *delta >= 0;
}

long cw_gopclntab_search(const uint8_t *data, size_t len)
{
	struct cw_gopclntab t;

	for (size_t i = 0; i + HEADER <= len; i += 8) {
		uint32_t m = u32(data + i);

		if ((m == MAGIC_118 || m == MAGIC_120) &&
		    cw_gopclntab_init(&t, data + i, len - i, 0) == 0)
			return (long)i;
	}
	return -1;
}
