// SPDX-License-Identifier: MIT
/*
 * Spool documents as the uploader reads them (json_load_file with no
 * flags): every body it can build from one, the generic one, the Sentry
 * envelope and the Backtrace report.  Each either succeeds with a body
 * that is valid JSON (one line of it, for the envelope's event) or fails
 * with a message.
 */
#include "fuzz.h"

#include <jansson.h>

#include "upload_format.h"
#include "upload_snapshot.h"

static const char dsn_text[] = "https://0123456789abcdef@o1.ingest.example.com/42";

static void check_json(const char *s, size_t len)
{
	json_t *j = json_loadb(s, len, 0, NULL);

	if (!j)
		abort();
	json_decref(j);
}

static void check_body(int r, const struct cw_upload_body *b, const char *err)
{
	if (r < 0) {
		if (!err[0] || b->data)
			abort();
		return;
	}
	if (!b->data || strlen(b->data) != b->len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cw_sentry_dsn dsn;
	static int dsn_ready;
	struct cw_upload_body b = {0};
	char err[512];
	json_t *snap = json_loadb((const char *)data, size, 0, NULL), *ev = NULL;
	char *desc;
	int r;

	if (!dsn_ready) {
		if (cw_sentry_dsn_parse(dsn_text, &dsn, err, sizeof(err)) < 0)
			abort();
		dsn_ready = 1;
	}
	if (!snap)
		return 0;

	err[0] = '\0';
	r = cw_upload_generic(snap, &b, err, sizeof(err));
	check_body(r, &b, err);
	if (r == 0)
		check_json(b.data, b.len);
	cw_upload_body_free(&b);

	err[0] = '\0';
	r = cw_backtrace_body(snap, &b, err, sizeof(err));
	check_body(r, &b, err);
	if (r == 0)
		check_json(b.data, b.len);
	cw_upload_body_free(&b);

	err[0] = '\0';
	r = cw_sentry_envelope(snap, &dsn, 1795461028, &b, err, sizeof(err));
	check_body(r, &b, err);
	if (r == 0) {
		/* Three lines: envelope header, item header, the event. */
		const char *l2 = strchr(b.data, '\n'), *l3 = l2 ? strchr(l2 + 1, '\n') : NULL;

		if (!l3)
			abort();
		check_json(b.data, (size_t)(l2 - b.data));
		check_json(l2 + 1, (size_t)(l3 - l2 - 1));
		check_json(l3 + 1, strcspn(l3 + 1, "\n"));
	}
	cw_upload_body_free(&b);

	err[0] = '\0';
	if (cw_sentry_event(snap, &ev, err, sizeof(err)) == 0)
		json_decref(ev);
	desc = cw_upload_description(snap);
	free(desc);
	json_decref(snap);
	return 0;
}
