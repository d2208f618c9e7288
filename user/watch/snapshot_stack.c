// SPDX-License-Identifier: MIT
#include "snapshot_stack.h"

#include <errno.h>
#include <jansson.h>
#include <sys/stat.h>

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

int cw_print_snapshot_stack(FILE *out, const char *path)
{
	json_t *doc, *threads, *t = NULL, *frames, *f;
	struct stat st;
	size_t i, n = 0;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > MAX_DOC_BYTES)
		return -EINVAL;
	doc = json_load_file(path, 0, NULL);
	if (!doc)
		return -EBADMSG;
	threads = json_object_get(doc, "threads");
	json_array_foreach(threads, i, f)
	{
		if (!t || json_is_true(json_object_get(f, "faulted")))
			t = f;
		if (json_is_true(json_object_get(f, "faulted")))
			break;
	}
	frames = t ? json_object_get(t, "frames") : NULL;
	if (!json_is_array(frames)) {
		json_decref(doc);
		return -ENOENT;
	}
	json_array_foreach(frames, i, f)
	{
		if (!json_is_object(f))
			continue;
		cw_print_snapshot_frame(out, n++, f);
	}
	json_decref(doc);
	return (int)n;
}
