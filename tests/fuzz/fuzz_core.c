// SPDX-License-Identifier: MIT
/*
 * Core files as crashwatch-snapshot --core reads them: cw_unwind_core on
 * the input in a memfd (libelf/libdwfl, then the notes: NT_PRSTATUS,
 * NT_PRPSINFO).  Modules named in the core are looked up on this host as
 * in a real run; the input is bounded so that one run stays short.
 */
#include "fuzz.h"

#include <sys/mman.h>
#include <unistd.h>

#include "unwind.h"

#define FUZZ_CORE_MAX (1u << 20)

/*
 * libdw (elfutils 0.188) leaks its 16-byte thread cursor when a core's
 * NT_PRSTATUS names thread 0 or a negative one: core_next_thread frees it
 * only at the end of the notes.  Not ours to free; the snapshot tool reads
 * one core per process.  Full malloc stacks so the rule matches only that.
 */
const char *__asan_default_options(void);
const char *__lsan_default_suppressions(void);

const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

const char *__lsan_default_suppressions(void)
{
	return "leak:dwfl_getthreads\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cw_unwinder u = {.core_fd = -1};
	char err[512] = "";
	int fd;

	if (size > FUZZ_CORE_MAX)
		return 0;
	fd = memfd_create("fuzz-core", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	if (cw_unwind_core(&u, fd, NULL, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < u.n; i++)
			if (u.threads[i].n > CW_UNWIND_MAX_FRAMES)
				abort();
		if (strnlen(u.core_comm, sizeof(u.core_comm)) == sizeof(u.core_comm))
			abort(); /* read from the notes, must stay a string */
	}
	cw_unwinder_free(&u);
	close(fd);
	return 0;
}
