// SPDX-License-Identifier: MIT
/*
 * The symbol server's request check (and the client's reply check) against
 * malformed messages: each field broken on its own, then random bytes and
 * bit flips.  Messages live in heap buffers of their exact size, so ASan
 * sees any read past the end.
 */
#include "cw_test.h"

#include <errno.h>
#include <stdlib.h>

#include "symbol_protocol.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A valid lookup of n addresses, in a buffer of exactly *len bytes. */
static unsigned char *lookup(uint32_t n, size_t *len)
{
	struct cw_sym_request h = {.magic = CW_SYM_MAGIC,
				   .version = CW_SYM_VERSION,
				   .type = CW_SYM_LOOKUP,
				   .flags = CW_SYM_SOURCE_LINES,
				   .n_addrs = n,
				   .build_id_len = 20,
				   .name_len = 5};
	unsigned char *m;

	memset(h.build_id, 0xab, 20);
	memcpy(h.name, "/lib", 5);
	*len = sizeof(h) + n * sizeof(uint64_t);
	m = malloc(*len);
	assert_non_null(m);
	memcpy(m, &h, sizeof(h));
	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = 0x1000 + i;

		memcpy(m + sizeof(h) + i * sizeof(a), &a, sizeof(a));
	}
	return m;
}

static int check(const void *m, size_t len, int n_fds)
{
	struct cw_sym_request_view v;

	return cw_sym_request_check(m, len, n_fds, &v);
}

/* A copy of m with the 32-bit field at off set to value. */
static int check_with(const unsigned char *m, size_t len, size_t off, uint32_t value, int n_fds)
{
	unsigned char *c = malloc(len);
	int r;

	assert_non_null(c);
	memcpy(c, m, len);
	memcpy(c + off, &value, sizeof(value));
	r = check(c, len, n_fds);
	free(c);
	return r;
}

static void valid_requests_are_accepted(void **state)
{
	struct cw_sym_request_view v;
	struct cw_sym_request stats = {
		.magic = CW_SYM_MAGIC, .version = CW_SYM_VERSION, .type = CW_SYM_STATS};
	size_t len;
	unsigned char *m = lookup(3, &len);

	(void)state;
	assert_int_equal(cw_sym_request_check(m, len, 1, &v), 0);
	assert_int_equal(v.type, CW_SYM_LOOKUP);
	assert_int_equal(v.n_addrs, 3);
	assert_int_equal(v.build_id_len, 20);
	assert_string_equal(v.name, "/lib");
	assert_int_equal(cw_sym_request_addr(&v, 2), 0x1002);
	assert_int_equal(check(&stats, sizeof(stats), 0), 0);
	free(m);
}

static void each_broken_field_is_refused(void **state)
{
	size_t len;
	unsigned char *m = lookup(2, &len), *big;
	struct cw_sym_request h;

	(void)state;
	assert_int_equal(check_with(m, len, offsetof(struct cw_sym_request, magic), 1, 1), -EPROTO);
	assert_int_equal(check_with(m, len, offsetof(struct cw_sym_request, version), 2, 1),
			 -EPROTO);
	/* type and version share a word: version 1 with type 7 */
	assert_int_equal(check_with(m, len, offsetof(struct cw_sym_request, version),
				    CW_SYM_VERSION | 7u << 16, 1),
			 -EINVAL);
	assert_int_equal(check_with(m, len, offsetof(struct cw_sym_request, flags), 2, 1), -EINVAL);
	assert_int_equal(check_with(m, len, offsetof(struct cw_sym_request, n_addrs), 3, 1),
			 -EINVAL);
	assert_int_equal(check_with(m, len, offsetof(struct cw_sym_request, n_addrs), 0, 1),
			 -EINVAL);
	assert_int_equal(
		check_with(m, len, offsetof(struct cw_sym_request, n_addrs), UINT32_MAX, 1),
		-EINVAL);
	assert_int_equal(check_with(m, len, offsetof(struct cw_sym_request, build_id_len), 0, 1),
			 -EINVAL);
	assert_int_equal(check_with(m, len, offsetof(struct cw_sym_request, build_id_len),
				    CW_SYM_BUILD_ID_MAX + 1, 1),
			 -EINVAL);
	assert_int_equal(check_with(m, len, offsetof(struct cw_sym_request, name_len), 0, 1),
			 -EINVAL);
	/* The NUL is not where name_len says: earlier, later, or nowhere. */
	assert_int_equal(check_with(m, len, offsetof(struct cw_sym_request, name_len), 4, 1),
			 -EINVAL);
	assert_int_equal(check_with(m, len, offsetof(struct cw_sym_request, name_len), 6, 1),
			 -EINVAL);
	assert_int_equal(check_with(m, len, offsetof(struct cw_sym_request, name_len),
				    CW_SYM_NAME_MAX + 1, 1),
			 -EINVAL);
	memcpy(&h, m, sizeof(h));
	memset(h.name, 'x', sizeof(h.name));
	h.name_len = CW_SYM_NAME_MAX;
	memcpy(m, &h, sizeof(h));
	assert_int_equal(check(m, len, 1), -EINVAL);
	free(m);

	m = lookup(2, &len);
	assert_int_equal(check(m, len, 0), -EBADF);
	assert_int_equal(check(m, len, 2), -EBADF);
	assert_int_equal(check(m, len - 1, 1), -EINVAL);
	assert_int_equal(check(m, 0, 1), -EINVAL);
	assert_int_equal(check(NULL, 0, 1), -EINVAL);
	big = calloc(1, len + 1);
	assert_non_null(big);
	memcpy(big, m, len);
	assert_int_equal(check(big, len + 1, 1), -EINVAL);
	free(big);
	free(m);

	m = lookup(CW_SYM_MAX_ADDRS + 1, &len);
	assert_int_equal(check(m, len, 1), -EINVAL);
	free(m);
	/* A stats request carries nothing else. */
	memset(&h, 0, sizeof(h));
	h.magic = CW_SYM_MAGIC;
	h.version = CW_SYM_VERSION;
	h.type = CW_SYM_STATS;
	assert_int_equal(check(&h, sizeof(h), 1), -EBADF);
	h.n_addrs = 1;
	assert_int_equal(check(&h, sizeof(h), 0), -EINVAL);
}

/* Whatever is accepted can be used without reading past the message. */
static void use(const unsigned char *m, size_t len, int n_fds)
{
	struct cw_sym_request_view v;
	uint64_t sum = 0;

	if (cw_sym_request_check(m, len, n_fds, &v) != 0)
		return;
	assert_true(v.n_addrs <= CW_SYM_MAX_ADDRS);
	assert_true(v.build_id_len <= CW_SYM_BUILD_ID_MAX);
	for (size_t i = 0; i < v.n_addrs; i++)
		sum += cw_sym_request_addr(&v, i);
	for (size_t i = 0; i < v.build_id_len; i++)
		sum += v.build_id[i];
	if (v.type == CW_SYM_LOOKUP)
		sum += strlen(v.name);
	(void)sum;
}

static void random_bytes_never_harm(void **state)
{
	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t len = next() % (sizeof(struct cw_sym_request) + 64 * 8);
		unsigned char *m = malloc(len ? len : 1);

		assert_non_null(m);
		for (size_t i = 0; i < len; i++)
			m[i] = (unsigned char)next();
		/* Often a plausible header, so the deeper checks are reached. */
		if (len >= 8 && round % 2) {
			uint32_t magic = CW_SYM_MAGIC;
			uint16_t version = CW_SYM_VERSION, type = (uint16_t)(1 + round % 3);

			memcpy(m, &magic, 4);
			memcpy(m + 4, &version, 2);
			memcpy(m + 6, &type, 2);
		}
		use(m, len, (int)(next() % 3));
		free(m);
	}
}

static void bit_flips_never_harm(void **state)
{
	size_t len;
	unsigned char *m = lookup(8, &len);

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t at = next() % sizeof(struct cw_sym_request);
		unsigned char old = m[at];
		/* Flipped fields and a length that does not match them. */
		size_t cut = round % 5 == 0 ? next() % len : len;

		m[at] ^= (unsigned char)(1u << (next() % 8));
		use(m, cut, 1);
		m[at] = old;
	}
	free(m);
}

/* A reply with one result whose function string is at off in a table of n bytes. */
static int reply_with(uint32_t off, const char *table, uint32_t n, size_t asked)
{
	struct cw_sym_reply h = {.magic = CW_SYM_MAGIC,
				 .version = CW_SYM_VERSION,
				 .type = CW_SYM_LOOKUP,
				 .n_results = 1,
				 .strings_len = n};
	struct cw_sym_result r = {.function = off, .file = CW_SYM_NO_STRING, .line = 3};
	size_t len = sizeof(h) + sizeof(r) + n;
	unsigned char *m = malloc(len);
	struct cw_sym_reply_view v;
	int ret;

	assert_non_null(m);
	memcpy(m, &h, sizeof(h));
	memcpy(m + sizeof(h), &r, sizeof(r));
	memcpy(m + sizeof(h) + sizeof(r), table, n);
	ret = cw_sym_reply_check(m, len, CW_SYM_LOOKUP, asked, &v);
	if (ret == 0) {
		uint64_t fo;
		const char *function, *file;
		int line;

		cw_sym_reply_result(&v, 0, &fo, &function, &file, &line);
		assert_string_equal(function, table + off);
		assert_null(file);
		assert_int_equal(line, 3);
	}
	free(m);
	return ret;
}

static void replies_are_checked_too(void **state)
{
	(void)state;
	assert_int_equal(reply_with(0, "main\0", 5, 1), 0);
	assert_int_equal(reply_with(5, "main\0", 5, 1), -EPROTO); /* past the table */
	assert_int_equal(reply_with(0, "main!", 5, 1), -EPROTO);  /* no NUL */
	assert_int_equal(reply_with(0, "main\0", 5, 0), -EPROTO); /* more than asked */
	for (int round = 0; round < 20000; round++) {
		size_t len = next() % 512;
		unsigned char *m = malloc(len ? len : 1);
		struct cw_sym_reply_view v;

		assert_non_null(m);
		for (size_t i = 0; i < len; i++)
			m[i] = (unsigned char)next();
		if (len >= 8) {
			uint32_t magic = CW_SYM_MAGIC;
			uint16_t version = CW_SYM_VERSION, type = CW_SYM_LOOKUP;

			memcpy(m, &magic, 4);
			memcpy(m + 4, &version, 2);
			memcpy(m + 6, &type, 2);
		}
		if (cw_sym_reply_check(m, len, CW_SYM_LOOKUP, 4, &v) == 0)
			for (size_t i = 0; i < v.n_results; i++) {
				uint64_t fo;
				const char *function, *file;
				int line;

				cw_sym_reply_result(&v, i, &fo, &function, &file, &line);
				if (function)
					assert_true(strlen(function) < v.strings_len);
				if (file)
					assert_true(strlen(file) < v.strings_len);
			}
		free(m);
	}
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(valid_requests_are_accepted),
	cmocka_unit_test(each_broken_field_is_refused),
	cmocka_unit_test(random_bytes_never_harm),
	cmocka_unit_test(bit_flips_never_harm),
	cmocka_unit_test(replies_are_checked_too),
};

CW_TEST_MAIN(tests)
