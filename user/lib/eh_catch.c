// SPDX-License-Identifier: MIT
#include "eh_catch.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* DW_EH_PE_*: the pointer encodings of .eh_frame and the LSDA. */
#define PE_OMIT	    0xff
#define PE_ABSPTR   0x00
#define PE_ULEB128  0x01
#define PE_UDATA2   0x02
#define PE_UDATA4   0x03
#define PE_UDATA8   0x04
#define PE_SLEB128  0x09
#define PE_SDATA2   0x0a
#define PE_SDATA4   0x0b
#define PE_SDATA8   0x0c
#define PE_PCREL    0x10
#define PE_INDIRECT 0x80

/* A cursor over a section: every read checked against its end. */
struct cur {
	const struct cw_eh_section *s;
	size_t at, end;
	bool bad;
};

static uint64_t bytes(struct cur *c, size_t n)
{
	uint64_t v = 0;

	if (c->bad || n > c->end - c->at) {
		c->bad = true;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)c->s->data[c->at + i] << (8 * i);
	c->at += n;
	return v;
}

static uint64_t uleb(struct cur *c)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b = (uint8_t)bytes(c, 1);

		if (c->bad)
			return 0;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static int64_t sleb(struct cur *c)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		b = (uint8_t)bytes(c, 1);
		if (c->bad || shift >= 64) {
			c->bad = true;
			return 0;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= ~0ULL << shift;
	return (int64_t)v;
}

/* An encoded pointer; indirect ones (through the GOT) cannot be read from the file. */
static uint64_t encoded(struct cur *c, uint8_t enc)
{
	uint64_t here = c->s->vaddr + c->at, v;

	if (enc == PE_OMIT || (enc & PE_INDIRECT)) {
		c->bad = true;
		return 0;
	}
	switch (enc & 0x0f) {
	case PE_ABSPTR:
	case PE_UDATA8:
	case PE_SDATA8:
		v = bytes(c, 8);
		break;
	case PE_ULEB128:
		v = uleb(c);
		break;
	case PE_UDATA2:
		v = bytes(c, 2);
		break;
	case PE_SDATA2:
		v = (uint64_t)(int64_t)(int16_t)bytes(c, 2);
		break;
	case PE_UDATA4:
		v = bytes(c, 4);
		break;
	case PE_SDATA4:
		v = (uint64_t)(int64_t)(int32_t)bytes(c, 4);
		break;
	case PE_SLEB128:
		v = (uint64_t)sleb(c);
		break;
	default:
		c->bad = true;
		return 0;
	}
	switch (enc & 0x70) {
	case 0:
		return v;
	case PE_PCREL:
		return here + v;
	default: /* textrel, datarel, funcrel: not in .eh_frame of x86_64 code */
		c->bad = true;
		return 0;
	}
}

struct cie {
	uint8_t fde_enc, lsda_enc;
	bool z;
};

static bool parse_cie(const struct cw_eh_section *s, size_t at, struct cie *out)
{
	struct cur c = {s, at, s->size, false};
	uint32_t len = (uint32_t)bytes(&c, 4);
	const char *aug;
	size_t aug_len, aug_end;

	*out = (struct cie){.fde_enc = PE_ABSPTR, .lsda_enc = PE_OMIT};
	if (c.bad || len == 0 || len == 0xffffffff || len > s->size - c.at)
		return false;
	c.end = c.at + len;
	if (bytes(&c, 4) != 0) /* a CIE's id */
		return false;
	bytes(&c, 1); /* version */
	aug = (const char *)s->data + c.at;
	aug_len = strnlen(aug, c.end - c.at);
	if (c.bad || aug_len == c.end - c.at)
		return false;
	c.at += aug_len + 1;
	if (strstr(aug, "eh"))
		return false;
	uleb(&c); /* code alignment */
	sleb(&c); /* data alignment */
	uleb(&c); /* return address register (version 3; one byte in 1, the same below 128) */
	if (aug[0] != 'z')
		return !c.bad;
	out->z = true;
	aug_len = uleb(&c);
	if (c.bad || aug_len > c.end - c.at)
		return false;
	aug_end = c.at + aug_len;
	for (const char *a = aug + 1; *a && !c.bad; a++) {
		switch (*a) {
		case 'P': {
			uint8_t enc = (uint8_t)bytes(&c, 1);

			/* The personality routine is often indirect: skipped by its size. */
			encoded(&c, enc & (uint8_t)~PE_INDIRECT);
			break;
		}
		case 'L':
			out->lsda_enc = (uint8_t)bytes(&c, 1);
			break;
		case 'R':
			out->fde_enc = (uint8_t)bytes(&c, 1);
			break;
		case 'S':
		case 'B':
		case 'G':
			break;
		default: /* unknown: the rest of the data is not ours to read */
			c.at = aug_end;
			return true;
		}
	}
	return !c.bad && c.at <= aug_end;
}

/* The FDE covering pc: its function's start and its LSDA (0: none).  false: no FDE. */
static int find_fde(const struct cw_eh_section *s, uint64_t pc, uint64_t *start, uint64_t *lsda)
{
	size_t at = 0;

	while (at + 8 <= s->size) {
		struct cur c = {s, at, s->size, false};
		uint32_t len = (uint32_t)bytes(&c, 4), id;
		size_t rec_end, id_at;
		struct cie cie;
		uint64_t begin, range;

		if (len == 0) /* the terminator */
			return 0;
		if (len == 0xffffffff || len > s->size - c.at)
			return -EBADMSG;
		rec_end = c.at + len;
		c.end = rec_end;
		id_at = c.at;
		id = (uint32_t)bytes(&c, 4);
		at = rec_end;
		if (id == 0) /* a CIE */
			continue;
		if (id > id_at || !parse_cie(s, id_at - id, &cie))
			return -EBADMSG;
		begin = encoded(&c, cie.fde_enc);
		range = encoded(&c, cie.fde_enc & 0x0f);
		if (c.bad)
			return -EBADMSG;
		if (pc < begin || pc - begin >= range)
			continue;
		*start = begin;
		*lsda = 0;
		if (cie.z) {
			size_t aug_len = uleb(&c), aug_end = c.at + aug_len;

			if (c.bad || aug_len > rec_end - c.at)
				return -EBADMSG;
			if (cie.lsda_enc != PE_OMIT && aug_len) {
				/* An LSDA pointer of 0 (absptr) says: none. */
				*lsda = encoded(&c, cie.lsda_enc);
				if (c.bad || c.at > aug_end)
					return -EBADMSG;
			}
		}
		return 1;
	}
	return 0;
}

/* The LSDA at vaddr lsda of the function at start: does pc's call site catch? */
static int lsda_catches(const struct cw_eh_section *t, uint64_t lsda, uint64_t start, uint64_t pc)
{
	struct cur c = {t, 0, t->size, false};
	uint64_t lpstart = start, cs_len, cs_end, actions;
	uint8_t enc, cs_enc;

	if (lsda < t->vaddr || lsda - t->vaddr >= t->size)
		return 0; /* not in .gcc_except_table: not one to read */
	c.at = lsda - t->vaddr;
	enc = (uint8_t)bytes(&c, 1);
	if (enc != PE_OMIT)
		lpstart = encoded(&c, enc);
	enc = (uint8_t)bytes(&c, 1);
	if (enc != PE_OMIT)
		uleb(&c); /* the type table's offset: the types are not needed */
	cs_enc = (uint8_t)bytes(&c, 1);
	cs_len = uleb(&c);
	if (c.bad || cs_len > c.end - c.at)
		return -EBADMSG;
	cs_end = c.at + cs_len;
	actions = cs_end;
	while (c.at < cs_end) {
		uint64_t cs_start = encoded(&c, cs_enc), len = encoded(&c, cs_enc),
			 lp = encoded(&c, cs_enc), action = uleb(&c);
		struct cur a;

		if (c.bad)
			return -EBADMSG;
		if (pc < start + cs_start || pc - (start + cs_start) >= len)
			continue;
		if (!lp || !action)
			return 0; /* no landing pad, or a cleanup only */
		(void)lpstart;
		a = (struct cur){t, actions + action - 1, t->size, false};
		for (int n = 0; n < 256; n++) {
			int64_t filter = sleb(&a);
			size_t next_at = a.at;
			int64_t next = sleb(&a);

			if (a.bad)
				return -EBADMSG;
			if (filter > 0)
				return 1;
			if (!next)
				return 0;
			if ((next < 0 && (uint64_t)-next > next_at) ||
			    (next > 0 && (uint64_t)next >= t->size - next_at))
				return -EBADMSG;
			a.at = (size_t)((int64_t)next_at + next);
		}
		return -EBADMSG;
	}
	return 0;
}

int cw_eh_catches(const struct cw_eh_section *eh_frame, const struct cw_eh_section *except_table,
		  uint64_t pc)
{
	uint64_t start = 0, lsda = 0;
	int r;

	if (!eh_frame || !eh_frame->data)
		return 0;
	r = find_fde(eh_frame, pc, &start, &lsda);
	if (r <= 0)
		return r;
	if (!lsda || !except_table || !except_table->data)
		return 0;
	return lsda_catches(except_table, lsda, start, pc);
}
