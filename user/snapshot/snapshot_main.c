// SPDX-License-Identifier: MIT
/*
 * crashwatch-snapshot: parse → check the target → capture (stop, copy,
 * release) → unwind and symbolize from the copy → classify → write.
 * The target is released on every path: a signal or the watchdog ends the
 * tool with _exit(), and the kernel detaches a dead tracer's tracees and
 * lets them run.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "abort_message.h"
#include "classify.h"
#include "go_binary.h"
#include "go_capture.h"
#include "container_read.h"
#include "cxx_exception.h"
#include "proc_info.h"
#include "proc_maps.h"
#include "redact.h"
#include "rust_panic.h"
#include "ptrace_capture.h"
#include "ptrace_denied.h"
#include "signals.h"
#include "snapshot_json.h"
#include "snapshot_options.h"
#include "spool_write.h"
#include "debug_dirs.h"
#include "symbol_server.h"
#include "unwind.h"

#define MAX_CLASSIFIERS (CW_SNAP_MAX_LIST + 7)
#define MAX_NOTES	8

static void on_timeout(int sig)
{
	static const char msg[] = "crashwatch-snapshot: timed out; the target was released\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to tell */
	}
	_exit(CW_SNAP_TIMEOUT);
}

static void on_stop(int sig)
{
	static const char msg[] = "crashwatch-snapshot: interrupted; the target was released\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to tell */
	}
	_exit(128 + sig);
}

/*
 * The tool ends with the process that started it (the watcher): a tool
 * left running after the watcher's death would stop a process nobody
 * releases any more, or snapshot one the watchdog already let go.  The
 * death signal is set here, after exec (posix_spawn cannot), so the parent
 * may have died before: getppid() then names a reaper, not it.  The
 * "parent" is the thread that spawned the tool; the watcher's hold threads
 * wait for their tool before they end.
 *
 * Not with --at-exit: a core hold's process is dying anyway and this
 * capture is the only record of its crash; the tool ends within its
 * --timeout, and whenever it ends (or is killed) the kernel releases its
 * tracees, so nothing is left stopped by a tool that outlives the watcher.
 */
static void die_with_parent(const struct cw_snapshot_options *o)
{
	if (!o->parent_pid || o->at_exit)
		return;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != o->parent_pid) {
		fprintf(stderr,
			"crashwatch-snapshot: %d, which started this tool (--die-with-parent), "
			"has ended; not taking the snapshot\n",
			(int)o->parent_pid);
		_exit(128 + SIGKILL);
	}
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Atomically into dir, or to stdout for "-"; prints the path. */
static int write_snapshot(json_t *doc, const char *dir, const char *uuid)
{
	char path[4096], err[512];
	int r;

	if (strcmp(dir, "-") == 0) {
		if (json_dumpf(doc, stdout, JSON_INDENT(1)) < 0 || fputc('\n', stdout) == EOF ||
		    fflush(stdout) != 0)
			return -EIO;
		return 0;
	}
	r = cw_write_json_atomic(doc, dir, uuid, path, sizeof(path), err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "crashwatch-snapshot: %s\n", err);
		return r;
	}
	printf("%s\n", path);
	return 0;
}

/*
 * --timeline: the file moved beside the snapshot as <uuid>.timeline.json
 * (same directory: a rename); its name in name.  0 or -errno (said).
 */
static int keep_timeline(const char *file, const char *dir, const char *uuid, char *name,
			 size_t cap)
{
	char path[4096];

	snprintf(name, cap, "%s.timeline.json", uuid);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (rename(file, path) < 0) {
		int e = errno;

		fprintf(stderr,
			"crashwatch-snapshot: failed to keep the timeline %s: %s, ignoring\n", file,
			strerror(e));
		return -e;
	}
	return 0;
}

/* A core on stdin is copied to an unlinked file: libelf wants to seek.  fd or -errno. */
static int open_core(const char *path)
{
	char buf[65536];
	ssize_t n;
	int fd, e;

	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			errno = 0;
			if (write(fd, buf, (size_t)n) != n)
				n = -1;
		}
		if (n < 0) {
			e = errno ? errno : ENOSPC; /* a short write sets no errno */
			close(fd);
			return -e;
		}
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/*
 * Where the faulted thread was when the signal came: past a signal frame
 * (held in its handler) the last exact pc of the first run of exact pcs;
 * else its instruction pointer.
 */
static uint64_t fault_pc(const struct cw_unwound_thread *t)
{
	size_t i = 1;

	if (!t || t->n == 0)
		return 0;
	while (i < t->n && !t->frames[i].activation)
		i++;
	if (i == t->n)
		return t->frames[0].pc;
	while (i + 1 < t->n && t->frames[i + 1].activation)
		i++;
	return t->frames[i].pc;
}

/*
 * Every thread is let go (on every path of the capture): whoever holds the
 * process may release it now, without waiting for the unwinding.
 */
static void tell_captured(int *fd)
{
	if (*fd < 0)
		return;
	if (write(*fd, "c", 1) < 0) {
		/* the holder sees the end of the pipe instead */
	}
	close(*fd);
	*fd = -1;
}

static int check_target(const struct cw_proc_info *p)
{
	if (p->kernel_thread) {
		fprintf(stderr,
			"crashwatch-snapshot: %d is a kernel thread: it has no user stack\n",
			(int)p->pid);
		return CW_SNAP_KERNEL_THREAD;
	}
	if (p->state == 'Z' || p->state == 'X') {
		fprintf(stderr,
			"crashwatch-snapshot: %d is a zombie: it has exited and waits for its "
			"parent %d to reap it\n",
			(int)p->pid, (int)p->ppid);
		return CW_SNAP_ZOMBIE;
	}
	if (p->tracer) {
		fprintf(stderr,
			"crashwatch-snapshot: %d is already traced by %d: detach that debugger "
			"first\n",
			(int)p->pid, (int)p->tracer);
		return CW_SNAP_ALREADY_TRACED;
	}
	return CW_SNAP_OK;
}

/* /proc/PID/environ with its secret-looking values redacted; NULL when unreadable. */
static char *read_environ(int proc_dir, const struct cw_redact *redact, size_t *len)
{
	size_t raw_len;
	char *raw = cw_proc_read_file(proc_dir, "environ", &raw_len), *env;

	if (!raw)
		return NULL;
	env = cw_redact_environ(redact, raw, raw_len, len);
	explicit_bzero(raw, raw_len);
	free(raw);
	return env;
}

/*
 * PTRACE_SEIZE said -EPERM: another tracer (exit 7), a process that ended
 * meanwhile (the kernel refuses a zombie with -EPERM: -ESRCH is returned
 * for the caller to say so), or a real refusal (exit 6, saying why).
 * Threads this tool seized before the refusal trace it still: its own pid
 * is no other debugger.
 */
static int refused(int proc_dir, pid_t pid, int *rc)
{
	struct cw_proc_info again = {0};
	char why[1024];
	int r = cw_proc_info_read(proc_dir, pid, &again);

	if (r < 0 || again.state == 'Z' || again.state == 'X') {
		cw_proc_info_free(&again);
		return -ESRCH;
	}
	if (again.tracer && again.tracer != getpid()) {
		*rc = check_target(&again);
	} else {
		cw_ptrace_denied_reason(proc_dir, why, sizeof(why));
		fprintf(stderr, "crashwatch-snapshot: not permitted to trace %d (%s): %s\n",
			(int)pid, again.comm, why);
		*rc = CW_SNAP_NOT_PERMITTED;
	}
	cw_proc_info_free(&again);
	return -EPERM;
}

/*
 * What the capture reads while the process is stopped: a Go program's
 * goroutines, glibc's abort message, the C++ exception being handled on the
 * faulted thread, a Rust panic's message and location.
 */
struct go_stop {
	const struct cw_go_binary *binary; /* NULL: not a Go program */
	struct cw_go_capture *out;
	pid_t fault_tid;
	struct cw_abort_message *abort_msg; /* addr 0: none to read */
	struct cw_cxx_exception *cxx;	    /* tls_index 0: none to read */
	struct cw_rust_panic *rust;	    /* location and payload 0: none */
};

static void go_stopped(void *arg, const struct cw_capture *c)
{
	struct go_stop *g = arg;

	if (g->binary)
		cw_go_capture_stopped(g->binary, c, g->fault_tid, g->out);
	if (g->abort_msg->addr)
		cw_abort_message_read(c->pid, g->abort_msg);
	for (size_t i = 0; g->cxx->tls_index && i < c->n; i++)
		if (c->threads[i].tid == g->fault_tid && c->threads[i].captured)
			cw_cxx_exception_read(c->pid, c->threads[i].regs.fs_base, g->cxx);
	if (g->rust->location || g->rust->payload)
		cw_rust_panic_read(c->pid, g->rust);
}

/* The classifier given or derived already: once is enough. */
static bool has_classifier(const char *const *cls, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cls[i], name) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct cw_snapshot_options o;
	struct cw_redact redact;
	struct cw_proc_info proc = {0};
	struct cw_container_info container = {0};
	struct cw_capture cap = {0};
	struct cw_unwinder u = {0};
	struct cw_maps maps = {0};
	struct cw_snapshot snap = {0};
	struct cw_go_binary go_bin = {.fd = -1};
	struct cw_go_capture go_cap = {0};
	struct go_stop go_stop = {0};
	static struct cw_abort_message abort_msg; /* 4 KiB: not on the stack */
	static struct cw_cxx_exception cxx;
	static struct cw_rust_panic rust;
	bool is_go = false;
	char go_err[256] = "", go_note[320];
	struct sigaction sa = {0};
	struct timespec t0;
	const char *classifiers[MAX_CLASSIFIERS], *notes[MAX_NOTES];
	const char *functions[CW_UNWIND_MAX_FRAMES];
	const struct cw_unwound_thread *ft = NULL;
	size_t n_cls = 0, n_notes = 0, n_functions = 0, env_len = 0;
	char uuid[64], timeline[128], err[512] = "", *env = NULL;
	int proc_dir = -1, core_fd = -1, rc = CW_SNAP_FAILED, r;
	json_t *doc = NULL;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	u.core_fd = -1;
	r = cw_snapshot_options_parse(argc, argv, &o, stdout, stderr);
	if (r)
		return r > 0 ? CW_SNAP_OK : CW_SNAP_USAGE;
	die_with_parent(&o);
	/* Used only after the capture, never while the target is stopped: see docs/snapshot.md. */
	if (cw_debug_dirs_set(o.debug_dirs, o.n_debug_dirs) < 0) {
		fprintf(stderr, "crashwatch-snapshot: %s\n", strerror(ENOMEM));
		return CW_SNAP_FAILED;
	}
	cw_debuginfod_bound(o.symbol_server != NULL);
	if (o.symbol_server) {
		prctl(PR_SET_DUMPABLE, 0);
		return cw_symbol_server_run(o.symbol_server, o.symbol_cache_bytes) == 0
			       ? CW_SNAP_OK
			       : CW_SNAP_FAILED;
	}
	u.source_lines = o.source_lines;
	u.symbolizer = o.symbolizer;
	redact = (struct cw_redact){
		.off = o.no_redact, .patterns = o.redact, .n_patterns = o.n_redact};
	/* The tool never handles its own crash, and its memory is nobody's to read. */
	prctl(PR_SET_DUMPABLE, 0);
	sa.sa_handler = on_timeout;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	alarm(o.timeout_s);
	cw_new_uuid(uuid, sizeof(uuid));

	if (o.core) {
		core_fd = open_core(o.core);
		if (core_fd < 0) {
			fprintf(stderr, "crashwatch-snapshot: failed to %s the core %s: %s\n",
				strcmp(o.core, "-") == 0 ? "copy" : "open",
				strcmp(o.core, "-") == 0 ? "from stdin" : o.core,
				strerror(-core_fd));
			core_fd = -1;
			rc = CW_SNAP_BAD_CORE;
			goto cleanup;
		}
		if (cw_unwind_core(&u, core_fd, o.exe, err, sizeof(err)) < 0) {
			fprintf(stderr, "crashwatch-snapshot: %s\n", err);
			rc = CW_SNAP_BAD_CORE;
			goto cleanup;
		}
		proc.pid = u.core_pid;
		proc.ppid = u.core_ppid;
		proc.uid = u.core_uid;
		proc.gid = u.core_gid;
		snprintf(proc.comm, sizeof(proc.comm), "%s", u.core_comm);
		proc.cmdline = cw_redact_joined(&redact, u.core_args);
		proc.exe = o.exe ? strdup(o.exe) : NULL;
		if (!o.sig)
			o.sig = u.core_signal;
		snap.method = "core";
		if (u.core_note[0])
			notes[n_notes++] = u.core_note;
	} else {
		char path[32];

		snprintf(path, sizeof(path), "/proc/%d", (int)o.pid);
		proc_dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (proc_dir < 0 || cw_proc_info_read(proc_dir, o.pid, &proc) < 0) {
			fprintf(stderr, "crashwatch-snapshot: no process with pid %d\n",
				(int)o.pid);
			rc = CW_SNAP_NO_PROCESS;
			goto cleanup;
		}
		rc = check_target(&proc);
		if (rc != CW_SNAP_OK)
			goto cleanup;
		rc = CW_SNAP_FAILED;
		/* Before the capture: a process captured at its exit has no namespaces after it. */
		r = cw_container_info_read(proc_dir, &container);
		if (r < 0 && n_notes < MAX_NOTES)
			notes[n_notes++] = "the cgroup of the process could not be read";
		snap.container = &container;
		cw_maps_read(o.pid, &maps);
		if (o.no_redact || o.n_redact) {
			free(proc.cmdline);
			proc.cmdline = cw_proc_cmdline(proc_dir, &redact);
		}
		if (o.env)
			env = read_environ(proc_dir, &redact, &env_len);
		/* A Go program: its runtime's facts now, while it runs, not in the pause. */
		r = cw_go_binary_open(proc_dir, o.pid, &maps, &go_bin, go_err, sizeof(go_err));
		if (r == 0) {
			is_go = true;
			go_stop.binary = &go_bin;
			go_stop.out = &go_cap;
			go_stop.fault_tid = o.fault_tid;
			go_cap.original_type = o.go_panic_type;
			go_cap.caller_goid = o.caller_goroutine;
			go_cap.fatal_msg_addr = o.go_fatal_addr;
			go_cap.fatal_msg_len = o.go_fatal_len;
		} else if (r != -ENOEXEC && n_notes < MAX_NOTES) {
			snprintf(go_note, sizeof(go_note), "the goroutines could not be read: %s",
				 go_err);
			notes[n_notes++] = go_note;
		}
		/* Held at abort(): where glibc keeps why, found now; read in the pause. */
		if (o.sig == SIGABRT) {
			cw_abort_message_locate(o.pid, &maps, &abort_msg);
			/* std::terminate() aborts: the exception it terminates for. */
			cw_cxx_exception_locate(o.pid, &maps, &cxx);
		}
		rust.location = o.rust_location;
		rust.payload = o.rust_payload;
		rust.vtable = o.rust_vtable;
		go_stop.fault_tid = o.fault_tid;
		go_stop.abort_msg = &abort_msg;
		go_stop.cxx = &cxx;
		go_stop.rust = &rust;
		r = cw_capture_process(
			proc_dir, o.pid,
			&(struct cw_capture_options){
				.mode = o.at_exit ? CW_CAPTURE_AT_EXIT : CW_CAPTURE_INTERRUPT,
				.stack_bytes = o.stack_bytes,
				.only = o.n_threads ? o.threads : NULL,
				.n_only = o.n_threads,
				.fault_tid = o.fault_tid,
				.seized_fd = o.seized_fd,
				.stop_together = o.stop_together,
				.stopped = is_go || abort_msg.addr || cxx.tls_index ||
							   rust.location || rust.payload
						   ? go_stopped
						   : NULL,
				.stopped_arg = &go_stop,
			},
			&cap);
		tell_captured(&o.captured_fd);
		if (r == -EPERM)
			r = refused(proc_dir, o.pid, &rc);
		if (r == -EPERM)
			goto cleanup;
		if (r == -ESRCH) {
			fprintf(stderr,
				"crashwatch-snapshot: %d ended before it could be captured\n",
				(int)o.pid);
			rc = CW_SNAP_VANISHED;
			goto cleanup;
		}
		if (r < 0) {
			fprintf(stderr, "crashwatch-snapshot: failed to capture %d: %s\n",
				(int)o.pid, strerror(-r));
			goto cleanup;
		}
		alarm(o.timeout_s); /* the target runs again: the rest is the tool's own time */
		if (cw_unwind_capture(&u, &cap, err, sizeof(err)) < 0) {
			fprintf(stderr, "crashwatch-snapshot: %s\n", err);
			goto cleanup;
		}
		if (is_go) {
			cw_go_unwind(&go_bin, &cap, &go_cap);
			snap.go_binary = &go_bin;
			snap.go = &go_cap;
		}
		snap.method = o.at_exit ? "ptrace-at-exit" : "ptrace";
		snap.capture = &cap;
		snap.pause_ms = (double)cap.pause_ns / 1e6;
		snap.window_ms = (double)cap.window_ns / 1e6;
		snap.staggered = cap.staggered;
		for (size_t i = 0; i < cap.n; i++)
			if (!cap.threads[i].captured && n_notes < MAX_NOTES) {
				notes[n_notes++] =
					"some threads ended before they could be stopped";
				break;
			}
	}

	for (size_t i = 0; i < u.n; i++)
		if (u.threads[i].tid == o.fault_tid)
			ft = &u.threads[i];
	for (size_t i = 0; ft && i < ft->n; i++)
		functions[n_functions++] = ft->frames[i].function;
	/* Held at rust_panic: a panic a catch_unwind catches is no crash. */
	if (o.rust_unwinding && cw_rust_panic_caught_at(&u, ft, functions, n_functions)) {
		rc = CW_SNAP_NOT_A_CRASH;
		goto cleanup;
	}
	for (size_t i = 0; i < o.n_classifiers; i++)
		classifiers[n_cls++] = o.classifiers[i];
	if (o.sig) {
		const char *code = o.has_si_code ? cw_si_code_name(o.sig, o.si_code) : NULL;
		const char *cause;

		classifiers[n_cls++] = cw_signal_name(o.sig);
		if (code)
			classifiers[n_cls++] = code;
		cause = cw_crash_cause(&(struct cw_crash_facts){
			.sig = o.sig,
			.code = o.si_code,
			.addr = o.fault_addr,
			.pc = fault_pc(ft),
			.maps = maps.n ? &maps : NULL,
			.functions = functions,
			.n_functions = n_functions,
		});
		if (cause)
			classifiers[n_cls++] = cause;
	}
	if (go_cap.panicking) {
		bool said = false;

		/* The watcher says it already (--classifier=go-panic): once is enough. */
		for (size_t i = 0; i < n_cls; i++)
			said |= strcmp(classifiers[i], "go-panic") == 0;
		if (!said)
			classifiers[n_cls++] = "go-panic";
		/*
		 * The seed's ErrClassification: the panic value's dynamic type.  Not
		 * "string" alone: at runtime.fatalpanic the runtime has replaced an
		 * error or Stringer by its text (preprintpanics), so a string there
		 * may have been any type; the watcher gives the type it had
		 * (--go-panic-type).
		 */
		if (go_cap.panic_type[0] && strcmp(go_cap.panic_type, "string") != 0)
			classifiers[n_cls++] = go_cap.panic_type;
	}
	/* Uncaught: the exception is on the thread's way to abort() through std::terminate(). */
	if (cxx.found && !cw_cxx_terminating(functions, n_functions))
		cxx.found = false;
	if (cxx.found && !has_classifier(classifiers, n_cls, "cpp-exception"))
		classifiers[n_cls++] = "cpp-exception";
	if ((rust.location || rust.payload) && !has_classifier(classifiers, n_cls, "rust-panic"))
		classifiers[n_cls++] = "rust-panic";
	if (!u.n && n_notes < MAX_NOTES)
		notes[n_notes++] = "no thread could be unwound";

	snap.abort_msg = abort_msg.has_message ? &abort_msg : NULL;
	snap.cxx = cxx.found ? &cxx : NULL;
	snap.rust = rust.location || rust.payload ? &rust : NULL;
	snap.opts = &o;
	snap.proc = &proc;
	snap.unwound = &u;
	snap.classifiers = classifiers;
	snap.n_classifiers = n_cls;
	snap.environment = env;
	snap.environment_len = env_len;
	snap.uuid = uuid;
	if (o.timeline && strcmp(o.output, "-") != 0 &&
	    keep_timeline(o.timeline, o.output, uuid, timeline, sizeof(timeline)) == 0)
		snap.timeline = timeline;
	snap.notes = notes;
	snap.n_notes = n_notes;
	snap.total_ms = ms_since(&t0);
	doc = cw_snapshot_json(&snap);
	if (!doc)
		goto cleanup;
	if (write_snapshot(doc, o.output, uuid) < 0) {
		if (snap.timeline) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", o.output, snap.timeline);
			unlink(path);
		}
		/* Told apart: the watcher counts a spool that takes no file. */
		rc = CW_SNAP_UNWRITTEN;
		goto cleanup;
	}
	rc = CW_SNAP_OK;

cleanup:
	json_decref(doc);
	cw_unwinder_free(&u);
	cw_go_capture_free(&go_cap);
	cw_capture_free(&cap);
	cw_go_binary_free(&go_bin);
	cw_maps_free(&maps);
	cw_proc_info_free(&proc);
	cw_container_info_free(&container);
	free(env);
	if (proc_dir >= 0)
		close(proc_dir);
	if (core_fd >= 0)
		close(core_fd);
	return rc;
}
