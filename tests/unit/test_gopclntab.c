// SPDX-License-Identifier: MIT
#include "cw_test.h"

#include <errno.h>

#include "go_pclntab.h"

#define CW_GOPCLNTAB_MAGIC_118 0xfffffff0u /* Go 1.18, 1.19 */
#define CW_GOPCLNTAB_MAGIC_120 0xfffffff1u /* Go 1.20 and later */

/* What the watcher asks of the table: a function's entry by name (lib/go_elf.c). */
static int entry_of(const uint8_t *tab, size_t len, uint64_t text, const char *name,
		    uint64_t *entry)
{
	struct cw_gopclntab t;
	struct cw_gofunc f;

	if (cw_gopclntab_init(&t, tab, len, text) < 0)
		return -EINVAL;
	if (!cw_gopclntab_find(&t, name, &f))
		return -ENOENT;
	*entry = f.entry;
	return 0;
}

/*
 * A table of Go 1.18's layout with two functions: the header, funcnametab
 * at 72, the functab (3 pairs) at 128, the _funcs after it.
 */
struct table {
	uint8_t b[256];
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static struct table make_table(void)
{
	struct table t = {0};
	uint8_t *b = t.b;

	put32(b, CW_GOPCLNTAB_MAGIC_118);
	b[6] = 1;		 /* minLC */
	b[7] = 8;		 /* ptrSize */
	put64(b + 8, 2);	 /* nfunc */
	put64(b + 24, 0x401000); /* textStart */
	put64(b + 32, 72);	 /* funcnameOffset */
	put64(b + 40, 72);	 /* cuOffset, filetabOffset, pctabOffset: unused here */
	put64(b + 48, 72);
	put64(b + 56, 72);
	put64(b + 64, 128); /* pclnOffset */
	memcpy(b + 72, "main.main\0runtime.fatalpanic\0", 30);
	/* functab: {entryOff, funcOff} x 3, funcOff from pclnOffset */
	put32(b + 128, 0x10), put32(b + 132, 24);
	put32(b + 136, 0x80), put32(b + 140, 32);
	put32(b + 144, 0x100), put32(b + 148, 0);
	/* _funcs: entryOff, nameOff */
	put32(b + 152, 0x10), put32(b + 156, 0);
	put32(b + 160, 0x80), put32(b + 164, 10);
	return t;
}

static void finds_functions_by_name(void **state)
{
	struct table t = make_table();
	uint64_t entry = 0;

	(void)state;
	assert_int_equal(entry_of(t.b, sizeof(t.b), 0x401000, "runtime.fatalpanic", &entry), 0);
	assert_int_equal(entry, 0x401080);
	/* In a PIE the header's textStart is 0 on disk (relocated at run time): .text's then. */
	put64(t.b + 24, 0);
	assert_int_equal(entry_of(t.b, sizeof(t.b), 0x555000, "main.main", &entry), 0);
	assert_int_equal(entry, 0x555010);
	/* A prefix is not the name. */
	assert_int_equal(entry_of(t.b, sizeof(t.b), 0, "main.mai", &entry), -ENOENT);
	assert_int_equal(entry_of(t.b, sizeof(t.b), 0, "runtime.throw", &entry), -ENOENT);
}

static void other_layouts_are_refused(void **state)
{
	struct table t = make_table();
	uint64_t entry;

	(void)state;
	put32(t.b, 0xfffffffa); /* Go 1.16 */
	assert_true(entry_of(t.b, sizeof(t.b), 0, "main.main", &entry) < 0);
	t = make_table();
	t.b[7] = 4; /* 32-bit */
	assert_true(entry_of(t.b, sizeof(t.b), 0, "main.main", &entry) < 0);
	t = make_table();
	put32(t.b, CW_GOPCLNTAB_MAGIC_120);
	assert_int_equal(entry_of(t.b, sizeof(t.b), 0, "main.main", &entry), 0);
}

static void malformed_tables_are_refused(void **state)
{
	struct table t = make_table();
	uint64_t entry;

	(void)state;
	/* refused, never read out of bounds */
	assert_true(entry_of(t.b, 71, 0, "main.main", &entry) < 0);
	put64(t.b + 8, (uint64_t)1 << 60); /* nfunc past the end */
	/* refused, never read out of bounds */
	assert_true(entry_of(t.b, sizeof(t.b), 0, "x", &entry) < 0);
	t = make_table();
	put64(t.b + 8, 16); /* functab runs past the end */
	/* refused, never read out of bounds */
	assert_true(entry_of(t.b, sizeof(t.b), 0, "x", &entry) < 0);
	t = make_table();
	put32(t.b + 132, 200); /* a _func past the end */
	/* refused, never read out of bounds */
	assert_true(entry_of(t.b, sizeof(t.b), 0, "x", &entry) < 0);
	t = make_table();
	put32(t.b + 152, 0x11); /* the _func's entry disagrees with the functab's */
	/* refused, never read out of bounds */
	assert_true(entry_of(t.b, sizeof(t.b), 0, "x", &entry) < 0);
	t = make_table();
	put32(t.b + 156, (uint32_t)-1); /* a negative name offset */
	/* refused, never read out of bounds */
	assert_true(entry_of(t.b, sizeof(t.b), 0, "x", &entry) < 0);
	t = make_table();
	put64(t.b + 32, 200); /* funcnametab near the end: a name runs off it */
	memset(t.b + 200, 'a', sizeof(t.b) - 200);
	/* refused, never read out of bounds */
	assert_true(entry_of(t.b, sizeof(t.b), 0, "x", &entry) < 0);
	t = make_table();
	put64(t.b + 64, sizeof(t.b)); /* pclnOffset at the end */
	/* refused, never read out of bounds */
	assert_true(entry_of(t.b, sizeof(t.b), 0, "x", &entry) < 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(finds_functions_by_name),
	cmocka_unit_test(other_layouts_are_refused),
	cmocka_unit_test(malformed_tables_are_refused),
};

CW_TEST_MAIN(tests)
