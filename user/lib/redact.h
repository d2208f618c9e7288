/* SPDX-License-Identifier: MIT */
/*
 * Secrets out of command lines and environments before they are written to
 * a snapshot (docs/snapshot.md, "What is redacted").  A value is replaced by
 * CW_REDACTED when its name looks like a secret's:
 *
 *   --NAME=VALUE, -NAME=VALUE   VALUE
 *   --NAME VALUE, -NAME VALUE   the next argument, whatever it is
 *   -XVALUE                     VALUE, only when the one letter X is a pattern
 *   KEY=VALUE (no dash)         VALUE, when KEY is a name ([A-Za-z_][A-Za-z0-9_.-]*)
 *   SCHEME://USER:PASSWORD@HOST PASSWORD, anywhere in an argument or value
 *   URL?NAME=VALUE&...          VALUE, for a query parameter's NAME
 *
 * A name looks like a secret's when, lowercased and without its '-', '_'
 * and '.', it matches one of CW_REDACT_DEFAULT_NAMES or of the caller's
 * patterns (fnmatch globs, normalised the same way).
 */
#ifndef CW_REDACT_H
#define CW_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#define CW_REDACTED "<redacted>"

/* The most --redact patterns, and the longest one. */
#define CW_REDACT_MAX_PATTERNS 64
#define CW_REDACT_MAX_PATTERN  128

/* docs/snapshot.md lists these. */
#define CW_REDACT_DEFAULT_NAMES                                                                    \
	"*password*", "*passwd*", "*passphrase*", "*secret*", "*token*", "*apikey*",               \
		"*accesskey*", "*privatekey*", "*credential*", "*cookie*", "*authorization*",      \
		"auth", "pass", "passin", "passout"

struct cw_redact {
	bool off;		     /* --no-redact: everything as it is */
	const char *const *patterns; /* --redact: more secret names */
	size_t n_patterns;
};

/* Whether the name (len bytes) is a secret's under r (NULL: the defaults). */
bool cw_redact_is_secret(const struct cw_redact *r, const char *name, size_t len);

/*
 * The arguments of a command line, NUL-separated as in /proc/PID/cmdline
 * (len bytes, a final NUL or not), redacted and joined by spaces.
 * malloc'd; NULL with errno ENOMEM.
 */
char *cw_redact_cmdline(const struct cw_redact *r, const char *args, size_t len);

/*
 * A command line already joined by spaces (a core's NT_PRPSINFO): split at
 * spaces, then as above.  An argument that held a space is two words here.
 */
char *cw_redact_joined(const struct cw_redact *r, const char *line);

/*
 * An environment (NUL-separated KEY=VALUE, len bytes): a new one of *out_len
 * bytes, each entry NUL-terminated.  malloc'd; NULL with errno ENOMEM.
 */
char *cw_redact_environ(const struct cw_redact *r, const char *env, size_t len, size_t *out_len);

/* A --redact value is usable: 0, or -EINVAL with why set. */
int cw_redact_check_pattern(const char *pattern, const char **why);

#endif
