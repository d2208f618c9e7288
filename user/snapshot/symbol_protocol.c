// SPDX-License-Identifier: MIT
#include "symbol_protocol.h"

#include <errno.h>
#include <string.h>

int cw_sym_request_check(const void *msg, size_t len, int n_fds, struct cw_sym_request_view *out)
{
	struct cw_sym_request h;

	memset(out, 0, sizeof(*out));
	if (!msg || len < sizeof(h))
		return -EINVAL;
	/* Copied: a received buffer need not be aligned for the struct. */
	memcpy(&h, msg, sizeof(h));
	if (h.magic != CW_SYM_MAGIC || h.version != CW_SYM_VERSION)
		return -EPROTO;
	if (h.n_addrs > CW_SYM_MAX_ADDRS || len != sizeof(h) + h.n_addrs * sizeof(uint64_t))
		return -EINVAL;
	if (h.flags & ~(uint32_t)CW_SYM_SOURCE_LINES)
		return -EINVAL;
	switch (h.type) {
	case CW_SYM_STATS:
		if (h.n_addrs || h.build_id_len || h.name_len)
			return -EINVAL;
		if (n_fds != 0)
			return -EBADF;
		break;
	case CW_SYM_LOOKUP:
		if (h.n_addrs == 0 || h.build_id_len == 0 || h.build_id_len > CW_SYM_BUILD_ID_MAX)
			return -EINVAL;
		if (h.name_len == 0 || h.name_len > CW_SYM_NAME_MAX ||
		    strnlen((const char *)msg + offsetof(struct cw_sym_request, name),
			    CW_SYM_NAME_MAX) != h.name_len - 1)
			return -EINVAL;
		if (n_fds != 1)
			return -EBADF;
		break;
	default:
		return -EINVAL;
	}
	out->type = h.type;
	out->flags = h.flags;
	out->build_id = (const uint8_t *)msg + offsetof(struct cw_sym_request, build_id);
	out->build_id_len = h.build_id_len;
	out->name = (const char *)msg + offsetof(struct cw_sym_request, name);
	out->addrs = (const unsigned char *)msg + sizeof(h);
	out->n_addrs = h.n_addrs;
	return 0;
}

uint64_t cw_sym_request_addr(const struct cw_sym_request_view *r, size_t i)
{
	uint64_t a;

	memcpy(&a, r->addrs + i * sizeof(a), sizeof(a));
	return a;
}

/* A string offset is valid when a NUL ends the string inside the table. */
static bool string_ok(const char *strings, size_t len, uint32_t off)
{
	return off == CW_SYM_NO_STRING || (off < len && memchr(strings + off, '\0', len - off));
}

int cw_sym_reply_check(const void *msg, size_t len, uint16_t type, size_t n_asked,
		       struct cw_sym_reply_view *out)
{
	struct cw_sym_reply h;
	const char *p = msg;

	memset(out, 0, sizeof(*out));
	if (!msg || len < sizeof(h))
		return -EPROTO;
	memcpy(&h, msg, sizeof(h));
	if (h.magic != CW_SYM_MAGIC || h.version != CW_SYM_VERSION || h.type != type)
		return -EPROTO;
	out->status = h.status;
	out->cached = h.cached != 0;
	out->stats = h.stats;
	if (h.status != 0)
		return h.status < 0 && h.status > -4096 && len == sizeof(h) ? 0 : -EPROTO;
	if (h.n_results > n_asked || h.n_results > CW_SYM_MAX_ADDRS ||
	    h.strings_len > CW_SYM_MAX_MSG ||
	    len != sizeof(h) + h.n_results * sizeof(struct cw_sym_result) + h.strings_len)
		return -EPROTO;
	if (type == CW_SYM_LOOKUP && n_asked && h.n_results == 0)
		return -EPROTO; /* no progress: asking again would loop */
	out->results = (const unsigned char *)p + sizeof(h);
	out->n_results = h.n_results;
	out->strings = p + sizeof(h) + h.n_results * sizeof(struct cw_sym_result);
	out->strings_len = h.strings_len;
	for (size_t i = 0; i < out->n_results; i++) {
		struct cw_sym_result r;

		memcpy(&r, out->results + i * sizeof(r), sizeof(r));
		if (!string_ok(out->strings, out->strings_len, r.function) ||
		    !string_ok(out->strings, out->strings_len, r.file))
			return -EPROTO;
	}
	return 0;
}

void cw_sym_reply_result(const struct cw_sym_reply_view *v, size_t i, uint64_t *function_offset,
			 const char **function, const char **file, int *line)
{
	struct cw_sym_result r;

	memcpy(&r, v->results + i * sizeof(r), sizeof(r));
	*function_offset = r.function_offset;
	*function = r.function == CW_SYM_NO_STRING ? NULL : v->strings + r.function;
	*file = r.file == CW_SYM_NO_STRING ? NULL : v->strings + r.file;
	*line = r.line;
}
