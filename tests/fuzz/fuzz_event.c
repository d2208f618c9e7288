// SPDX-License-Identifier: MIT
/*
 * Kernel records from the ring buffer: cw_event_check, then what the watcher
 * does with a record that passed it (cw_format_signal / cw_format_exit, text
 * and JSON, with no symbolizer).  An exec record goes to libc_probes, which
 * opens /proc and attaches uprobes: only its check is fuzzed.
 */
#include "fuzz.h"

#include "event_decode.h"
#include "event_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cw_format_options text = {.show_stack = true}, json = {.json = true};
	static int clock_ready;
	/* A copy of exactly size bytes: ASan catches a read past the record. */
	void *rec = malloc(size ? size : 1);
	char exe[CW_EXE_PATH_LEN + CW_EXE_PATH_DEPTH + 1];
	FILE *out = fuzz_devnull();

	if (!rec)
		abort();
	if (!clock_ready) {
		cw_clock_init();
		clock_ready = 1;
	}
	memcpy(rec, data, size);
	switch (cw_event_check(rec, size)) {
	case CW_EVENT_SIGNAL:
		cw_exe_path(rec, exe, sizeof(exe));
		if (strlen(exe) >= sizeof(exe))
			abort();
		cw_format_signal(out, rec, NULL, &text);
		cw_format_signal(out, rec, NULL, &json);
		cw_format_first_capture_stack(out, rec, NULL);
		break;
	case CW_EVENT_EXIT:
		cw_format_exit(out, rec, &text);
		cw_format_exit(out, rec, &json);
		break;
	default:
		break;
	}
	free(rec);
	return 0;
}
