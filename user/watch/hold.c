// SPDX-License-Identifier: MIT
#include "hold.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core_call_protocol.h"
#include "debug_dirs.h"
#include "proc_info.h"

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int cw_default_snapshot_tool(char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0)
		return -errno;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	if ((size_t)snprintf(out, cap, "%s/crashwatch-snapshot", self) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int cw_make_dir(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The process is in a group stop (SIGSTOP delivered), within a short bound. */
static bool wait_stopped(pid_t pid, double until_ms)
{
	char path[32], state;
	unsigned flags;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	while (now_ms() < until_ms) {
		int r = cw_proc_stat_state(AT_FDCWD, path, &state, &flags);

		if (r < 0 || state == 'Z' || state == 'X')
			return false;
		if (state == 'T')
			return true;
		usleep(50);
	}
	return false;
}

/*
 * Start the tool with stdout on out_fd and the given pipe ends as fds 3, 4
 * (-1: none).  The ends are O_CLOEXEC: a tool started meanwhile by another
 * hold's thread does not get them.
 */
static int run_tool(char *const argv[], int out_fd, int fd3, int fd4, pid_t *child)
{
	posix_spawn_file_actions_t fa;
	int r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	if (fd3 >= 0)
		posix_spawn_file_actions_adddup2(&fa, fd3, 3);
	if (fd4 >= 0)
		posix_spawn_file_actions_adddup2(&fa, fd4, 4);
	r = posix_spawn(child, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

/*
 * One byte from fd (the tool's "seized" or "captured"): 1; the pipe closed
 * without it (the tool ended): 0; -ETIMEDOUT at until_ms; -ECANCELED when
 * the watcher stops.
 */
static int wait_byte(int fd, double until_ms, int cancel_fd)
{
	for (;;) {
		struct pollfd p[2] = {{fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
		int left = (int)(until_ms - now_ms() + 0.999);
		char b;
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(p, cancel_fd >= 0 ? 2 : 1, left) < 0 && errno != EINTR)
			return -errno;
		if (p[1].revents)
			return -ECANCELED;
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(fd, &b, 1);
		if (n < 0 && errno == EINTR)
			continue;
		return n == 1 ? 1 : 0;
	}
}

/*
 * Read the snapshot's path until the tool ends, the deadline or the
 * watcher's stop (the tool is killed then); the tool is always reaped.
 */
static void collect_tool(pid_t child, int out_fd, double deadline, int cancel_fd,
			 struct cw_hold_result *r)
{
	size_t got = 0;
	int st = 0;

	for (;;) {
		struct pollfd p[2] = {{out_fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}};
		int left = (int)(deadline - now_ms() + 0.999);
		ssize_t n;

		if (left <= 0) {
			r->timed_out = true;
			kill(child, SIGKILL);
			break;
		}
		if (poll(p, cancel_fd >= 0 ? 2 : 1, left) < 0 && errno != EINTR)
			break;
		if (p[1].revents) {
			r->cancelled = true;
			kill(child, SIGKILL);
			break;
		}
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		n = read(out_fd, r->path + got, sizeof(r->path) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	r->path[got] = '\0';
	r->path[strcspn(r->path, "\n")] = '\0';
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	r->tool_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (r->tool_status != 0 || r->timed_out || r->cancelled)
		r->path[0] = '\0';
}

/*
 * The tool's arguments for a crash of pid/tid with signal sig; known is what
 * the kernel said of the signal at delivery (si_code, address, sender), or NULL.
 */
struct tool_args {
	char fault[32], sig[32], code[32], addr[48], sender[32], out[PATH_MAX + 16], timeout[32],
		pid[16], symbolizer[PATH_MAX + 16], stack[48], parent[40], classifier[40],
		go_type[64], rust[96], timeline[PATH_MAX + 16];
	/* A USDT probe's: its classifier, then usdt.probe and usdt.argN attributes. */
	char usdt_cls[2 * CW_USDT_NAME_MAX + 16];
	char usdt_kv[1 + CW_USDT_MAX_ARGS][2 * CW_USDT_NAME_MAX + CW_USDT_STRING_LEN + 48];
	char *argv[29 + 2 * CW_REDACT_MAX_PATTERNS + 2 * CW_MAX_DEBUG_DIRS + 3 + CW_USDT_MAX_ARGS];
};

/* A USDT probe's hold: not a crash; classified by the probe, its arguments as attributes. */
static int usdt_args(struct tool_args *a, const struct cw_hold_usdt *u, int i)
{
	a->argv[i++] = "--classifier=usdt";
	snprintf(a->usdt_cls, sizeof(a->usdt_cls), "--classifier=%s", u->probe);
	a->argv[i++] = a->usdt_cls;
	snprintf(a->usdt_kv[0], sizeof(a->usdt_kv[0]), "--kv=usdt.probe:%s", u->probe);
	a->argv[i++] = a->usdt_kv[0];
	for (unsigned k = 0; k < u->nargs && k < CW_USDT_MAX_ARGS; k++) {
		snprintf(a->usdt_kv[k + 1], sizeof(a->usdt_kv[k + 1]), "--kv=usdt.arg%u:%s", k,
			 u->args[k]);
		a->argv[i++] = a->usdt_kv[k + 1];
	}
	return i;
}

static void tool_args(struct tool_args *a, const struct cw_hold_config *c, pid_t pid, pid_t tid,
		      int sig, bool at_exit, const struct cw_crash_signal *known,
		      const char *timeline)
{
	int i = 0;

	snprintf(a->fault, sizeof(a->fault), "--fault-thread=%d", (int)tid);
	snprintf(a->sig, sizeof(a->sig), "--signal=%d", sig);
	snprintf(a->out, sizeof(a->out), "--output=%s", c->dir);
	snprintf(a->timeout, sizeof(a->timeout), "--timeout=%u", c->timeout_s);
	snprintf(a->pid, sizeof(a->pid), "%d", (int)pid);
	a->argv[i++] = (char *)c->tool;
	if (tid > 0)
		a->argv[i++] = a->fault;
	/* A Go panic or fatal error has no signal: the classifier says what it is. */
	if (sig)
		a->argv[i++] = a->sig;
	if (known && (known->flags & CW_SIG_AT_GO)) {
		snprintf(a->classifier, sizeof(a->classifier), "--classifier=%s",
			 (known->flags & CW_SIG_AT_GO_PANIC) ? "go-panic" : "go-fatal-error");
		a->argv[i++] = a->classifier;
		/* The panic value's own type, before the runtime turned it into text. */
		if ((known->flags & CW_SIG_AT_GO_PANIC) && known->fault_addr) {
			snprintf(a->go_type, sizeof(a->go_type), "--go-panic-type=0x%" PRIx64,
				 (uint64_t)known->fault_addr);
			a->argv[i++] = a->go_type;
		} else if ((known->flags & CW_SIG_AT_GO_FATAL) && known->fault_addr &&
			   known->go_message_len) {
			/* What throw() or fatal() printed after "fatal error: ". */
			snprintf(a->go_type, sizeof(a->go_type),
				 "--go-fatal-message=0x%" PRIx64 ":%" PRIu64,
				 (uint64_t)known->fault_addr, (uint64_t)known->go_message_len);
			a->argv[i++] = a->go_type;
		}
	}
	if (known && known->usdt)
		i = usdt_args(a, known->usdt, i);
	/*
	 * A Rust panic: where std keeps its location and payload.  Held at
	 * rust_panic (no signal), the tool tells a panic caught by a
	 * catch_unwind from one that ends the process.
	 */
	if (known && (known->flags & CW_SIG_RUST_PANIC)) {
		snprintf(a->rust, sizeof(a->rust),
			 "--rust-panic=0x%" PRIx64 ":0x%" PRIx64 ":0x%" PRIx64,
			 (uint64_t)known->rust_location, (uint64_t)known->rust_payload,
			 (uint64_t)known->rust_vtable);
		a->argv[i++] = a->rust;
	}
	if (known && (known->flags & CW_SIG_AT_RUST_PANIC)) {
		a->argv[i++] = "--classifier=rust-panic";
		a->argv[i++] = "--rust-unwinding";
	}
	a->argv[i++] = a->out;
	a->argv[i++] = a->timeout;
	/* A tool outliving the watcher would stop a process nobody releases any more. */
	snprintf(a->parent, sizeof(a->parent), "--die-with-parent=%d", (int)getpid());
	a->argv[i++] = a->parent;
	if (c->stack_bytes) {
		snprintf(a->stack, sizeof(a->stack), "--stack-bytes=%u", c->stack_bytes);
		a->argv[i++] = a->stack;
	}
	if (c->symbolizer) {
		snprintf(a->symbolizer, sizeof(a->symbolizer), "--symbolizer=%s", c->symbolizer);
		a->argv[i++] = a->symbolizer;
	}
	/* Only when given: another --snapshot-tool need not know them. */
	if (c->no_redact)
		a->argv[i++] = "--no-redact";
	for (unsigned k = 0; k < c->n_redact && k < CW_REDACT_MAX_PATTERNS; k++) {
		a->argv[i++] = "--redact";
		a->argv[i++] = (char *)c->redact[k];
	}
	for (unsigned k = 0; k < c->n_debug_dirs && k < CW_MAX_DEBUG_DIRS; k++) {
		a->argv[i++] = "--debug-dir";
		a->argv[i++] = (char *)c->debug_dirs[k];
	}
	if (timeline && timeline[0]) {
		snprintf(a->timeline, sizeof(a->timeline), "--timeline=%s", timeline);
		a->argv[i++] = a->timeline;
	}
	if (at_exit) {
		a->argv[i++] = "--at-exit";
		a->argv[i++] = "--seized-fd=3";
		a->argv[i++] = "--captured-fd=4";
	} else {
		a->argv[i++] = "--captured-fd=3";
	}
	if (known) {
		snprintf(a->code, sizeof(a->code), "--si-code=%d", known->si_code);
		snprintf(a->addr, sizeof(a->addr), "--fault-addr=0x%" PRIx64,
			 (uint64_t)known->fault_addr);
		snprintf(a->sender, sizeof(a->sender), "--sender=%d", (int)known->sender_pid);
		/* At abort()'s entry SIGABRT is not raised yet: there is no siginfo. */
		if (!(known->flags &
		      (CW_SIG_AT_ABORT | CW_SIG_AT_GO | CW_SIG_AT_USDT | CW_SIG_AT_RUST_PANIC)))
			a->argv[i++] = a->code;
		if (!(known->flags & (CW_SIG_FROM_PROCESS | CW_SIG_AT_ABORT | CW_SIG_AT_GO |
				      CW_SIG_AT_USDT | CW_SIG_AT_RUST_PANIC)))
			a->argv[i++] = a->addr;
		if (known->sender_pid)
			a->argv[i++] = a->sender;
	}
	a->argv[i++] = a->pid;
	a->argv[i] = NULL;
}

void cw_crash_signal_of(const struct cw_signal_event *ev, struct cw_crash_signal *out)
{
	*out = (struct cw_crash_signal){
		.pid = (pid_t)ev->task.pid,
		.sig = ev->sig,
		.si_code = ev->si_code,
		.flags = ev->flags,
		.fault_addr = ev->fault_addr,
		.sender_pid = (pid_t)ev->sender_pid,
		.go_message_len = (ev->flags & CW_SIG_AT_GO_FATAL) ? ev->handler : 0,
		.rust_location = ev->rust_location,
		.rust_payload = ev->rust_payload,
		.rust_vtable = ev->rust_vtable,
	};
}

static double ms_since_boottime(uint64_t since_ns)
{
	uint64_t now = cw_boottime_ns();

	return since_ns && now > since_ns ? (double)(now - since_ns) / 1e6 : 0;
}

/*
 * A SIGSTOP hold begins: written down, then waited for (the SIGSTOP lands a
 * few µs to ms after the kernel sent it, by irq_work; a SIGCONT before it
 * would be undone by it).  Whether it stopped.
 */
static bool hold_begin(const struct cw_hold_config *c, const struct cw_signal_event *ev)
{
	cw_registry_add(c->registry, (pid_t)ev->task.pid, ev->task.start_boottime,
			cw_boottime_ns() + (uint64_t)c->timeout_s * 1000000000ULL);
	return wait_stopped((pid_t)ev->task.pid, now_ms() + 500);
}

static void hold_end(const struct cw_hold_config *c, const struct cw_signal_event *ev)
{
	/* Only the process that was held: the pid may name another one by now. */
	if (cw_proc_is_same((pid_t)ev->task.pid, ev->task.start_boottime))
		kill((pid_t)ev->task.pid, SIGCONT);
	cw_registry_remove(c->registry, (pid_t)ev->task.pid, ev->task.start_boottime);
}

/* What the config keeps beside the snapshot, written now (the process is held): its path or "". */
static void write_beside(const struct cw_hold_config *c, pid_t pid, char *path, size_t cap)
{
	path[0] = '\0';
	if (c->beside && c->beside(c->beside_arg, pid, c->dir, path, cap) < 0)
		path[0] = '\0';
}

/*
 * The tool moves it beside its snapshot; a tool that wrote none leaves it,
 * for the caller's partial snapshot (r->beside), or it is removed.
 */
static void leave_beside(const char *path, struct cw_hold_result *r)
{
	if (!path[0])
		return;
	if (!r->path[0] && strlen(path) < sizeof(r->beside))
		snprintf(r->beside, sizeof(r->beside), "%s", path);
	else
		unlink(path);
}

static void close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
	p[0] = p[1] = -1;
}

int cw_hold_snapshot(const struct cw_hold_config *c, const struct cw_signal_event *ev,
		     const struct cw_hold_usdt *usdt, atomic_bool *stopped,
		     struct cw_hold_result *r)
{
	struct cw_crash_signal known;
	double deadline = now_ms() + c->timeout_s * 1e3;
	pid_t pid = (pid_t)ev->task.pid, child = -1;
	int out[2] = {-1, -1}, captured[2] = {-1, -1}, err = 0, got;
	char beside[PATH_MAX] = "";
	struct tool_args a;

	memset(r, 0, sizeof(*r));
	r->tool_status = -1;
	if (!hold_begin(c, ev)) {
		err = -ESRCH;
		goto release;
	}
	if (stopped)
		atomic_store(stopped, true);
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(captured, O_CLOEXEC) < 0) {
		err = -errno;
		goto release;
	}
	cw_crash_signal_of(ev, &known);
	known.usdt = usdt;
	write_beside(c, pid, beside, sizeof(beside));
	tool_args(&a, c, pid, (pid_t)ev->task.tid, ev->sig, false, &known, beside);
	err = run_tool(a.argv, out[1], captured[1], -1, &child);
	close(out[1]);
	close(captured[1]);
	out[1] = captured[1] = -1;
	if (err < 0)
		goto release;
	got = wait_byte(captured[0], deadline, c->cancel_fd);
	if (got < 0) {
		/* Killed, the tool lets go of its tracees before it is reaped. */
		kill(child, SIGKILL);
		r->timed_out = got == -ETIMEDOUT;
		r->cancelled = got == -ECANCELED;
		collect_tool(child, out[0], deadline, -1, r);
		child = -1;
	}

release:
	hold_end(c, ev);
	r->held_ms = ms_since_boottime(ev->hdr.ts_ns);
	if (child > 0)
		collect_tool(child, out[0], deadline, c->cancel_fd, r);
	leave_beside(beside, r);
	close_pair(out);
	close_pair(captured);
	return err;
}

/* "--NAME=VALUE", malloc'ed, into argv[*i]; false on ENOMEM. */
static bool add_arg(char **argv, size_t *i, const char *name, const char *a, const char *b)
{
	if (asprintf(&argv[*i], "--%s=%s%s%s", name, a, b ? ":" : "", b ? b : "") < 0) {
		argv[*i] = NULL;
		return false;
	}
	(*i)++;
	return true;
}

/*
 * The tool's arguments for a request: the watcher's own (spool, symbol
 * server, redaction...), then what was asked, then the pid.  NULL on ENOMEM;
 * *n_own: how many leading entries are not malloc'ed.
 */
static char **request_argv(const struct cw_hold_config *c, const struct cw_hold_req *q,
			   struct tool_args *a, size_t *n_own)
{
	const struct cw_request *rq = &q->req;
	size_t cap = 16 + rq->n_kv + rq->n_classifiers + rq->n_threads +
		     sizeof(a->argv) / sizeof(a->argv[0]),
	       i = 0, k;
	char **argv = calloc(cap, sizeof(*argv)), num[64], by[160];
	struct cw_hold_config rc = *c;
	bool ok = true;

	if (!argv)
		return NULL;
	rc.timeout_s = q->timeout_s;
	tool_args(a, &rc, q->pid, rq->fault_tid, 0, false, NULL, NULL);
	/* Its own, but the pid (last) and --captured-fd: nobody holds the process. */
	for (k = 0; a->argv[k + 1]; k++)
		if (strncmp(a->argv[k], "--captured-fd=", 14) != 0)
			argv[i++] = a->argv[k];
	*n_own = i;
	snprintf(by, sizeof(by), "%d:%u:%u:%s", (int)q->requester_pid, (unsigned)q->requester_uid,
		 (unsigned)q->requester_gid, q->requester_comm);
	ok = add_arg(argv, &i, "trigger", "request", NULL) &&
	     add_arg(argv, &i, "requested-by", by, NULL);
	for (unsigned n = 0; ok && n < rq->n_kv; n++)
		ok = add_arg(argv, &i, "kv", rq->kv[n].key, rq->kv[n].value);
	for (unsigned n = 0; ok && n < rq->n_classifiers; n++)
		ok = add_arg(argv, &i, "classifier", rq->classifiers[n], NULL);
	for (unsigned n = 0; ok && n < rq->n_threads; n++) {
		snprintf(num, sizeof(num), "%d", (int)rq->threads[n]);
		ok = add_arg(argv, &i, "thread", num, NULL);
	}
	if (ok && rq->goroutine) {
		snprintf(num, sizeof(num), "%" PRIu64, rq->goroutine);
		ok = add_arg(argv, &i, "caller-goroutine", num, NULL);
	}
	if (ok && rq->error)
		ok = add_arg(argv, &i, "error", rq->error, NULL);
	if (ok && rq->error_type)
		ok = add_arg(argv, &i, "error-type", rq->error_type, NULL);
	if (ok && asprintf(&argv[i], "%d", (int)q->pid) < 0) {
		argv[i] = NULL;
		ok = false;
	}
	if (!ok) {
		for (k = *n_own; argv[k]; k++)
			free(argv[k]);
		free(argv);
		return NULL;
	}
	return argv;
}

int cw_hold_request(const struct cw_hold_config *c, const struct cw_hold_req *q,
		    struct cw_hold_result *r)
{
	double t0 = now_ms();
	int out[2] = {-1, -1}, err;
	struct tool_args a;
	size_t n_own = 0;
	pid_t child = -1;
	char **argv;

	memset(r, 0, sizeof(*r));
	r->tool_status = -1;
	if (t0 >= q->deadline_ms) {
		r->timed_out = true;
		return -ETIMEDOUT;
	}
	/* Asked for a while ago: the pid must still name that process. */
	if (!cw_proc_is_same(q->pid, q->start_boottime))
		return -ESRCH;
	argv = request_argv(c, q, &a, &n_own);
	if (!argv)
		return -ENOMEM;
	if (pipe2(out, O_CLOEXEC) < 0) {
		err = -errno;
		goto done;
	}
	err = run_tool(argv, out[1], -1, -1, &child);
	close(out[1]);
	out[1] = -1;
	if (err == 0)
		collect_tool(child, out[0], q->deadline_ms, c->cancel_fd, r);

done:
	close_pair(out);
	for (size_t k = n_own; argv[k]; k++)
		free(argv[k]);
	free(argv);
	r->held_ms = now_ms() - t0;
	return err;
}

void cw_hold_release(const struct cw_hold_config *c, const struct cw_signal_event *ev)
{
	hold_begin(c, ev);
	hold_end(c, ev);
}

void cw_core_call_answer(struct cw_core_call *c)
{
	enum cw_coredump_mode mode;
	char err[512];

	if (c->conn >= 0) {
		if (send(c->conn, CW_CORE_CALL_GO, strlen(CW_CORE_CALL_GO), MSG_NOSIGNAL) < 0) {
			/* the handler gave up waiting: the dump goes on all the same */
		}
		close(c->conn);
		c->conn = -1;
	}
	if (c->sock.fd < 0)
		return;
	mode = cw_coredump_socket_mode_for(&c->sock, c->previous, c->drop);
	if (cw_coredump_socket_answer(&c->sock, mode) == 0 && (mode & CW_COREDUMP_KERNEL) &&
	    cw_coredump_socket_forward(&c->sock, c->previous, &c->consumer, err, sizeof(err)) < 0) {
		fprintf(stderr, "crashwatch: %s; the core is dropped\n", err);
		cw_coredump_socket_drain(&c->sock);
	}
	/* With WAIT the process goes on once nobody reads the stream any more. */
	cw_coredump_conn_close(&c->sock);
}

void cw_core_call_finish(struct cw_core_call *c, double until_ms)
{
	while (c->consumer > 0) {
		pid_t r = waitpid(c->consumer, NULL, WNOHANG);

		if (r == c->consumer || (r < 0 && errno != EINTR)) {
			c->consumer = -1;
			break;
		}
		if (now_ms() >= until_ms) {
			fprintf(stderr,
				"crashwatch: the previous core handler (pid %d) still reads its "
				"core; left to finish\n",
				(int)c->consumer);
			break;
		}
		usleep(5000);
	}
}

void cw_core_call_release(struct cw_core_call *c)
{
	cw_core_call_answer(c);
	cw_core_call_finish(c, now_ms() + 30e3);
}

int cw_hold_core_request(int conn, pid_t *pid, pid_t *tid, int *sig)
{
	struct pollfd p = {conn, POLLIN, 0};
	char msg[CW_CORE_CALL_MAX];
	ssize_t n;

	/* The handler sends at connect; anyone else is not waited for long. */
	if (poll(&p, 1, 100) <= 0)
		return -ETIMEDOUT;
	n = recv(conn, msg, sizeof(msg), MSG_DONTWAIT);
	if (n <= 0)
		return -EBADMSG;
	return cw_core_call_parse(msg, (size_t)n, pid, tid, sig);
}

int cw_hold_core(const struct cw_hold_config *c, struct cw_core_call *call, pid_t pid, pid_t tid,
		 int sig, const struct cw_crash_signal *known, uint64_t held_since_ns,
		 struct cw_hold_result *r)
{
	double t0 = now_ms(), deadline = t0 + c->timeout_s * 1e3;
	int out[2] = {-1, -1}, seized[2] = {-1, -1}, captured[2] = {-1, -1}, err = 0, got;
	bool seized_all = false;
	char beside[PATH_MAX] = "";
	pid_t child = -1;
	struct tool_args a;

	memset(r, 0, sizeof(*r));
	r->tool_status = -1;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(seized, O_CLOEXEC) < 0 ||
	    pipe2(captured, O_CLOEXEC) < 0) {
		err = -errno;
		goto answer;
	}
	/* The dump waits: the process's memory and mappings are whole. */
	write_beside(c, pid, beside, sizeof(beside));
	tool_args(&a, c, pid, tid, sig, true, known, beside);
	err = run_tool(a.argv, out[1], seized[1], captured[1], &child);
	close(out[1]);
	close(seized[1]);
	close(captured[1]);
	out[1] = seized[1] = captured[1] = -1;
	if (err < 0)
		goto answer;
	/* Seizing takes a few ms; the dump waits for the handler meanwhile. */
	seized_all = wait_byte(seized[0], t0 + 2000, c->cancel_fd) == 1;

answer:
	/* The dump may go on: the core is written, the threads reach their exit stops. */
	cw_core_call_answer(call);
	/* Not seized: nothing holds it once answered; it dies as the dump ends. */
	if (!seized_all)
		r->held_ms = ms_since_boottime(held_since_ns);
	if (child > 0) {
		got = wait_byte(captured[0], deadline, c->cancel_fd);
		if (got < 0) {
			/* A dead tracer's tracees are let go by the kernel: the dump ends. */
			kill(child, SIGKILL);
			r->timed_out = got == -ETIMEDOUT;
			r->cancelled = got == -ECANCELED;
		}
		if (seized_all)
			r->held_ms = ms_since_boottime(held_since_ns);
		collect_tool(child, out[0], deadline, c->cancel_fd, r);
	}
	cw_core_call_finish(call, deadline);
	leave_beside(beside, r);
	close_pair(out);
	close_pair(seized);
	close_pair(captured);
	return err;
}
