// SPDX-License-Identifier: MIT
/*
 * The USDT notes of an untrusted ELF file (crashwatch probes, watch
 * --snapshot-on): cw_usdt_notes_read on the input as a whole ELF image;
 * what it accepts must be within its bounds.  The input also goes, as text,
 * to the parsers of trace.h's argument lists and of PROVIDER:NAME[@PROGRAM].
 */
#include "fuzz.h"

#include "usdt_attach.h"
#include "usdt_notes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* libelf may convert the image in place: it gets a copy of exactly size bytes. */
	void *image = malloc(size ? size : 1);
	char *text = fuzz_string(data, size);
	struct cw_usdt_notes notes;
	struct cw_usdt_probe p = {.n_args = CW_USDT_MAX_ARGS};
	struct cw_usdt_spec spec;
	const char *why;

	if (!image)
		abort();
	memcpy(image, data, size);
	if (cw_usdt_notes_read_mem(image, size, &notes) == 0) {
		for (size_t i = 0; i < notes.n; i++) {
			const struct cw_usdt_probe *q = &notes.v[i];

			if (q->n_args > CW_USDT_MAX_ARGS || !q->provider[0] || !q->name[0] ||
			    strlen(q->provider) >= CW_USDT_NAME_MAX ||
			    strlen(q->name) >= CW_USDT_NAME_MAX)
				abort();
			for (unsigned k = 0; k < q->n_args; k++)
				if (strlen(q->args[k].spec) >= CW_USDT_SPEC_MAX ||
				    (q->args[k].string && q->args[k].size != 8))
					abort();
			if (cw_usdt_notes_find(&notes, q->provider, q->name) == NULL)
				abort();
		}
		cw_usdt_notes_free(&notes);
	}
	cw_usdt_describe_args(&p, text);
	if (cw_usdt_spec_parse(text, true, &spec, &why) == 0 &&
	    (!spec.provider[0] || !spec.name[0] || (spec.program && !spec.program[0])))
		abort();
	free(text);
	free(image);
	return 0;
}
