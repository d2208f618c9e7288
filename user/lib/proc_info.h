/* SPDX-License-Identifier: MIT */
/* What /proc says about a process and its threads, read through one directory fd. */
#ifndef CW_PROC_INFO_H
#define CW_PROC_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cw_proc_info {
	pid_t pid;
	pid_t ppid;
	uid_t uid;
	gid_t gid;
	pid_t tracer; /* TracerPid: 0 when nobody traces it */
	char state;   /* R S D T t Z X ... */
	bool kernel_thread;
	uint64_t start_ticks; /* /proc/PID/stat starttime, clock ticks since boot */
	char comm[64];
	char *exe;     /* NULL when unreadable (kernel thread, zombie) */
	char *cmdline; /* arguments joined by spaces, secrets redacted (redact.h defaults) */
	char *cwd;
	char *cgroup; /* the cgroup v2 path ("0::" line), else the first line */
};

/* 0, -ENOENT when there is no such process, or -errno. */
int cw_proc_info_read(int proc_dir, pid_t pid, struct cw_proc_info *out);

/*
 * The file pid runs, opened through /proc/PID/exe (the very file, in any
 * mount namespace), and its path as the process sees it in path ("" when
 * unreadable): named now, for once the process is gone so is its link.
 * The fd, or -errno (the process is gone, or exec'd again).
 */
int cw_proc_open_exe(pid_t pid, char *path, size_t cap);
void cw_proc_info_free(struct cw_proc_info *p);

struct cw_redact;

/*
 * The arguments of the process at dir, redacted under r (NULL: the
 * defaults) and joined by spaces; malloc'd, NULL with errno set.
 */
char *cw_proc_cmdline(int dir, const struct cw_redact *r);

/* The thread ids under /proc/PID/task, sorted.  0 or -errno; *out is malloc'd. */
int cw_proc_threads(int proc_dir, pid_t **out, size_t *n);

/*
 * The whole of a /proc file (path relative to dir, or AT_FDCWD), malloc'd and
 * NUL-terminated; *len (may be NULL) excludes the NUL.  NULL with errno set.
 */
char *cw_proc_read_file(int dir, const char *path, size_t *len);

/*
 * Whether pid still names the process that started at start_boottime (ns
 * since boot), and not a later one that reused the pid.
 */
bool cw_proc_is_same(pid_t pid, uint64_t start_boottime);

/*
 * The state letter and the kernel's task flags (PF_*) of thread tid, from
 * PATH/stat under dir ("task/TID", or AT_FDCWD and "/proc/PID").  0 or -errno.
 */
int cw_proc_stat_state(int dir, const char *path, char *state, unsigned *flags);

/* A thread's name and state letter; 0 or -errno. */
int cw_thread_info(int proc_dir, pid_t tid, char *name, size_t cap, char *state);

/* Parse a /proc stat line (after "pid (comm) "): state, ppid, flags, starttime. */
int cw_parse_stat(const char *line, char *state, pid_t *ppid, unsigned *flags,
		  uint64_t *start_ticks, char *comm, size_t comm_cap);

#endif
