// SPDX-License-Identifier: MIT
#include "abort_message.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "elf_info.h"
#include "module_open.h"

static bool is_libc(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strncmp(base, "libc.so", 7) == 0 ||
	       (strncmp(base, "libc-", 5) == 0 && strstr(base, ".so"));
}

int cw_abort_message_locate(pid_t pid, const struct cw_maps *maps, struct cw_abort_message *m)
{
	const struct cw_mapping *lib = NULL;
	uint64_t vaddr, base;
	int fd, r;

	m->addr = 0;
	m->has_message = false;
	fd = cw_module_open_mapped(pid, maps, is_libc, &lib);
	if (fd < 0)
		return fd;
	r = cw_elf_exported_object(fd, "__abort_msg", &vaddr, &base);
	close(fd);
	if (r < 0)
		return r;
	if (vaddr < base)
		return -ENOEXEC;
	m->addr = lib->start + (vaddr - base);
	return 0;
}

static bool peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

void cw_abort_message_read(pid_t pid, struct cw_abort_message *m)
{
	uint64_t ptr;
	uint32_t size;
	size_t len;
	char *nul;

	m->has_message = false;
	if (!m->addr || !peek(pid, m->addr, &ptr, sizeof(ptr)) || !ptr)
		return;
	/* size: the whole mapping glibc made for it, header included (page-rounded). */
	if (!peek(pid, ptr, &size, sizeof(size)) || size <= sizeof(size))
		return;
	len = size - sizeof(size);
	if (len > CW_ABORT_MESSAGE_MAX)
		len = CW_ABORT_MESSAGE_MAX;
	/* The tail of a bounded read may cross into an unmapped page: halve until it reads. */
	while (len && !peek(pid, ptr + sizeof(size), m->message, len))
		len /= 2;
	if (!len)
		return;
	m->message[len] = 0;
	nul = memchr(m->message, 0, len);
	if (!nul || nul == m->message)
		return; /* not NUL-terminated within the bound, or empty: not glibc's */
	m->has_message = true;
}

/* The digits of an unsigned int at s, then ": ": their end, or NULL. */
static const char *line_at(const char *s, unsigned int *line)
{
	unsigned long v = 0;
	const char *p = s;

	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 0xffffffffUL)
			return NULL;
		p++;
	}
	if (p == s || p - s > 10 || p[0] != ':' || p[1] != ' ')
		return NULL;
	*line = (unsigned int)v;
	return p + 2;
}

static void copy(char *dst, const char *from, const char *to)
{
	size_t n = (size_t)(to - from);

	if (n >= CW_ABORT_MESSAGE_MAX)
		n = CW_ABORT_MESSAGE_MAX - 1;
	memcpy(dst, from, n);
	dst[n] = 0;
}

bool cw_assert_parse(const char *msg, struct cw_assert *a)
{
	static const char head[] = "Assertion `", tail[] = "' failed.\n";
	size_t len = strlen(msg);
	const char *end, *colon, *rest = NULL, *file = msg, *expr;

	if (len < sizeof(tail) - 1 || strcmp(msg + len - (sizeof(tail) - 1), tail) != 0)
		return false;
	end = msg + len - (sizeof(tail) - 1);
	/*
	 * "PROG: FILE:LINE: ": the file ends at the first ":LINE: ".  PROG (the
	 * short program name, with its ": ") is there unless it is empty: the
	 * first ": " before the line ends it, when there is one.
	 */
	for (colon = strchr(msg, ':'); colon && colon < end; colon = strchr(colon + 1, ':')) {
		rest = line_at(colon + 1, &a->line);
		if (rest)
			break;
	}
	if (!rest || !colon || colon >= end)
		return false;
	{
		const char *sep = strstr(msg, ": ");

		if (sep && sep < colon)
			file = sep + 2;
	}
	if (file == colon)
		return false;
	copy(a->file, file, colon);
	/* "FUNCTION: Assertion `" or "Assertion `" alone. */
	expr = strstr(rest, head);
	if (!expr || expr >= end)
		return false;
	if (expr == rest) {
		a->function[0] = 0;
	} else {
		if (expr - rest < 3 || expr[-2] != ':' || expr[-1] != ' ')
			return false;
		copy(a->function, rest, expr - 2);
	}
	expr += sizeof(head) - 1;
	if (expr > end)
		return false;
	copy(a->expression, expr, end);
	return a->expression[0] != 0;
}
