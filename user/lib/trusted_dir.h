/* SPDX-License-Identifier: MIT */
/*
 * Directories the watcher reads back as root and acts on (the spool: holds
 * to release, files to upload; /run/crashwatch: the core_pattern to put
 * back) must be changeable by root alone.  As sshd's StrictModes asks of
 * ~/.ssh: the directory and every directory above it owned by root (or by
 * this process's user) and not writable by group or others.  A directory
 * above it that others may write but that is sticky (/tmp) is accepted when
 * the entry under it is root's: nobody else can rename or remove that.
 */
#ifndef CW_TRUSTED_DIR_H
#define CW_TRUSTED_DIR_H

#include <stddef.h>

/*
 * 0, or -errno with why ("/x is owned by uid 65534, not root") and fix
 * ("chown root: /x; chmod go-w /x", "" when no command fixes it).
 */
int cw_dir_trusted(const char *path, char *why, size_t why_cap, char *fix, size_t fix_cap);

/* path is a directory this process can create a file in (a probe, removed).  0 or -errno, why. */
int cw_dir_writable(const char *path, char *why, size_t cap);

#endif
