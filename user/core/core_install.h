/* SPDX-License-Identifier: MIT */
/*
 * Owning kernel.core_pattern (global to the host): save what was there,
 * point it at `crashwatch core-handler`, and put it back on exit — or, after
 * a watcher died, at the next start.  The saved copy lives in the state
 * directory (a tmpfs under /run: gone after a reboot, as the sysctl is).
 */
#ifndef CW_CORE_INSTALL_H
#define CW_CORE_INSTALL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CW_STATE_DIR   "/run/crashwatch"
#define CW_CORE_SAVED  CW_STATE_DIR "/core-previous"
#define CW_CORE_SOCKET CW_STATE_DIR "/core.sock"
/* The kernel's coredump socket (Linux >= 6.17): the kernel itself calls the watcher. */
#define CW_COREDUMP_SOCKET     CW_STATE_DIR "/coredump.sock"
#define CW_CORE_SOCKET_PATTERN "@@" CW_COREDUMP_SOCKET
#define CW_CORE_DROP	       CW_STATE_DIR "/core-drop" /* present: handlers drop the stream */
#define CW_HOLD_LOCK	       CW_STATE_DIR "/hold.lock" /* flock: one holding watcher per host */
#define CW_CORE_PATTERN	       "/proc/sys/kernel/core_pattern"
#define CW_CORE_PIPE_LIMIT     "/proc/sys/kernel/core_pipe_limit"

/*
 * Become the host's one holding watcher: an exclusive flock on CW_HOLD_LOCK,
 * kept as long as the returned fd is open.  -EBUSY (holder's pid in *holder)
 * when another watcher holds it, or -errno.
 */
int cw_hold_lock(pid_t *holder, char *err, size_t cap);

/* Put back a saved core_pattern and core_pipe_limit: 1 if there was one, 0, or -errno. */
int cw_core_restore(void);

/*
 * Save the current settings and point core_pattern at a core handler:
 * command is "EXE core-handler" or a crashwatch-core-handler's path, as the
 * host's root shows it; drop: the handler passes the stream on to nothing.
 * 0 or -errno.
 */
int cw_core_install(const char *command, bool drop, char *err, size_t cap);

/* The same with a whole pattern: CW_CORE_SOCKET_PATTERN, for the kernel's coredump socket. */
int cw_core_install_pattern(const char *pattern, bool drop, char *err, size_t cap);

/* In every core_pattern crashwatch installs, whichever handler it names. */
#define CW_CORE_HANDLER_MARK "core-handler %P"

/*
 * Copy crashwatch-core-handler, found beside exe, to path (atomically, 0755):
 * a host path the kernel can run.  0 or -errno, err set.
 */
int cw_core_handler_copy(const char *exe, const char *path, char *err, size_t cap);

/*
 * Can the kernel's core_pattern helper be handler, and reach this watcher?
 * It starts from kthreadd's root with the host's mounts: handler must be
 * the same file there, and CW_STATE_DIR (where the socket is) the same
 * directory.  0 (also when kthreadd's root cannot be looked at: then we run
 * on the host), or -ENOENT with err saying what to mount.
 */
int cw_core_reachable(const char *handler, char *err, size_t cap);

/* Listen where core handlers call (CW_CORE_SOCKET): the fd, or -errno. */
int cw_core_listen(char *err, size_t cap);

/* Stop listening and remove the socket. */
void cw_core_unlisten(int fd);

/* The core_pattern that was there before crashwatch (for the handler).  0 or -errno. */
int cw_core_previous(char *pattern, size_t cap);

#endif
