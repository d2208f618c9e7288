// SPDX-License-Identifier: MIT
/* The core handler's request on CW_CORE_SOCKET ("PID TID SIG"): cw_core_call_parse. */
#include "fuzz.h"

#include "core_call_protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *msg = malloc(size ? size : 1), again[CW_CORE_CALL_MAX];
	pid_t pid, tid, pid2, tid2;
	int sig, sig2, n;

	if (!msg)
		abort();
	memcpy(msg, data, size);
	if (cw_core_call_parse(msg, size, &pid, &tid, &sig) == 0) {
		if (pid < 1 || tid < 0 || sig < 0 || sig > 64)
			abort();
		/* What was accepted reads back the same once formatted. */
		n = cw_core_call_format(again, sizeof(again), pid, tid, sig);
		if (n < 0 || cw_core_call_parse(again, (size_t)n, &pid2, &tid2, &sig2) != 0 ||
		    pid2 != pid || tid2 != tid || sig2 != sig)
			abort();
	}
	free(msg);
	return 0;
}
