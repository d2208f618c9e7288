// SPDX-License-Identifier: MIT
/* .gopclntab against a real Go binary's table: the -s -w build of the test target. */
#include "cw_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "go_pclntab.h"

/* The section by the ELF section headers, the simplest way: readelf's numbers. */
static const uint8_t *table(const char *path, size_t *len, uint64_t *text)
{
	char cmd[1024];
	unsigned long addr, off, size, taddr;
	FILE *p;
	int fd = open(path, O_RDONLY);
	struct stat st;
	const uint8_t *map;

	if (fd < 0)
		return NULL;
	/* "[ 7] .gopclntab PROGBITS ADDR OFF SIZE": the name's field moves with the index's width.
	 */
	snprintf(cmd, sizeof(cmd),
		 "readelf -SW %s | awk '{for (i = 1; i < NF; i++) {"
		 "if ($i == \".gopclntab\") g = $(i + 2) \" \" $(i + 3) \" \" $(i + 4); "
		 "if ($i == \".text\") t = $(i + 2)}} END {print t; print g}'",
		 path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%lx\n%lx %lx %lx", &taddr, &addr, &off, &size), 4);
	pclose(p);
	assert_int_equal(fstat(fd, &st), 0);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	assert_true(map != MAP_FAILED);
	*len = size;
	*text = taddr;
	(void)addr;
	return map + off;
}

static void reads_a_real_table(void **state)
{
	char path[512];
	const char *build = getenv("CW_BUILD");
	struct cw_gopclntab t;
	struct cw_gofunc f, g;
	const uint8_t *data;
	const char *file;
	size_t len;
	uint64_t text;
	int line;
	int32_t delta;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/targets/go_snap/parked-sw", build ? build : "build");
	data = table(path, &len, &text);
	assert_non_null(data);
	assert_int_equal(cw_gopclntab_init(&t, data, len, text), 0);
	assert_true(t.nfunc > 100);
	assert_true(cw_gopclntab_find(&t, "main.waitOnChannel", &f));
	assert_true(f.end > f.entry);
	assert_true(cw_gopclntab_func(&t, f.entry + 1, &g));
	assert_string_equal(g.name, "main.waitOnChannel");
	assert_true(cw_gopclntab_line(&t, &g, f.entry, &file, &line));
	assert_non_null(strstr(file, "go_snap/parked/main.go"));
	assert_int_equal(line, 34); /* its func line */
	assert_true(cw_gopclntab_spdelta(&t, &g, f.entry, &delta));
	assert_int_equal(delta, 0); /* at the entry nothing is pushed yet */
	/* Strict: a cut or corrupt table is refused, not read past. */
	assert_int_equal(cw_gopclntab_init(&t, data, 40, text), -EINVAL);
	assert_false(cw_gopclntab_func(&(struct cw_gopclntab){0}, f.entry, &g));
	assert_int_equal(cw_gopclntab_search(data - 64, len + 64), 64);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_a_real_table),
	};

	return cw_test_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]), "go_pclntab");
}
