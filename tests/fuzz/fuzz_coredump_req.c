// SPDX-License-Identifier: MIT
/* The kernel's coredump-socket request (struct coredump_req): cw_coredump_req_parse. */
#include "fuzz.h"

#include "coredump_socket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *buf = malloc(size ? size : 1);
	struct cw_coredump_req req;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	if (cw_coredump_req_parse(buf, size, &req) == 0) {
		if (req.size != size || req.size < CW_COREDUMP_REQ_SIZE_VER0 ||
		    req.size > CW_COREDUMP_REQ_SIZE_MAX ||
		    req.size_ack < CW_COREDUMP_ACK_SIZE_VER0 ||
		    !(req.mask & (CW_COREDUMP_KERNEL | CW_COREDUMP_USERSPACE | CW_COREDUMP_REJECT)))
			abort();
	}
	free(buf);
	return 0;
}
