// SPDX-License-Identifier: MIT
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "watch_options.h"

struct reader {
	FILE *f;
	int line;
	const char *path;
	struct cw_config *c;
	FILE *err;
	int problems;
};

static char *read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	char *s = fgets(str, num, r->f);

	if (s)
		r->line++;
	return s;
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
	int bad_line;

	c->args = NULL;
	c->n = 0;
	r.f = fopen(path, "re");
	if (!r.f)
		return -errno;
	bad_line = ini_parse_stream(read_line, &r, on_entry, &r);
	fclose(r.f);
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
