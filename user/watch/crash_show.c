// SPDX-License-Identifier: MIT
#include "crash_show.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crash_index.h"
#include "parse.h"
#include "snapshot_stack.h"
#include "spool_doc.h"
#include "watch_options.h"

static const char usage[] =
	"Usage: crashwatch show [--json] [--spool=DIR] ID|PID|FILE\n"
	"\n"
	"One crash for a person: the cause line first, the faulted thread's stack, then\n"
	"every thread, the modules and the attributes.  ID is a snapshot's id as\n"
	"`crashwatch list` shows it (a unique prefix will do), PID the newest crash of\n"
	"that process in the index, FILE a snapshot document.  Snapshots are found in\n"
	"the spool, in DIR/uploaded (the newest 100 uploaded) and in DIR/failed.\n"
	"\n"
	"  --json        the snapshot document itself\n"
	"  --spool=DIR   the spool (default " CW_DEFAULT_SPOOL ")\n"
	"\n"
	"Exit status: 0 shown, 1 no such crash or its snapshot is gone or unreadable\n"
	"(the message says which), 2 bad usage.\n";

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && s[0] ? s : NULL;
}

static void print_thread(json_t *t, bool faulted)
{
	json_t *frames = json_object_get(t, "frames"), *f;
	size_t i;

	printf("\n%sthread %lld", faulted ? "faulted " : "",
	       (long long)json_integer_value(json_object_get(t, "tid")));
	if (str(t, "name"))
		printf(" (%s)", str(t, "name"));
	if (str(t, "state"))
		printf(" state %s", str(t, "state"));
	puts(":");
	json_array_foreach(frames, i, f) cw_print_snapshot_frame(stdout, i, f);
	if (json_is_true(json_object_get(t, "frames_truncated")))
		puts("    ... more frames (the 256-frame cap)");
	if (str(t, "error"))
		printf("    no frames: %s\n", str(t, "error"));
}

/* The readable form: docs/snapshot.md's fields, the cause first. */
static void print_doc(json_t *doc, json_t *entry)
{
	json_t *p = json_object_get(doc, "process"), *sig = json_object_get(doc, "signal"),
	       *cap = json_object_get(doc, "capture"), *threads = json_object_get(doc, "threads"),
	       *t, *m, *v;
	const char *k;
	size_t i;

	printf("cause: %s\n", str(doc, "cause") ? str(doc, "cause") : "(none: on demand)");
	printf("snapshot: %s, %s%s at %s\n", str(doc, "uuid"),
	       str(cap, "method") ? str(cap, "method") : "?",
	       json_is_true(json_object_get(cap, "partial")) ? " (partial)" : "",
	       str(doc, "timestamp") ? str(doc, "timestamp") : "?");
	printf("process: %lld (%s)", (long long)json_integer_value(json_object_get(p, "pid")),
	       json_string_value(json_object_get(p, "comm")));
	if (str(p, "exe"))
		printf(" %s", str(p, "exe"));
	putchar('\n');
	if (str(p, "cmdline"))
		printf("command line: %s\n", str(p, "cmdline"));
	if (json_is_object(sig)) {
		printf("signal: %s", str(sig, "name") ? str(sig, "name") : "?");
		if (str(sig, "code_name"))
			printf(" (%s)", str(sig, "code_name"));
		if (str(sig, "address"))
			printf(" at %s", str(sig, "address"));
		if (json_is_integer(json_object_get(sig, "sender_pid")))
			printf(", sent by %lld",
			       (long long)json_integer_value(json_object_get(sig, "sender_pid")));
		putchar('\n');
	}
	if (entry) {
		printf("held at: %s; snapshot %s", str(entry, "held_at"), str(entry, "snapshot"));
		if (str(entry, "uploaded_to"))
			printf("; uploaded to %s at %s", str(entry, "uploaded_to"),
			       str(entry, "uploaded_at"));
		putchar('\n');
	}
	json_array_foreach(json_object_get(cap, "notes"), i, v) if (json_is_string(v))
		printf("note: %s\n", json_string_value(v));
	/* The faulted thread first, then every other in the document's order. */
	json_array_foreach(threads, i, t) if (json_is_true(json_object_get(t, "faulted")))
		print_thread(t, true);
	json_array_foreach(threads, i, t) if (!json_is_true(json_object_get(t, "faulted")))
		print_thread(t, false);
	if (json_is_array(json_object_get(doc, "goroutines")))
		printf("\ngoroutines: %zu (crashwatch show --json has them)\n",
		       json_array_size(json_object_get(doc, "goroutines")));
	puts("\nmodules:");
	json_array_foreach(json_object_get(doc, "modules"), i, m)
	{
		printf("    %s-%s %s", str(m, "start") ? str(m, "start") : "?",
		       str(m, "end") ? str(m, "end") : "?", str(m, "path") ? str(m, "path") : "?");
		if (str(m, "build_id"))
			printf(" build-id=%s", str(m, "build_id"));
		putchar('\n');
	}
	puts("\nattributes:");
	if (!json_object_size(json_object_get(doc, "attributes")))
		puts("    (none)");
	json_object_foreach(json_object_get(doc, "attributes"), k, v)
		printf("    %s: %s\n", k, json_is_string(v) ? json_string_value(v) : "?");
}

/* A document given by its path: read within the bound, checked against the schema. */
static json_t *load_file(const char *path)
{
	char why[512];
	struct stat st;
	json_error_t jerr;
	json_t *doc;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "crashwatch: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)CW_SPOOL_DOC_MAX_BYTES) {
		fprintf(stderr,
			"crashwatch: %s is not a snapshot: not a regular file of at most %u "
			"bytes\n",
			path, CW_SPOOL_DOC_MAX_BYTES);
		return NULL;
	}
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		fprintf(stderr, "crashwatch: %s is not a snapshot: %s (line %d)\n", path, jerr.text,
			jerr.line);
		return NULL;
	}
	if (cw_spool_doc_check(doc, NULL, why, sizeof(why)) < 0) {
		fprintf(stderr, "crashwatch: %s is not a snapshot of docs/snapshot.md: %s\n", path,
			why);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* The snapshot id from where it may be: the spool, uploaded/, failed/. */
static json_t *load_id(const char *spool, const char *id)
{
	const char *const subdirs[] = {NULL, CW_UPLOADED_DIR, "failed"};
	char dir[4096], name[128], why[512];
	json_t *doc;

	snprintf(name, sizeof(name), "%s.json", id);
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		int r;

		if (subdirs[i])
			snprintf(dir, sizeof(dir), "%s/%s", spool, subdirs[i]);
		else
			snprintf(dir, sizeof(dir), "%s", spool);
		r = cw_spool_doc_read(dir, name, &doc, why, sizeof(why));
		if (r == 0)
			return doc;
		if (r != -ENOENT) {
			fprintf(stderr, "crashwatch: cannot show %s/%s: %s\n", dir, name, why);
			return NULL;
		}
	}
	fprintf(stderr,
		"crashwatch: the snapshot %s is no longer kept (not in %s, %s/%s or %s/failed): "
		"the spool's bounds dropped it\n",
		id, spool, spool, CW_UPLOADED_DIR, spool);
	return NULL;
}

static bool is_id_prefix(const char *s)
{
	size_t n = strlen(s);

	if (n < 4 || n > 36)
		return false;
	for (; *s; s++)
		if (!strchr("0123456789abcdef-", *s))
			return false;
	return true;
}

/* The index entry the argument names (borrowed from all), or NULL with the reason said. */
static json_t *find_entry(json_t *all, const char *arg, const char *spool)
{
	json_t *c, *found = NULL;
	uint64_t pid = 0;
	bool by_pid = cw_parse_u64(arg, 1, INT32_MAX, &pid) == 0;
	size_t i, n = 0;

	json_array_foreach(all, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "id"));

		if (by_pid ? (uint64_t)json_integer_value(json_object_get(c, "pid")) == pid
			   : id && !strncmp(id, arg, strlen(arg))) {
			if (by_pid) /* newest first: the first is the newest */
				return c;
			found = c;
			n++;
		}
	}
	if (n == 1)
		return found;
	if (n > 1)
		fprintf(stderr,
			"crashwatch: %s is the start of %zu snapshot ids: give more of it\n", arg,
			n);
	else
		fprintf(stderr,
			"crashwatch: no crash %s %s in the index %s/%s (`crashwatch list` shows "
			"them)\n",
			by_pid ? "of pid" : "with id", arg, spool, CW_INDEX_FILE);
	return NULL;
}

int cw_show_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"spool", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *spool = CW_DEFAULT_SPOOL, *arg, *id;
	json_t *all = NULL, *entry = NULL, *doc = NULL;
	bool json = false;
	size_t bad;
	int opt, err, rc = 1;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'd':
			spool = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "crashwatch: show takes one ID, PID or FILE\n%s", usage);
		return 2;
	}
	arg = argv[optind];
	if (strchr(arg, '/') || (strlen(arg) > 5 && !strcmp(arg + strlen(arg) - 5, ".json"))) {
		doc = load_file(arg);
		goto print;
	}
	if (cw_parse_u64(arg, 1, INT32_MAX, &(uint64_t){0}) < 0 && !is_id_prefix(arg)) {
		fprintf(stderr,
			"crashwatch: '%s' is no snapshot id, pid or file: give one as `crashwatch "
			"list` shows it\n",
			arg);
		return 2;
	}
	err = cw_index_read(spool, &all, &bad);
	if (err < 0) {
		fprintf(stderr, "crashwatch: failed to read the crash index %s/%s: %s\n", spool,
			CW_INDEX_FILE, strerror(-err));
		return 1;
	}
	entry = find_entry(all, arg, spool);
	if (!entry)
		goto out;
	id = json_string_value(json_object_get(entry, "id"));
	if (!id) {
		fprintf(stderr,
			"crashwatch: the crash of pid %lld at %s has no snapshot: it was %s\n",
			(long long)json_integer_value(json_object_get(entry, "pid")),
			json_string_value(json_object_get(entry, "time")),
			!strcmp(json_string_value(json_object_get(entry, "snapshot")), "suppressed")
				? "suppressed (rate limit or duplicate: counted in an aggregate)"
				: "not written (the spool did not take it)");
		goto out;
	}
	doc = load_id(spool, id);
print:
	if (!doc)
		goto out;
	if (json) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_doc(doc, entry);
	}
	rc = 0;
out:
	json_decref(doc);
	json_decref(all);
	return rc;
}
