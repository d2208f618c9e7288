// SPDX-License-Identifier: MIT
/* Issue 12: nothing read back from the spool is trusted beyond its owner, its mode and its schema.
 */
#include "cw_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hold_registry.h"
#include "partial_snapshot.h"
#include "spool_doc.h"
#include "trusted_dir.h"

#define UUID "95a9da7a-1d6e-4f2e-8f15-96b4bb171933"

static void registry_lines_are_parsed_strictly(void **state)
{
	static const char *const bad[] = {
		"",	    "\n",	 "12abc 5 6\n", "-1 5 6\n", "0 5 6\n",		 "1 0 6\n",
		"1\n",	    "1 2 3 4\n", "1  2 3\n",	"1 2 3x\n", "99999999999 1 2\n", " 1 2 3\n",
		"1 2 3\nX",
	};
	struct cw_hold_entry e;

	(void)state;
	assert_int_equal(cw_registry_parse_line("123 456 789\n", &e), 0);
	assert_int_equal(e.pid, 123);
	assert_true(e.start_boottime == 456 && e.deadline_boottime_ns == 789);
	/* Two fields: written before deadlines were, past its deadline already. */
	assert_int_equal(cw_registry_parse_line("123 456\n", &e), 0);
	assert_true(e.deadline_boottime_ns == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cw_registry_parse_line(bad[i], &e) != -EINVAL)
			fail_msg("took \"%s\"", bad[i]);
}

static void a_directory_others_can_write_is_not_trusted(void **state)
{
	char dir[] = "/tmp/cw-trust-XXXXXX", sub[64], link[64], why[512], fix[512];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/spool", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(cw_dir_trusted(sub, why, sizeof(why), fix, sizeof(fix)), 0);
	assert_int_equal(cw_dir_writable(sub, why, sizeof(why)), 0);

	assert_int_equal(chmod(sub, 0770), 0);
	assert_int_equal(cw_dir_trusted(sub, why, sizeof(why), fix, sizeof(fix)), -EPERM);
	assert_non_null(strstr(why, "writable by group or others (mode 0770)"));
	assert_non_null(strstr(fix, "chmod go-w"));
	/* Sticky is no excuse for the spool itself. */
	assert_int_equal(chmod(sub, 01777), 0);
	assert_int_equal(cw_dir_trusted(sub, why, sizeof(why), fix, sizeof(fix)), -EPERM);
	assert_int_equal(chmod(sub, 0700), 0);

	/* A parent others may write: only when sticky, with the entry under it root's. */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(cw_dir_trusted(sub, why, sizeof(why), fix, sizeof(fix)), -EPERM);
	assert_non_null(strstr(why, dir));
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(cw_dir_trusted(sub, why, sizeof(why), fix, sizeof(fix)), 0);
	assert_int_equal(lchown(sub, 65534, 65534), 0);
	assert_int_equal(cw_dir_trusted(sub, why, sizeof(why), fix, sizeof(fix)), -EPERM);
	assert_non_null(strstr(why, "owned by uid 65534"));
	assert_int_equal(lchown(sub, 0, 0), 0);
	assert_int_equal(chmod(dir, 0700), 0);

	/* Through a link, where it leads is checked too. */
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink("/tmp", link), 0);
	assert_int_equal(cw_dir_trusted(link, why, sizeof(why), fix, sizeof(fix)), -EPERM);

	/* Not a directory. */
	assert_int_equal(cw_dir_trusted("/dev/null", why, sizeof(why), fix, sizeof(fix)), -ENOTDIR);
	assert_int_equal(cw_dir_writable("/dev/null", why, sizeof(why)), -ENOTDIR);
	assert_non_null(strstr(why, "/dev/null is not a directory"));

	unlink(link);
	rmdir(sub);
	rmdir(dir);
}

static json_t *a_document(void)
{
	struct cw_signal_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.task.pid = 4242;
	ev.task.tid = 4242;
	ev.task.start_boottime = 1000;
	memcpy(ev.task.comm, "victim", 7);
	ev.sig = SIGSEGV;
	ev.si_code = 1;
	ev.flags = CW_SIG_REGS;
	ev.nr_ips = 2;
	ev.ips[0] = 0x401000;
	ev.ips[1] = 0x402000;
	return cw_partial_snapshot_json(&ev, NULL, "why", UUID);
}

/* doc with v at path "a.b" (or "a[0].b"), then checked. */
static int with(const char *parent, size_t index, const char *key, json_t *v)
{
	json_t *doc = a_document(), *o = json_object_get(doc, parent);
	char why[512];
	int r;

	if (json_is_array(o))
		o = json_array_get(o, index);
	if (key)
		json_object_set_new(o, key, v);
	else
		json_object_set_new(doc, parent, v);
	r = cw_spool_doc_check(doc, UUID ".json", why, sizeof(why));
	json_decref(doc);
	return r;
}

static void spool_documents_follow_the_schema(void **state)
{
	json_t *doc = a_document(), *frames;
	char why[512];

	(void)state;
	assert_int_equal(cw_spool_doc_check(doc, UUID ".json", why, sizeof(why)), 0);
	assert_int_equal(cw_spool_doc_check(doc, "other.json", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "is not its file's name"));
	/* Too many frames for a thread. */
	frames = json_object_get(json_array_get(json_object_get(doc, "threads"), 0), "frames");
	while (json_array_size(frames) <= CW_SPOOL_DOC_MAX_FRAMES)
		json_array_append(frames, json_array_get(frames, 0));
	assert_int_equal(cw_spool_doc_check(doc, NULL, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "threads[0].frames has"));
	json_decref(doc);

	assert_int_equal(with("version", 0, NULL, json_integer(2)), -EINVAL);
	assert_int_equal(with("version", 0, NULL, json_string("1")), -EINVAL);
	assert_int_equal(with("uuid", 0, NULL, json_string("../../etc/passwd")), -EINVAL);
	assert_int_equal(with("timestamp", 0, NULL, json_string("yesterday")), -EINVAL);
	assert_int_equal(with("threads", 0, NULL, json_object()), -EINVAL);
	assert_int_equal(with("threads", 0, "tid", json_string("1")), -EINVAL);
	assert_int_equal(with("threads", 0, "frames", json_string("x")), -EINVAL);
	assert_int_equal(with("process", 0, "pid", json_null()), -EINVAL);
	assert_int_equal(with("process", 0, "exe", json_integer(1)), -EINVAL);
	assert_int_equal(with("signal", 0, "address", json_string("1234")), -EINVAL);
	assert_int_equal(with("attributes", 0, "k", json_integer(1)), -EINVAL);
	assert_int_equal(with("classifiers", 0, NULL, json_pack("[i]", 1)), -EINVAL);
	assert_int_equal(with("capture", 0, "notes", json_pack("[{}]")), -EINVAL);
	assert_int_equal(with("modules", 0, NULL, json_pack("[s]", "x")), -EINVAL);
	/* null where the schema says a field may be unknown; unknown keys let through. */
	assert_int_equal(with("process", 0, "exe", json_null()), 0);
	assert_int_equal(with("signal", 0, NULL, json_null()), 0);
	assert_int_equal(with("extra", 0, NULL, json_true()), 0);
}

static void spool_files_must_be_roots_regular_files(void **state)
{
	char dir[] = "/tmp/cw-spool-XXXXXX", path[128], why[512];
	json_t *doc = a_document(), *got;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/" UUID ".json", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0 && json_dumpfd(doc, fd, 0) == 0);
	close(fd);
	assert_int_equal(cw_spool_doc_read(dir, UUID ".json", &got, why, sizeof(why)), 0);
	json_decref(got);

	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(cw_spool_doc_read(dir, UUID ".json", &got, why, sizeof(why)), -EPERM);
	assert_null(got);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(cw_spool_doc_read(dir, UUID ".json", &got, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "owned by uid 65534"));
	unlink(path);

	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(cw_spool_doc_read(dir, UUID ".json", &got, why, sizeof(why)), -ELOOP);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(cw_spool_doc_read(dir, UUID ".json", &got, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "not a regular file"));
	unlink(path);
	/* Too large, whatever is in it. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0 && ftruncate(fd, (off_t)CW_SPOOL_DOC_MAX_BYTES + 1) == 0);
	close(fd);
	assert_int_equal(cw_spool_doc_read(dir, UUID ".json", &got, why, sizeof(why)), -EFBIG);
	unlink(path);
	assert_int_equal(cw_spool_doc_read(dir, UUID ".json", &got, why, sizeof(why)), -ENOENT);

	json_decref(doc);
	rmdir(dir);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(registry_lines_are_parsed_strictly),
	cmocka_unit_test(a_directory_others_can_write_is_not_trusted),
	cmocka_unit_test(spool_documents_follow_the_schema),
	cmocka_unit_test(spool_files_must_be_roots_regular_files),
};

CW_TEST_MAIN(tests)
