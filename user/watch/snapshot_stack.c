// SPDX-License-Identifier: MIT
#include "snapshot_stack.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crash_index.h"

/* A snapshot is a few hundred KiB at most; anything far bigger is not ours. */
#define MAX_DOC_BYTES (64 << 20)

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

void cw_print_snapshot_frame(FILE *out, size_t i, json_t *f)
{
	const char *pc = str(f, "pc"), *fn = str(f, "function"), *file = str(f, "file"),
		   *mod = str(f, "module"), *mod_off = str(f, "module_offset"),
		   *bid = str(f, "build_id");
	json_t *off = json_object_get(f, "function_offset"), *line = json_object_get(f, "line");
	unsigned long long v = 0;

	if (pc)
		sscanf(pc, "%llx", &v);
	fprintf(out, "    #%-2zu 0x%016llx", i, v);
	if (fn)
		fprintf(out, " %s+0x%llx", fn,
			json_is_integer(off) ? (unsigned long long)json_integer_value(off) : 0ULL);
	else
		fprintf(out, " ??");
	if (file && json_is_integer(line))
		fprintf(out, " (%s:%lld)", file, (long long)json_integer_value(line));
	if (mod)
		fprintf(out, " in %s+%s", mod, mod_off ? mod_off : "?");
	if (bid)
		fprintf(out, " build-id=%s", bid);
	fputc('\n', out);
}

/* The faulted thread's frames, printed; NULL when it has none. */
static char *faulted_stack(json_t *doc)
{
	json_t *threads = json_object_get(doc, "threads"), *t = NULL, *frames, *f;
	size_t i, n = 0, len = 0;
	char *text = NULL;
	FILE *out;

	json_array_foreach(threads, i, f)
	{
		if (!t || json_is_true(json_object_get(f, "faulted")))
			t = f;
		if (json_is_true(json_object_get(f, "faulted")))
			break;
	}
	frames = t ? json_object_get(t, "frames") : NULL;
	if (!json_is_array(frames) || !(out = open_memstream(&text, &len)))
		return NULL;
	json_array_foreach(frames, i, f)
	{
		if (!json_is_object(f))
			continue;
		cw_print_snapshot_frame(out, n++, f);
	}
	if (fclose(out) != 0 || !n) {
		free(text);
		return NULL;
	}
	return text;
}

int cw_snapshot_summary(const char *path, char *cause, size_t cap, char **stack)
{
	const char *c, *base;
	char moved[4096];
	struct stat st;
	json_t *doc;

	if (cap)
		cause[0] = '\0';
	if (stack)
		*stack = NULL;
	/* An uploader may have moved it already (crash_index.h). */
	if (stat(path, &st) < 0 && errno == ENOENT && (base = strrchr(path, '/')) &&
	    snprintf(moved, sizeof(moved), "%.*s/%s%s", (int)(base - path), path, CW_UPLOADED_DIR,
		     base) < (int)sizeof(moved))
		path = moved;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > MAX_DOC_BYTES)
		return -EINVAL;
	doc = json_load_file(path, 0, NULL);
	if (!doc)
		return -EBADMSG;
	if ((c = str(doc, "cause")) && cap)
		snprintf(cause, cap, "%s", c);
	if (stack)
		*stack = faulted_stack(doc);
	json_decref(doc);
	return 0;
}
