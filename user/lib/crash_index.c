// SPDX-License-Identifier: MIT
#include "crash_index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signals.h"
#include "spool.h"

/* The most of the index file a reader reads: its end, where the newest are. */
#define READ_MAX (4u << 20)

static const char *const snapshot_kinds[] = {"full", "partial", "suppressed", "none", NULL};
static const char *const hold_points[] = {"none", "handler", "abort", "sender", "go", "core", NULL};

static void format_time(time_t t, long nsec, char *out, size_t cap)
{
	struct tm tm;
	char date[32];

	if (!gmtime_r(&t, &tm) || !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(out, cap, "1970-01-01T00:00:00Z");
		return;
	}
	snprintf(out, cap, "%s.%06uZ", date, (unsigned)(nsec / 1000) % 1000000u);
}

/* "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" as written above; -1 when it is not. */
static int64_t parse_time(const char *s)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

	if (!end)
		return -1;
	if (*end == '.') {
		end++;
		while (*end >= '0' && *end <= '9')
			end++;
	}
	if (strcmp(end, "Z"))
		return -1;
	return (int64_t)timegm(&tm);
}

static int lock_index(const char *spool)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", spool, CW_INDEX_LOCK);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* The index file opened for reading, checked: ours, not writable by others, regular. */
static int open_index(const char *spool, int flags, struct stat *st)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", spool, CW_INDEX_FILE);
	fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) ||
	    (st->st_uid != 0 && st->st_uid != geteuid()) || (st->st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* buf[0..len) of the index file; the first line dropped when cut. */
static char *read_tail(int fd, const struct stat *st, size_t *len)
{
	off_t from = st->st_size > READ_MAX ? st->st_size - READ_MAX : 0;
	size_t want = (size_t)(st->st_size - from), got = 0;
	char *buf = malloc(want + 1);

	if (!buf)
		return NULL;
	while (got < want) {
		ssize_t n = pread(fd, buf + got, want - got, from + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
	if (from > 0) {
		char *nl = memchr(buf, '\n', got);
		size_t skip = nl ? (size_t)(nl + 1 - buf) : got;

		memmove(buf, buf + skip, got - skip + 1);
		*len = got - skip;
	}
	return buf;
}

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

/* A string of at most max bytes, or null; else false. */
static bool text_or_null(json_t *v, size_t max)
{
	return json_is_null(v) || (json_is_string(v) && json_string_length(v) <= max);
}

/* Copy key from in to out when it is a string of at most max bytes (or null). */
static bool copy_text(json_t *out, json_t *in, const char *key, size_t max)
{
	json_t *v = json_object_get(in, key);

	if (!v) {
		json_object_set_new(out, key, json_null());
		return true;
	}
	if (!text_or_null(v, max))
		return false;
	json_object_set(out, key, v);
	return true;
}

/* A crash line, checked field by field, as a fresh object; NULL when it is not one. */
static json_t *checked_crash(json_t *in, int64_t *when)
{
	json_t *out = json_object(), *pid = json_object_get(in, "pid"),
	       *tid = json_object_get(in, "tid"), *snap = json_object_get(in, "snapshot"),
	       *held = json_object_get(in, "held_at"), *t = json_object_get(in, "time"),
	       *sig = json_object_get(in, "signal");

	if (!out || !json_is_string(t) || (*when = parse_time(json_string_value(t))) < 0 ||
	    !json_is_integer(pid) || json_integer_value(pid) < 0 ||
	    json_integer_value(pid) > INT32_MAX || (tid && !json_is_integer(tid)) ||
	    !json_is_string(snap) || !one_of(json_string_value(snap), snapshot_kinds) ||
	    !json_is_string(held) || !one_of(json_string_value(held), hold_points) ||
	    !(json_is_null(sig) ||
	      (json_is_string(sig) && cw_signal_from_name(json_string_value(sig)) > 0)))
		goto bad;
	json_object_set(out, "time", t);
	json_object_set(out, "pid", pid);
	json_object_set_new(out, "tid", tid ? json_incref(tid) : json_null());
	if (!copy_text(out, in, "comm", 64) || !copy_text(out, in, "exe", 4096) ||
	    !copy_text(out, in, "cause", 4096) || !copy_text(out, in, "id", 64) ||
	    !copy_text(out, in, "uploaded_to", 512) || !copy_text(out, in, "uploaded_at", 64))
		goto bad;
	json_object_set(out, "signal", sig);
	json_object_set(out, "snapshot", snap);
	json_object_set(out, "held_at", held);
	return out;
bad:
	json_decref(out);
	return NULL;
}

struct entry {
	int64_t when;
	size_t seq; /* line order: later lines of the same second are newer */
	json_t *o;
};

static int newest_first(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->when != y->when)
		return x->when > y->when ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq;
}

json_t *cw_index_parse(const char *buf, size_t len, time_t now, size_t *bad)
{
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	json_t *uploads = json_object(), *out = json_array();
	const char *p = buf, *end = buf + len;

	*bad = 0;
	if (!uploads || !out)
		goto fail;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *line = NULL, *ev, *o;
		int64_t when;

		if (ll == 0)
			goto next;
		if (ll > CW_INDEX_LINE_MAX ||
		    !(line = json_loadb(p, ll, JSON_REJECT_DUPLICATES, NULL)) ||
		    !json_is_object(line) || !json_is_string(ev = json_object_get(line, "event"))) {
			(*bad)++;
			goto next;
		}
		if (!strcmp(json_string_value(ev), "uploaded")) {
			json_t *id = json_object_get(line, "id"), *to = json_object_get(line, "to"),
			       *t = json_object_get(line, "time");

			if (!json_is_string(id) || json_string_length(id) > 64 ||
			    !json_is_string(to) || json_string_length(to) > 512 ||
			    !json_is_string(t) || parse_time(json_string_value(t)) < 0) {
				(*bad)++;
				goto next;
			}
			json_object_set_new(uploads, json_string_value(id),
					    json_pack("{sOsO}", "to", to, "at", t));
			goto next;
		}
		if (strcmp(json_string_value(ev), "crash") || !(o = checked_crash(line, &when))) {
			(*bad)++;
			goto next;
		}
		if (when < (int64_t)now - CW_INDEX_MAX_AGE_S) {
			json_decref(o);
			goto next;
		}
		if (n == cap) {
			struct entry *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (!nv) {
				json_decref(o);
				json_decref(line);
				goto fail;
			}
			v = nv;
		}
		v[n] = (struct entry){.when = when, .seq = n, .o = o};
		n++;
	next:
		json_decref(line);
		p += ll + 1;
	}
	if (n)
		qsort(v, n, sizeof(*v), newest_first);
	for (size_t i = 0; i < n; i++) {
		json_t *id = json_object_get(v[i].o, "id"),
		       *up = json_is_string(id) ? json_object_get(uploads, json_string_value(id))
						: NULL;

		if (up) {
			json_object_set(v[i].o, "uploaded_to", json_object_get(up, "to"));
			json_object_set(v[i].o, "uploaded_at", json_object_get(up, "at"));
		}
		if (i < CW_INDEX_MAX_ENTRIES)
			json_array_append(out, v[i].o);
		json_decref(v[i].o);
	}
	free(v);
	json_decref(uploads);
	return out;
fail:
	for (size_t i = 0; i < n; i++)
		json_decref(v[i].o);
	free(v);
	json_decref(uploads);
	json_decref(out);
	return NULL;
}

int cw_index_read(const char *spool, json_t **out, size_t *bad)
{
	struct stat st;
	size_t len;
	char *buf;
	int fd = open_index(spool, O_RDONLY, &st);

	*out = NULL;
	*bad = 0;
	if (fd == -ENOENT) {
		*out = json_array();
		return *out ? 0 : -ENOMEM;
	}
	if (fd < 0)
		return fd;
	buf = read_tail(fd, &st, &len);
	close(fd);
	if (!buf)
		return -ENOMEM;
	*out = cw_index_parse(buf, len, time(NULL), bad);
	free(buf);
	return *out ? 0 : -ENOMEM;
}

/* Rewritten with the newest entries, uploads merged in; under the lock. */
static int compact(const char *spool, int fd, const struct stat *st)
{
	char path[4096], tmp[4096];
	json_t *all, *o;
	size_t len, bad, i;
	char *buf = read_tail(fd, st, &len);
	FILE *f;
	int out, err = 0;

	if (!buf)
		return -ENOMEM;
	all = cw_index_parse(buf, len, time(NULL), &bad);
	free(buf);
	if (!all)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", spool, CW_INDEX_FILE);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", spool, CW_INDEX_FILE);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		json_decref(all);
		return -errno;
	}
	f = fdopen(out, "w");
	if (!f) {
		err = -errno;
		close(out);
		unlink(tmp);
		json_decref(all);
		return err;
	}
	/* The newest that fit in half the bound (entries may be long), oldest first. */
	for (i = 0, len = 0; i < json_array_size(all) && len < CW_INDEX_MAX_BYTES / 2; i++) {
		char *line = json_dumps(json_array_get(all, i), JSON_COMPACT);

		len += line ? strlen(line) + 1 : 0;
		free(line);
	}
	while (i-- > 0) {
		o = json_array_get(all, i);
		json_object_set_new(o, "event", json_string("crash"));
		if (json_dumpf(o, f, JSON_COMPACT) < 0 || fputc('\n', f) == EOF)
			err = -EIO;
	}
	if (fflush(f) == EOF || fsync(fileno(f)) < 0)
		err = err ? err : -errno;
	fclose(f);
	json_decref(all);
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* Append one line; compact when the file outgrew its bound. */
static int append(const char *spool, json_t *line)
{
	char *text = json_dumps(line, JSON_COMPACT);
	struct stat st;
	int lock, fd, err;

	if (!text)
		return -ENOMEM;
	lock = lock_index(spool);
	if (lock < 0) {
		free(text);
		return lock;
	}
	fd = open_index(spool, O_WRONLY | O_APPEND | O_CREAT, &st);
	if (fd < 0) {
		err = fd;
		goto out;
	}
	err = write_all(fd, text, strlen(text));
	if (!err)
		err = write_all(fd, "\n", 1);
	if (!err && fstat(fd, &st) == 0 && st.st_size > (off_t)CW_INDEX_MAX_BYTES) {
		int rfd = open_index(spool, O_RDONLY, &st);

		if (rfd >= 0) {
			err = compact(spool, rfd, &st);
			close(rfd);
		}
	}
	close(fd);
out:
	close(lock);
	free(text);
	return err;
}

/* s as a JSON string (bytes that are not UTF-8 as '?'), null when NULL or "". */
static json_t *text(const char *s)
{
	json_t *v;
	char *copy;

	if (!s || !s[0])
		return json_null();
	if ((v = json_string(s)))
		return v;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *c = copy; *c; c++)
		if ((unsigned char)*c >= 0x80)
			*c = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

int cw_index_add_crash(const char *spool, const struct cw_index_crash *c)
{
	char when[48];
	const char *sig = c->sig ? cw_signal_name(c->sig) : NULL;
	json_t *o;
	int err;

	format_time(c->time, c->nsec, when, sizeof(when));
	o = json_pack("{sssssisisosososososssssn}", "event", "crash", "time", when, "pid",
		      (int)c->pid, "tid", (int)c->tid, "comm", text(c->comm), "exe", text(c->exe),
		      "signal", text(sig), "cause", text(c->cause), "id", text(c->id), "snapshot",
		      c->snapshot, "held_at", c->held_at, "uploaded_to");
	if (!o)
		return -ENOMEM;
	err = append(spool, o);
	json_decref(o);
	return err;
}

/* Keep the newest CW_UPLOADED_MAX uploaded snapshots (dir: SPOOL/uploaded, fd its fd). */
static void prune_uploaded(const char *dir, int fd)
{
	struct cw_spool_file *files = NULL;
	size_t n = 0;

	if (cw_spool_list(dir, &files, &n) < 0)
		return;
	for (size_t i = 0; i + CW_UPLOADED_MAX < n; i++)
		unlinkat(fd, files[i].name, 0);
	free(files);
}

int cw_index_uploaded(const char *spool, const char *name, const char *to)
{
	char dir[4096], id[128], when[48];
	size_t len = strlen(name);
	int sfd, ufd = -1, err = 0;
	struct timespec now;
	json_t *o;

	if (len <= 5 || len - 5 >= sizeof(id) || strchr(name, '/'))
		return -EINVAL;
	sfd = open(spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return -errno;
	snprintf(dir, sizeof(dir), "%s/%s", spool, CW_UPLOADED_DIR);
	if ((mkdirat(sfd, CW_UPLOADED_DIR, 0700) < 0 && errno != EEXIST) ||
	    (ufd = openat(sfd, CW_UPLOADED_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
		    0 ||
	    renameat(sfd, name, ufd, name) < 0) {
		err = -errno;
		unlinkat(sfd, name, 0); /* it must leave the spool all the same */
	} else {
		prune_uploaded(dir, ufd);
	}
	if (ufd >= 0)
		close(ufd);
	close(sfd);
	memcpy(id, name, len - 5);
	id[len - 5] = '\0';
	clock_gettime(CLOCK_REALTIME, &now);
	format_time(now.tv_sec, now.tv_nsec, when, sizeof(when));
	o = json_pack("{ssssssso}", "event", "uploaded", "time", when, "id", id, "to", text(to));
	if (!o)
		return -ENOMEM;
	if (!err)
		err = append(spool, o);
	else
		append(spool, o);
	json_decref(o);
	return err;
}

void cw_index_where(const char *kind, const char *url, char *out, size_t cap)
{
	const char *sep = strstr(url, "://"), *host, *end, *at;

	if (!sep) {
		snprintf(out, cap, "%s", kind);
		return;
	}
	host = sep + 3;
	end = host + strcspn(host, "/?#");
	/* User info (a Sentry key) is a secret's place. */
	at = memchr(host, '@', (size_t)(end - host));
	if (at)
		host = at + 1;
	snprintf(out, cap, "%s:%.*s://%.*s", kind, (int)(sep - url), url, (int)(end - host), host);
}
