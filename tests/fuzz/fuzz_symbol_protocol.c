// SPDX-License-Identifier: MIT
/*
 * The symbol server's messages: a request as the server checks it, a reply
 * as the client checks it, then everything a checked one is read for.  The
 * first byte chooses: bit 0 request or reply, bits 1-2 the fds that came
 * with a request (0-2) or the reply's request type, bits 3-7 how many
 * addresses the client asked (scaled to 0..CW_SYM_MAX_ADDRS).
 */
#include "fuzz.h"

#include "symbol_protocol.h"

static void request(const void *msg, size_t len, int n_fds)
{
	struct cw_sym_request_view v;
	uint64_t sum = 0;

	if (cw_sym_request_check(msg, len, n_fds, &v) != 0)
		return;
	if (v.type == CW_SYM_LOOKUP && (strlen(v.name) >= CW_SYM_NAME_MAX || v.build_id_len == 0 ||
					v.build_id_len > CW_SYM_BUILD_ID_MAX))
		abort();
	for (size_t i = 0; i < v.n_addrs; i++)
		sum += cw_sym_request_addr(&v, i);
	for (size_t i = 0; i < v.build_id_len; i++)
		sum += v.build_id[i];
	(void)sum;
}

static void reply(const void *msg, size_t len, uint16_t type, size_t n_asked)
{
	struct cw_sym_reply_view v;
	size_t total = 0;

	if (cw_sym_reply_check(msg, len, type, n_asked, &v) != 0 || v.status != 0)
		return;
	if (v.n_results > n_asked)
		abort();
	for (size_t i = 0; i < v.n_results; i++) {
		uint64_t off;
		const char *function, *file;
		int line;

		cw_sym_reply_result(&v, i, &off, &function, &file, &line);
		total += function ? strlen(function) : 0;
		total += file ? strlen(file) : 0;
	}
	(void)total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *msg;
	uint8_t how;

	if (size < 1)
		return 0;
	how = data[0];
	msg = malloc(size - 1 ? size - 1 : 1);
	if (!msg)
		abort();
	memcpy(msg, data + 1, size - 1);
	if (how & 1)
		reply(msg, size - 1, (how >> 1) & 1 ? CW_SYM_STATS : CW_SYM_LOOKUP,
		      (size_t)(how >> 3) * CW_SYM_MAX_ADDRS / 31);
	else
		request(msg, size - 1, (how >> 1) % 3);
	free(msg);
	return 0;
}
