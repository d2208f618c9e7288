// SPDX-License-Identifier: MIT
#include "request_server.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "counter_sink.h"
#include "crash_flow.h"
#include "event_decode.h"
#include "hold_pool.h"
#include "hold_registry.h"
#include "proc_info.h"
#include "request_auth.h"
#include "snapshot_options.h"

/* Refusals are said on stderr at most this often, with their count since. */
#define REFUSED_SAY_S 60

static void reply(int fd, enum cw_status status, int32_t detail, const char *text)
{
	char buf[CW_REPLY_MAX];
	long n = cw_reply_encode(status, detail, text, buf, sizeof(buf));

	/* A requester that went away, or whose buffer is full, gets nothing. */
	if (n > 0 && send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* counted nowhere: the request itself is */
	}
}

int cw_request_server_start(struct cw_request_server *s, const struct cw_request_server_config *c,
			    const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN};
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old;
	int r;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->flow = c->flow;
	s->epfd = c->epfd;
	s->rate = c->rate;
	s->burst = c->burst;
	s->max_timeout_s = c->max_timeout_s;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/*
	 * Its directory (root's, checked at start) must let others reach the
	 * socket: searchable, not listable, writable by root alone.
	 */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (chmod(dir, 0711) < 0)
			fprintf(stderr,
				"crashwatch: failed to make %s reachable (mode 0711): %s; only "
				"root "
				"can ask for snapshots, ignoring\n",
				dir, strerror(errno));
	}
	unlink(path);
	s->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	old = umask(0);
	r = s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
			    chmod(path, 0666) < 0 || listen(s->fd, 64) < 0
		    ? -errno
		    : 0;
	umask(old);
	ev.data.fd = s->fd;
	if (r == 0 && epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		r = -errno;
	if (r < 0) {
		fprintf(stderr, "crashwatch: failed to listen for snapshot requests on %s: %s\n",
			path, strerror(-r));
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
		unlink(path);
	}
	return r;
}

bool cw_request_server_owns(const struct cw_request_server *s, int fd)
{
	if (s->fd < 0)
		return false;
	if (fd == s->fd)
		return true;
	for (unsigned i = 0; i < s->n_conns; i++)
		if (s->conns[i].fd == fd)
			return true;
	return false;
}

/* The connection leaves the list (and epoll); closed unless keep. */
static void drop_conn(struct cw_request_server *s, unsigned i, bool keep)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->conns[i].fd, NULL);
	if (!keep)
		close(s->conns[i].fd);
	s->conns[i] = s->conns[--s->n_conns];
}

/* Refusals (who asks for what, and the malformed): said once a minute at most. */
static void say_refused(struct cw_request_server *s, const struct ucred *peer, const char *why)
{
	double now = cw_monotonic_s();

	s->refused_unsaid++;
	if (s->refused_said_at > 0 && now - s->refused_said_at < REFUSED_SAY_S)
		return;
	fprintf(stderr,
		"crashwatch: refused a snapshot request of pid %d (uid %u): %s (%" PRIu64
		" refused since the last such line; counters requests_refused, "
		"requests_malformed)\n",
		(int)peer->pid, (unsigned)peer->uid, why, s->refused_unsaid);
	s->refused_unsaid = 0;
	s->refused_said_at = now;
}

static struct cw_requester *requester(struct cw_request_server *s, uid_t uid, double now)
{
	struct cw_requester *lru = &s->users[0];

	for (unsigned i = 0; i < CW_REQUEST_USERS_MAX; i++) {
		struct cw_requester *u = &s->users[i];

		if (u->used && u->uid == uid) {
			u->last = now;
			return u;
		}
		if (!u->used || (lru->used && u->last < lru->last))
			lru = u;
	}
	/* Forgotten: a full bucket again, which only the longest silent user gets. */
	*lru = (struct cw_requester){.uid = uid, .used = true, .last = now};
	cw_bucket_init(&lru->bucket, s->rate, s->burst, now);
	return lru;
}

/* Whether tid is a thread of pid. */
static bool thread_of(pid_t pid, pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)tid);
	return access(path, F_OK) == 0;
}

/* pid's parent, or 0 when it cannot be read. */
static pid_t parent_of(pid_t pid)
{
	char path[48], state, *stat;
	unsigned flags;
	uint64_t ticks;
	pid_t ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	stat = cw_proc_read_file(AT_FDCWD, path, NULL);
	if (!stat || cw_parse_stat(stat, &state, &ppid, &flags, &ticks, NULL, 0) < 0)
		ppid = 0;
	free(stat);
	return ppid;
}

/* The job for a checked request: what the tool needs, the target pinned by its start time. */
static struct cw_hold_job *make_job(struct cw_request_server *s, const struct ucred *peer,
				    pid_t target, size_t len, const struct cw_request *parsed)
{
	struct cw_hold_job *j = calloc(1, sizeof(*j));
	struct cw_hold_req *q = calloc(1, sizeof(*q));
	long hz = sysconf(_SC_CLK_TCK);
	const char *why;
	char path[48], state, *stat;
	unsigned flags;
	uint64_t ticks = 0;
	pid_t ppid;
	double ms;

	if (!j || !q)
		goto fail;
	memcpy(q->raw, s->buf, len);
	/* Parsed again over the job's copy: its strings point there now. */
	if (cw_request_parse(q->raw, len, &q->req, &why) < 0)
		goto fail;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)target);
	stat = cw_proc_read_file(AT_FDCWD, path, NULL);
	if (!stat || hz <= 0 || cw_parse_stat(stat, &state, &ppid, &flags, &ticks, NULL, 0) < 0) {
		free(stat);
		goto fail;
	}
	free(stat);
	q->pid = target;
	q->start_boottime = ticks * (1000000000ULL / (uint64_t)hz);
	q->requester_pid = peer->pid;
	q->requester_uid = peer->uid;
	q->requester_gid = peer->gid;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)peer->pid);
	stat = cw_proc_read_file(AT_FDCWD, path, NULL);
	if (stat) {
		stat[strcspn(stat, "\n")] = '\0';
		/* The tool takes it after the last ':' of PID:UID:GID:COMM: any byte goes. */
		snprintf(q->requester_comm, sizeof(q->requester_comm), "%s", stat);
		free(stat);
	}
	ms = parsed->timeout_ms ? parsed->timeout_ms : CW_REQUEST_DEFAULT_MS;
	if (ms > s->max_timeout_s * 1e3)
		ms = s->max_timeout_s * 1e3;
	q->deadline_ms = cw_monotonic_s() * 1e3 + ms;
	q->timeout_s = (unsigned)((ms + 999) / 1000);
	j->kind = CW_HOLD_REQUEST;
	j->req = q;
	j->req_conn = -1;
	j->pid = target;
	j->tid = parsed->fault_tid;
	j->call = (struct cw_core_call){.conn = -1, .sock = CW_COREDUMP_CONN_INIT, .consumer = -1};
	return j;
fail:
	free(q);
	free(j);
	return NULL;
}

/* One request, read whole from a connection: answered now, or handed on (fd kept). */
static bool handle(struct cw_request_server *s, int fd, const struct ucred *peer, size_t len)
{
	struct cw_request r;
	struct cw_requester *u;
	struct cw_hold_job *j;
	char why[1024], msg[1200];
	const char *bad;
	double now = cw_monotonic_s(), wait_s;
	pid_t target;

	s->received++;
	if (len > CW_REQ_MAX || cw_request_parse(s->buf, len, &r, &bad) < 0) {
		s->malformed++;
		if (len > CW_REQ_MAX)
			bad = "the request is longer than 16384 bytes";
		say_refused(s, peer, bad);
		reply(fd, CW_STATUS_BAD_REQUEST, 0, bad);
		return false;
	}
	target = r.pid ? r.pid : peer->pid;
	/* Its memory holds the upload token, its tools' what they read as root: not shown. */
	if (target == getpid() || parent_of(target) == getpid()) {
		s->refused++;
		reply(fd, CW_STATUS_REFUSED, 0,
		      "the watcher and the tools it runs are not snapshotted on request");
		return false;
	}
	{
		struct cw_auth_peer ap = {peer->pid, peer->uid, peer->gid, 0};
		int e;

		ap.cap_prm = cw_auth_cap_prm(peer->pid);
		e = cw_auth_check(&ap, target, why, sizeof(why));
		if (e < 0) {
			s->refused++;
			if (e == -EPERM)
				say_refused(s, peer, why);
			reply(fd, e == -ESRCH ? CW_STATUS_NO_PROCESS : CW_STATUS_REFUSED, 0, why);
			return false;
		}
	}
	for (unsigned i = 0; i <= r.n_threads; i++) {
		pid_t tid = i < r.n_threads ? r.threads[i] : r.fault_tid;

		if (tid && !thread_of(target, tid)) {
			snprintf(msg, sizeof(msg), "pid %d has no thread %d", (int)target,
				 (int)tid);
			s->refused++;
			reply(fd, CW_STATUS_NO_PROCESS, 0, msg);
			return false;
		}
	}
	/* The user's own rate first (without taking), then the host's, then take the user's. */
	u = requester(s, peer->uid, now);
	wait_s = cw_bucket_wait(&u->bucket, now);
	if (wait_s > 0) {
		s->rate_limited++;
		snprintf(msg, sizeof(msg),
			 "uid %u asked for more than %g snapshots a second (burst %g): ask again "
			 "in %.0f ms (--request-rate, --request-burst)",
			 (unsigned)peer->uid, s->rate, s->burst, wait_s * 1e3 + 0.5);
		reply(fd, CW_STATUS_RATE_LIMITED, (int32_t)(wait_s * 1e3 + 1), msg);
		return false;
	}
	if (!cw_crash_flow_admit_request(s->flow, &wait_s)) {
		s->rate_limited++;
		snprintf(msg, sizeof(msg),
			 "the host's snapshot rate limit (--rate-limit, --rate-burst) keeps its "
			 "last tokens for crashes: ask again in %.0f ms",
			 wait_s * 1e3 + 0.5);
		reply(fd, CW_STATUS_RATE_LIMITED, (int32_t)(wait_s * 1e3 + 1), msg);
		return false;
	}
	cw_bucket_take(&u->bucket, now);
	j = make_job(s, peer, target, len, &r);
	if (!j) {
		s->failed++;
		reply(fd, CW_STATUS_NO_PROCESS, 0,
		      "the process ended, or the watcher is out of memory");
		return false;
	}
	if (r.flags & CW_REQ_WAIT)
		j->req_conn = fd;
	if (!cw_crash_flow_submit_request(s->flow, j)) {
		s->busy++;
		j->req_conn = -1;
		cw_hold_job_free(j);
		reply(fd, CW_STATUS_BUSY, 0,
		      "too many snapshot requests at once (--max-requests, --request-queue): ask "
		      "again later");
		return false;
	}
	s->accepted++;
	if (r.flags & CW_REQ_WAIT)
		return true;
	reply(fd, CW_STATUS_QUEUED, 0, "queued: the snapshot will be written to the spool");
	return false;
}

/* A connection turned readable: its request, or its end. */
static void read_conn(struct cw_request_server *s, unsigned i)
{
	struct cw_request_conn c = s->conns[i];
	ssize_t n = recv(c.fd, s->buf, sizeof(s->buf), MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_conn(s, i, false);
		return;
	}
	drop_conn(s, i, true);
	if (!handle(s, c.fd, &c.peer, (size_t)n))
		close(c.fd);
}

static void accept_all(struct cw_request_server *s)
{
	/* A bounded batch: the watcher's loop must get back to the kernel's records. */
	for (int k = 0; k < 64; k++) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct cw_request_conn c = {.fd = -1};
		socklen_t len = sizeof(c.peer);

		c.fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c.fd < 0)
			return;
		if (getsockopt(c.fd, SOL_SOCKET, SO_PEERCRED, &c.peer, &len) < 0 ||
		    c.peer.pid <= 0) {
			close(c.fd);
			continue;
		}
		if (s->n_conns == CW_REQUEST_CONNS_MAX) {
			s->busy++;
			reply(c.fd, CW_STATUS_BUSY, 0,
			      "too many connections waiting to send their request: ask again "
			      "later");
			close(c.fd);
			continue;
		}
		c.deadline = cw_monotonic_s() + CW_REQUEST_WAIT_S;
		ev.data.fd = c.fd;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, c.fd, &ev) < 0) {
			close(c.fd);
			continue;
		}
		s->conns[s->n_conns++] = c;
		/* Most clients have sent it already. */
		read_conn(s, s->n_conns - 1);
	}
}

void cw_request_server_ready(struct cw_request_server *s, int fd)
{
	if (fd == s->fd) {
		accept_all(s);
		return;
	}
	for (unsigned i = 0; i < s->n_conns; i++)
		if (s->conns[i].fd == fd) {
			read_conn(s, i);
			return;
		}
}

void cw_request_server_tick(struct cw_request_server *s)
{
	double now = cw_monotonic_s();

	for (unsigned i = s->n_conns; i-- > 0;)
		if (now >= s->conns[i].deadline) {
			s->malformed++;
			reply(s->conns[i].fd, CW_STATUS_BAD_REQUEST, 0,
			      "no request within a second of connecting");
			drop_conn(s, i, false);
		}
}

/* What became of a request's job, as a status and words. */
static enum cw_status outcome(const struct cw_hold_job *j, char *why, size_t cap, int32_t *detail)
{
	const struct cw_hold_result *r = &j->r;

	*detail = r->tool_status;
	if (r->path[0]) {
		snprintf(why, cap, "%s", r->path);
		return CW_STATUS_DONE;
	}
	if (r->cancelled) {
		snprintf(why, cap, "the watcher stopped before the snapshot was written");
		return CW_STATUS_UNAVAILABLE;
	}
	if (j->err == -ESRCH || r->tool_status == CW_SNAP_NO_PROCESS ||
	    r->tool_status == CW_SNAP_VANISHED || r->tool_status == CW_SNAP_ZOMBIE) {
		snprintf(why, cap, "pid %d ended before its snapshot was taken", (int)j->pid);
		return CW_STATUS_NO_PROCESS;
	}
	if (r->timed_out || j->err == -ETIMEDOUT || r->tool_status == CW_SNAP_TIMEOUT) {
		snprintf(why, cap, "the snapshot was not written within the request's timeout");
		return CW_STATUS_TIMED_OUT;
	}
	if (r->tool_status == CW_SNAP_NOT_PERMITTED) {
		snprintf(why, cap,
			 "the snapshot tool was not permitted to trace pid %d (the "
			 "watcher's stderr says why)",
			 (int)j->pid);
		return CW_STATUS_REFUSED;
	}
	if (r->tool_status == CW_SNAP_ALREADY_TRACED)
		snprintf(why, cap, "pid %d is traced by a debugger already", (int)j->pid);
	else if (r->tool_status == CW_SNAP_UNWRITTEN)
		snprintf(why, cap, "the spool took no file (full or read-only)");
	else if (j->err < 0)
		snprintf(why, cap, "the snapshot tool could not run: %s", strerror(-j->err));
	else
		snprintf(why, cap, "the snapshot tool failed with exit status %d", r->tool_status);
	return CW_STATUS_FAILED;
}

static void print_record(const struct cw_hold_job *j, enum cw_status st, const char *text,
			 bool json)
{
	const struct cw_hold_req *q = j->req;
	char time[48];

	cw_format_time(cw_boottime_ns(), time, sizeof(time));
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "type", json_string("request"));
		json_object_set_new(o, "time", json_string(time));
		json_object_set_new(o, "pid", json_integer(q->pid));
		json_object_set_new(o, "fault_tid",
				    q->req.fault_tid ? json_integer(q->req.fault_tid)
						     : json_null());
		json_object_set_new(o, "requester_pid", json_integer(q->requester_pid));
		json_object_set_new(o, "requester_uid", json_integer(q->requester_uid));
		json_object_set_new(o, "status", json_string(cw_status_name(st)));
		json_object_set_new(o, "path",
				    st == CW_STATUS_DONE ? json_string(text) : json_null());
		json_object_set_new(o, "why",
				    st == CW_STATUS_DONE ? json_null() : json_string(text));
		json_object_set_new(o, "ms", json_real(j->r.held_ms));
		json_dumpf(o, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	printf("%s request pid=%d by pid=%d uid=%u: %s %s (%.1f ms)\n", time, (int)q->pid,
	       (int)q->requester_pid, (unsigned)q->requester_uid, cw_status_name(st), text,
	       j->r.held_ms);
}

bool cw_request_server_done(struct cw_request_server *s, struct cw_hold_job *j, bool json)
{
	char text[4200];
	int32_t detail;
	enum cw_status st = outcome(j, text, sizeof(text), &detail);

	if (st == CW_STATUS_DONE)
		s->written++;
	else
		s->failed++;
	if (j->req_conn >= 0) {
		reply(j->req_conn, st, detail, text);
		close(j->req_conn);
		j->req_conn = -1;
	}
	print_record(j, st, text, json);
	return st == CW_STATUS_DONE;
}

void cw_request_server_stop(struct cw_request_server *s, const char *path)
{
	if (s->fd < 0)
		return;
	while (s->n_conns)
		drop_conn(s, s->n_conns - 1, false);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	unlink(path);
}

void cw_request_server_emit_counters(const struct cw_request_server *s, struct cw_counter_sink *k)
{
	cw_sink_counter(k, "requests", "Snapshot requests received.", s->received);
	cw_sink_counter(k, "requests_accepted", "Snapshot requests allowed and queued.",
			s->accepted);
	cw_sink_counter(k, "requests_written", "Requested snapshots written.", s->written);
	cw_sink_counter(k, "requests_failed", "Requested snapshots the tool failed to take.",
			s->failed);
	cw_sink_counter(k, "requests_refused",
			"Snapshot requests refused: the asker may not trace the process.",
			s->refused);
	cw_sink_counter(k, "requests_rate_limited",
			"Snapshot requests refused by the per-user or the host's rate limit.",
			s->rate_limited);
	cw_sink_counter(k, "requests_busy", "Snapshot requests refused: too many waiting.",
			s->busy);
	cw_sink_counter(k, "requests_malformed", "Snapshot requests that could not be read.",
			s->malformed);
}
