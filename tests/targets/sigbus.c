// SPDX-License-Identifier: MIT
/* SIGBUS: touching a mapped page past the end of a file truncated under the mapping. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "target.h"

NOINLINE void touch_mapping(volatile char *p)
{
	*p = 1;
}

int main(void)
{
	char path[] = "/tmp/crashwatch-sigbus-XXXXXX";
	long page = sysconf(_SC_PAGESIZE);
	int fd = mkstemp(path);
	char *map;

	if (fd < 0 || ftruncate(fd, 2 * page) < 0)
		return 1;
	map = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return 1;
	unlink(path);
	if (ftruncate(fd, page) < 0)
		return 1;
	target_hello();
	target_say("fault_addr", (unsigned long long)(map + page));
	touch_mapping(map + page);
	return 0;
}
