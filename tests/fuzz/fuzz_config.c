// SPDX-License-Identifier: MIT
/*
 * The config file (/etc/crashwatch/crashwatch.conf): cw_config_read on the
 * input, written to a memfd and read back by its /proc/self/fd path as the
 * watcher reads a file.  Every argument it accepts must be one the option
 * parser takes: it checked each one with that parser.
 */
#include "fuzz.h"

#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64];
	struct cw_config c;
	int n;

	if (fd < 0 && (fd = memfd_create("fuzz-config", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = cw_config_read(path, &c, fuzz_devnull());
	if (n < 0)
		abort(); /* a memfd is always readable */
	for (size_t i = 0; i < c.n; i++)
		if (strncmp(c.args[i], "--", 2) != 0)
			abort();
	cw_config_free(&c);
	return 0;
}
