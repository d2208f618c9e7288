// SPDX-License-Identifier: MIT
#include "rust_panic.h"

#include <string.h>
#include <sys/uio.h>

static bool peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};

	return addr && process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* len bytes of a str at ptr into out (cap bytes, NUL-terminated), cut at the bound. */
static bool read_str(pid_t pid, uint64_t ptr, uint64_t len, char *out, size_t cap)
{
	if (!ptr || len == 0)
		return false;
	if (len > cap - 1)
		len = cap - 1;
	/* The tail of a bounded read may cross into an unmapped page: halve until it reads. */
	while (len && !peek(pid, ptr, out, len))
		len /= 2;
	out[len] = 0;
	return len > 0;
}

void cw_rust_panic_read(pid_t pid, struct cw_rust_panic *p)
{
	struct {
		uint64_t ptr, len;
		uint32_t line, col;
	} loc;
	uint64_t words[4], size;

	p->has_location = p->has_message = false;
	if (p->location && peek(pid, p->location, &loc, sizeof(loc)) && loc.len < 1 << 16 &&
	    loc.line && read_str(pid, loc.ptr, loc.len, p->file, sizeof(p->file))) {
		p->has_location = true;
		p->line = loc.line;
		p->column = loc.col;
	}
	if (!p->payload || !peek(pid, p->vtable + 8, &size, sizeof(size)))
		return;
	if (size != 16 && size != 24 && size != 32)
		return;
	if (!peek(pid, p->payload, words, (size_t)size))
		return;
	switch (size) {
	case 16: /* &'static str: pointer, length */
		p->has_message = read_str(pid, words[0], words[1], p->message, sizeof(p->message));
		break;
	case 24: /* String: pointer, capacity, length (None: a null pointer) */
		p->has_message = words[2] <= words[1] &&
				 read_str(pid, words[0], words[2], p->message, sizeof(p->message));
		break;
	case 32: /* FormatStringPayload: &Arguments, then Option<String> */
		p->has_message = words[3] <= words[2] &&
				 read_str(pid, words[1], words[3], p->message, sizeof(p->message));
		break;
	}
}

static bool starts(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool cw_rust_panic_caught(const char *const *functions, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *f = functions[i];

		if (starts(f, "std::rt::lang_start_internal"))
			return false;
		if ((f && strcmp(f, "__rust_try") == 0) || starts(f, "std::panicking::try") ||
		    starts(f, "std::panic::catch_unwind"))
			return true;
	}
	return false;
}
