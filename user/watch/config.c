// SPDX-License-Identifier: MIT
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "watch_options.h"

struct reader {
	const char *text; /* the whole file, NUL-terminated */
	size_t at, len;
	int line;
	const char *path;
	struct cw_config *c;
	FILE *err;
	int problems;
};

/* fgets() over the text read: up to num - 1 bytes, through the next newline. */
static char *read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	size_t n = 0;

	if (r->at >= r->len || num < 2)
		return NULL;
	while (n < (size_t)num - 1 && r->at < r->len) {
		str[n] = r->text[r->at++];
		if (str[n++] == '\n')
			break;
	}
	str[n] = '\0';
	r->line++;
	return str;
}

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/*
 * The whole file into *text, or a reason in why (then 0 and *text NULL), or
 * -errno.  Only a regular file of at most CW_CONFIG_MAX_BYTES (or /dev/null,
 * empty): a directory
 * was read as an empty config, /dev/zero spun forever, a FIFO blocked.  The
 * path is looked at before it is opened so that no device is opened at all;
 * O_NONBLOCK and fstat() cover a path swapped in between.
 */
static int slurp(const char *path, char **text, size_t *len, char *why, size_t cap)
{
	size_t n = 0;
	struct stat st;
	char *buf;
	int fd;

	*text = NULL;
	why[0] = '\0';
	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode)) {
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
	} else if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) {
		/* /dev/null: "no settings", as ssh -F /dev/null; reads nothing. */
		*text = strdup("");
		*len = 0;
		return *text ? 0 : -ENOMEM;
	} else {
		fd = -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, cap, "is %s, not a regular file: give the path of a config file",
			 file_kind(st.st_mode));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	buf = st.st_size <= CW_CONFIG_MAX_BYTES ? malloc(CW_CONFIG_MAX_BYTES + 2) : NULL;
	if (!buf) {
		if (fd >= 0)
			close(fd);
		if (st.st_size <= CW_CONFIG_MAX_BYTES)
			return -ENOMEM;
		snprintf(why, cap, "is %lld bytes, more than a config file may have (%d)",
			 (long long)st.st_size, CW_CONFIG_MAX_BYTES);
		return 0;
	}
	/* One byte past the bound tells a file that grew since fstat(). */
	while (n <= CW_CONFIG_MAX_BYTES) {
		ssize_t r = read(fd, buf + n, CW_CONFIG_MAX_BYTES + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > CW_CONFIG_MAX_BYTES)
		snprintf(why, cap, "is more than %d bytes, the most a config file may have",
			 CW_CONFIG_MAX_BYTES);
	else if (memchr(buf, '\0', n))
		snprintf(why, cap, "holds a NUL byte: not a text file");
	if (why[0]) {
		free(buf);
		return 0;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

static int truth(const char *v)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") ||
	    !strcmp(v, "1"))
		return 1;
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") ||
	    !strcmp(v, "0"))
		return 0;
	return -1;
}

static void problem(struct reader *r, const char *key, const char *reason)
{
	r->problems++;
	fprintf(r->err, "%s:%d: key '%s': %s\n", r->path, r->line, key, reason);
}

static int add(struct reader *r, const char *arg)
{
	char **v = realloc(r->c->args, (r->c->n + 1) * sizeof(*v));

	if (!v || !(v[r->c->n] = strdup(arg)))
		return -ENOMEM;
	r->c->args = v;
	r->c->n++;
	return 0;
}

/* The option parser itself judges a value: its message, without its prefix. */
static bool valid(const char *arg, char *why, size_t cap)
{
	char *argv[] = {"crashwatch", (char *)arg, NULL}, *msg = NULL, *line;
	size_t len = 0;
	struct cw_watch_options o;
	FILE *e = open_memstream(&msg, &len), *out = fopen("/dev/null", "we");
	int r = e && out ? cw_watch_options_parse(2, argv, &o, out, e) : -ENOMEM;

	if (e)
		fclose(e);
	if (out)
		fclose(out);
	line = msg ? msg : "";
	if (!strncmp(line, "crashwatch: ", 12))
		line += 12;
	snprintf(why, cap, "%.*s", (int)strcspn(line, "\n"), line);
	free(msg);
	return r == 0;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct reader *r = user;
	char arg[4200], why[512];
	int kind, t;

	if (strcmp(section, "watch") != 0) {
		snprintf(why, sizeof(why), "in section [%s]: only [watch] is read", section);
		problem(r, name, why);
		return 1;
	}
	kind = cw_watch_option_kind(name);
	if (kind < 0 || !strcmp(name, "config") || !strcmp(name, "help")) {
		problem(r, name, "not an option of crashwatch watch (see crashwatch watch --help)");
		return 1;
	}
	if (kind == 0) {
		t = truth(value);
		if (t < 0) {
			problem(r, name, "give yes or no");
			return 1;
		}
		if (t)
			snprintf(arg, sizeof(arg), "--%s", name);
		else if (!strncmp(name, "no-", 3) && cw_watch_option_kind(name + 3) == 0)
			snprintf(arg, sizeof(arg), "--%s", name + 3);
		else if (snprintf(arg, sizeof(arg), "--no-%s", name) > 0 &&
			 cw_watch_option_kind(arg + 2) == 0)
			;
		else
			return 1; /* "no" for a flag with no opposite: the default */
	} else {
		snprintf(arg, sizeof(arg), "--%s=%s", name, value);
	}
	if (!valid(arg, why, sizeof(why))) {
		problem(r, name, why);
		return 1;
	}
	if (add(r, arg) < 0)
		return 0;
	return 1;
}

int cw_config_read(const char *path, struct cw_config *c, FILE *err)
{
	struct reader r = {.path = path, .c = c, .err = err};
	char *text, why[160];
	int bad_line;

	c->args = NULL;
	c->n = 0;
	bad_line = slurp(path, &text, &r.len, why, sizeof(why));
	if (bad_line < 0)
		return bad_line;
	if (!text) {
		fprintf(err, "%s: %s\n", path, why);
		return 1;
	}
	r.text = text;
	bad_line = ini_parse_stream(read_line, &r, on_entry, &r);
	free(text);
	if (bad_line > 0) {
		r.problems++;
		fprintf(err, "%s:%d: not INI: give 'key = value' lines under [watch]\n", path,
			bad_line);
	} else if (bad_line < 0) {
		r.problems++;
		fprintf(err, "%s: out of memory reading it\n", path);
	}
	return r.problems;
}

void cw_config_free(struct cw_config *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->args[i]);
	free(c->args);
	c->args = NULL;
	c->n = 0;
}

int cw_config_main(int argc, char **argv)
{
	const char *path = argc > 2 ? argv[2] : CW_DEFAULT_CONFIG;
	struct cw_config c;
	int n;

	if (argc < 2 || strcmp(argv[1], "check") != 0 || argc > 3) {
		fprintf(stderr, "Usage: crashwatch config check [FILE]   (default %s)\n",
			CW_DEFAULT_CONFIG);
		return 2;
	}
	n = cw_config_read(path, &c, stdout);
	if (n < 0) {
		fprintf(stderr, "crashwatch: cannot read %s: %s\n", path, strerror(-n));
		cw_config_free(&c);
		return 1;
	}
	if (n == 0)
		printf("%s: %zu setting(s), no problems\n", path, c.n);
	cw_config_free(&c);
	return n ? 1 : 0;
}
