// SPDX-License-Identifier: MIT
/*
 * multipart/form-data (RFC 7578) for the uploads that carry a file beside
 * the report: Backtrace's `upload_file` + `attachment_<name>` form, and the
 * generic upload's `snapshot` + `timeline`.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upload_format.h"

/* A name or filename goes between quotes in a header: nothing that could end either. */
static bool header_safe(const char *s)
{
	return s && *s && !strpbrk(s, "\"\\\r\n");
}

/* Whether boundary (with its leading "--") occurs in any part. */
static bool boundary_in(const struct cw_upload_part *parts, size_t n, const char *boundary)
{
	size_t len = strlen(boundary);

	for (size_t i = 0; i < n; i++)
		if (parts[i].len >= len && memmem(parts[i].data, parts[i].len, boundary, len))
			return true;
	return false;
}

int cw_upload_multipart(const struct cw_upload_part *parts, size_t n, const char *seed,
			struct cw_upload_body *out, char *err, size_t cap)
{
	char boundary[sizeof(out->boundary) + 2], stem[41];
	size_t total = 0, at = 0, m = 0;
	char *buf;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (!header_safe(parts[i].name) || !header_safe(parts[i].filename) ||
		    !header_safe(parts[i].content_type)) {
			snprintf(err, cap,
				 "failed to build the upload body: part %zu has an empty name or "
				 "one with a quote or line break",
				 i);
			return -EINVAL;
		}
		total += parts[i].len + strlen(parts[i].name) + strlen(parts[i].filename) +
			 strlen(parts[i].content_type) + 200;
	}
	/* The seed (the snapshot's uuid) makes it stable; a counter makes it absent from the parts.
	 */
	for (; *seed && m < sizeof(stem) - 1; seed++)
		if (strchr("0123456789abcdefABCDEF-", *seed))
			stem[m++] = *seed;
	stem[m] = '\0';
	for (unsigned k = 0;; k++) {
		snprintf(out->boundary, sizeof(out->boundary), "crashwatch-%s-%u", stem, k);
		snprintf(boundary, sizeof(boundary), "--%s", out->boundary);
		if (!boundary_in(parts, n, boundary))
			break;
		if (k == 1000) {
			snprintf(err, cap, "failed to build the upload body: no boundary fits");
			return -EINVAL;
		}
	}
	total += (n + 1) * (strlen(boundary) + 8);
	buf = malloc(total + 1);
	if (!buf) {
		snprintf(err, cap, "failed to build the upload body: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		at += (size_t)sprintf(buf + at,
				      "%s\r\nContent-Disposition: form-data; name=\"%s\"; "
				      "filename=\"%s\"\r\nContent-Type: %s\r\n\r\n",
				      boundary, parts[i].name, parts[i].filename,
				      parts[i].content_type);
		memcpy(buf + at, parts[i].data, parts[i].len);
		at += parts[i].len;
		memcpy(buf + at, "\r\n", 2);
		at += 2;
	}
	at += (size_t)sprintf(buf + at, "%s--\r\n", boundary);
	buf[at] = '\0';
	out->data = buf;
	out->len = at;
	out->content_type = CW_UPLOAD_CONTENT_MULTIPART;
	return 0;
}

int cw_upload_with_attachment(struct cw_upload_body *body, bool backtrace, const char *uuid,
			      const struct cw_upload_attachment *att, char *err, size_t cap)
{
	char field[96], report[64];
	struct cw_upload_part parts[2];
	struct cw_upload_body mp;
	int r;

	if (backtrace) {
		snprintf(field, sizeof(field), "attachment_%s", att->filename);
		snprintf(report, sizeof(report), "upload_file.json");
	} else {
		snprintf(field, sizeof(field), "timeline");
		snprintf(report, sizeof(report), "%.40s.json", uuid ? uuid : "snapshot");
	}
	parts[0] = (struct cw_upload_part){.name = backtrace ? "upload_file" : "snapshot",
					   .filename = report,
					   .content_type = body->content_type,
					   .data = body->data,
					   .len = body->len};
	parts[1] = (struct cw_upload_part){.name = field,
					   .filename = att->filename,
					   .content_type = att->content_type,
					   .data = att->data,
					   .len = att->len};
	r = cw_upload_multipart(parts, 2, uuid ? uuid : "", &mp, err, cap);
	if (r < 0)
		return r;
	cw_upload_body_free(body);
	*body = mp;
	return 0;
}
