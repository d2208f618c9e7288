// SPDX-License-Identifier: MIT
#include "timeline_http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http_conn.h"
#include "http_peer.h"
#include "http_request.h"
#include "request_auth.h"
#include "timeline_http_params.h"

/* Reading the request head; a client slower than this is cut off. */
#define HEAD_DEADLINE_MS 2000
/* Answers that are not a trace (errors, 503). */
#define ANSWER_DEADLINE_MS 2000
/* Beyond its seconds, what a recording may take to start and to write its trace. */
#define RECORDING_GRACE_MS 60000
/* Once the trace flows: the longest wait for the next bytes, either way. */
#define STREAM_IDLE_MS 30000
/* After its trace ended, how long the child may take to exit before it is killed. */
#define EXIT_WAIT_MS 5000

static const char path[] = "/debug/timeline";

static void count(struct cw_tl_http_server *s, enum cw_tl_http_counter c)
{
	__atomic_fetch_add(&s->counters[c], 1, __ATOMIC_RELAXED);
}

static void refuse(struct cw_tl_http_server *s, int fd, enum cw_tl_http_counter c,
		   const char *status, const char *extra, const char *text)
{
	count(s, c);
	cw_http_answer_text(fd, status, extra, text, cw_http_now_ms() + ANSWER_DEADLINE_MS);
}

/* A recording slot until `until`, or -1 with the seconds to wait in *retry. */
static int take_slot(struct cw_tl_http_server *s, int64_t until, int64_t *retry)
{
	int64_t now = cw_http_now_ms(), soonest = INT64_MAX;
	int got = -1;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < CW_TL_HTTP_MAX_RECORDINGS && got < 0; i++) {
		if (!s->recording_until[i]) {
			s->recording_until[i] = until;
			got = i;
		} else if (s->recording_until[i] < soonest) {
			soonest = s->recording_until[i];
		}
	}
	pthread_mutex_unlock(&s->lock);
	*retry = soonest > now ? (soonest - now + 999) / 1000 : 1;
	return got;
}

static void give_slot(struct cw_tl_http_server *s, int slot)
{
	pthread_mutex_lock(&s->lock);
	s->recording_until[slot] = 0;
	pthread_mutex_unlock(&s->lock);
}

/*
 * `crashwatch timeline` with its stdout and stderr on the pipes.  Only
 * async-signal-safe calls between fork and exec: other threads may hold
 * locks.  The child dies with this thread (PR_SET_PDEATHSIG) should the
 * watcher be killed.
 */
static pid_t spawn(const char *self, char *const argv[], int out_w, int err_w)
{
	pid_t parent = getpid(), child = fork();

	if (child == 0) {
		struct sigaction dfl = {.sa_handler = SIG_DFL};
		sigset_t none;
		int null;

		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0 ||
		    dup2(err_w, STDERR_FILENO) < 0)
			_exit(127);
		/* The watcher's mask and ignored signals are not the recorder's. */
		sigaction(SIGPIPE, &dfl, NULL);
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(self, argv);
		_exit(127);
	}
	return child;
}

/* A chunk of a chunked body (HTTP/1.1), or the bytes as they are (1.0: the close ends it). */
static int send_chunk(int fd, bool chunked, const char *buf, size_t len, int64_t deadline)
{
	char head[24];
	int n;

	if (!chunked)
		return cw_http_send_all(fd, buf, len, deadline);
	n = snprintf(head, sizeof(head), "%zx\r\n", len);
	if (cw_http_send_all(fd, head, (size_t)n, deadline) < 0 ||
	    cw_http_send_all(fd, buf, len, deadline) < 0 ||
	    cw_http_send_all(fd, "\r\n", 2, deadline) < 0)
		return -EIO;
	return 0;
}

/* Whether the client has left (EOF or error); anything it sends meanwhile is dropped. */
static bool client_left(int fd)
{
	char junk[512];

	for (;;) {
		ssize_t n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);

		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		return true;
	}
}

/* The child's status once it has ended, killing it if it does not within wait_ms. */
static int reap(pid_t child, int wait_ms)
{
	int64_t until = cw_http_now_ms() + wait_ms;
	int st = 0;

	while (waitpid(child, &st, WNOHANG) == 0) {
		if (cw_http_now_ms() >= until) {
			kill(child, SIGKILL);
			while (waitpid(child, &st, 0) < 0 && errno == EINTR)
				;
			break;
		}
		usleep(10000);
	}
	return st;
}

struct stream {
	bool header_sent, ended, client_gone, timed_out, stopped;
	size_t bytes;
	char err[1024]; /* the start of the recorder's stderr */
	size_t err_len;
};

/* Carry the child's trace to the client until it ends, the client leaves, a deadline or a stop. */
static void stream(struct cw_tl_http_server *s, int fd, bool chunked, int out_r, int err_r,
		   double seconds, struct stream *st)
{
	static const char head11[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
	static const char head10[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				     "Connection: close\r\n\r\n";
	int64_t deadline = cw_http_now_ms() + (int64_t)(seconds * 1000) + RECORDING_GRACE_MS;
	char buf[65536];

	for (;;) {
		struct pollfd p[4] = {{.fd = out_r, .events = POLLIN},
				      {.fd = err_r, .events = POLLIN},
				      {.fd = fd, .events = POLLIN | POLLRDHUP},
				      {.fd = s->stop_fd, .events = POLLIN}};
		int64_t left = deadline - cw_http_now_ms();
		ssize_t n;

		if (left <= 0) {
			st->timed_out = true;
			return;
		}
		if (poll(p, 4, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			st->timed_out = true;
			return;
		}
		if (p[3].revents) {
			st->stopped = true;
			return;
		}
		if (p[2].revents && client_left(fd)) {
			st->client_gone = true;
			return;
		}
		if (p[1].revents) {
			n = read(err_r, buf, sizeof(buf));
			if (n > 0 && st->err_len < sizeof(st->err) - 1) {
				size_t take = (size_t)n < sizeof(st->err) - 1 - st->err_len
						      ? (size_t)n
						      : sizeof(st->err) - 1 - st->err_len;

				memcpy(st->err + st->err_len, buf, take);
				st->err_len += take;
				st->err[st->err_len] = '\0';
			} else if (n == 0) {
				err_r = -1; /* poll ignores it from now on */
			}
		}
		if (!p[0].revents)
			continue;
		n = read(out_r, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			st->ended = true;
			return;
		}
		deadline = cw_http_now_ms() + STREAM_IDLE_MS;
		if (!st->header_sent) {
			const char *h = chunked ? head11 : head10;

			if (cw_http_send_all(fd, h, strlen(h), deadline) < 0) {
				st->client_gone = true;
				return;
			}
			st->header_sent = true;
		}
		if (send_chunk(fd, chunked, buf, (size_t)n, deadline) < 0) {
			st->client_gone = true;
			return;
		}
		st->bytes += (size_t)n;
	}
}

/* The last line the recorder said, for the 500's body. */
static const char *last_line(char *err)
{
	char *end = err + strlen(err), *start;

	while (end > err && end[-1] == '\n')
		*--end = '\0';
	start = strrchr(err, '\n');
	return start ? start + 1 : err;
}

static void record(struct cw_tl_http_server *s, int fd, bool chunked,
		   const struct cw_tl_http_params *p, const struct cw_auth_peer *peer)
{
	static const char *const frames[] = {[CW_TL_FRAMES_ROOT] = "root",
					     [CW_TL_FRAMES_LEAF] = "leaf",
					     [CW_TL_FRAMES_NO] = "no"};
	char a_pid[32], a_seconds[48], a_hz[32], a_frames[32], text[1200], extra[64];
	char *argv[] = {"crashwatch", "timeline", a_pid,	a_seconds,
			a_hz,	      a_frames,	  "--output=-", NULL};
	int out[2] = {-1, -1}, err[2] = {-1, -1}, slot, status;
	int64_t retry;
	struct stream st = {0};
	pid_t child;

	slot = take_slot(s, cw_http_now_ms() + (int64_t)(p->seconds * 1000), &retry);
	if (slot < 0) {
		snprintf(extra, sizeof(extra), "Retry-After: %" PRId64 "\r\n", retry);
		snprintf(text, sizeof(text),
			 "busy: %d recordings are running; try again in %" PRId64 " s\n",
			 CW_TL_HTTP_MAX_RECORDINGS, retry);
		refuse(s, fd, CW_TL_HTTP_BUSY, "503 Service Unavailable", extra, text);
		return;
	}
	snprintf(a_pid, sizeof(a_pid), "--pid=%d", (int)p->pid);
	snprintf(a_seconds, sizeof(a_seconds), "--seconds=%.9g", p->seconds);
	snprintf(a_hz, sizeof(a_hz), "--hz=%u", p->hz);
	snprintf(a_frames, sizeof(a_frames), "--state-frames=%s", frames[p->frames]);
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    (child = spawn(s->self, argv, out[1], err[1])) < 0) {
		snprintf(text, sizeof(text), "failed to start the recording: %s\n",
			 strerror(errno));
		refuse(s, fd, CW_TL_HTTP_FAILED, "500 Internal Server Error", NULL, text);
		goto out;
	}
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	stream(s, fd, chunked, out[0], err[0], p->seconds, &st);
	status = reap(child, st.ended ? EXIT_WAIT_MS : 0);
	/* What it said before it ended may be read only now. */
	while (!st.header_sent && st.err_len < sizeof(st.err) - 1) {
		ssize_t n = read(err[0], st.err + st.err_len, sizeof(st.err) - 1 - st.err_len);

		if (n <= 0)
			break;
		st.err_len += (size_t)n;
		st.err[st.err_len] = '\0';
	}
	if (st.client_gone) {
		count(s, CW_TL_HTTP_CUT_OFF);
	} else if (st.ended && st.header_sent && WIFEXITED(status) && !WEXITSTATUS(status)) {
		if (!chunked || send_chunk(fd, true, "", 0, cw_http_now_ms() + STREAM_IDLE_MS) == 0)
			count(s, CW_TL_HTTP_RECORDINGS);
		else
			count(s, CW_TL_HTTP_CUT_OFF);
	} else if (!st.header_sent) {
		snprintf(text, sizeof(text), "the recording of pid %d failed: %s\n", (int)p->pid,
			 st.stopped	? "the watcher is stopping"
			 : st.timed_out ? "it took too long"
			 : st.err_len	? last_line(st.err)
					: "the recorder ended with nothing to say");
		refuse(s, fd, CW_TL_HTTP_FAILED,
		       st.stopped ? "503 Service Unavailable" : "500 Internal Server Error", NULL,
		       text);
	} else {
		/* Half a trace: no last chunk, so the client can tell. */
		count(s, CW_TL_HTTP_FAILED);
	}
	fprintf(stderr,
		"crashwatch: timeline of pid %d (%gs at %u Hz) for uid %u (pid %d): %s, %zu "
		"bytes\n",
		(int)p->pid, p->seconds, p->hz, (unsigned)peer->uid, (int)peer->pid,
		st.client_gone	 ? "the client left"
		: st.stopped	 ? "stopped"
		: st.timed_out	 ? "took too long, killed"
		: st.header_sent ? "served"
				 : "failed",
		st.bytes);
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	give_slot(s, slot);
}

static void serve_client(struct cw_tl_http_server *s, int fd)
{
	char buf[CW_HTTP_HEAD_MAX], body[768], why[512];
	struct cw_tl_http_params p;
	struct cw_http_request r;
	struct cw_auth_peer peer;
	size_t end;
	int err = cw_http_read_head(fd, buf, sizeof(buf), &end, cw_http_now_ms() + HEAD_DEADLINE_MS,
				    s->stop_fd);

	count(s, CW_TL_HTTP_REQUESTS);
	if (err == -E2BIG) {
		refuse(s, fd, CW_TL_HTTP_BAD, "431 Request Header Fields Too Large", NULL,
		       "request head too large\n");
		return;
	}
	if (err < 0) {
		count(s, CW_TL_HTTP_CUT_OFF);
		return;
	}
	if (cw_http_request_parse(buf, end, &r) < 0) {
		refuse(s, fd, CW_TL_HTTP_BAD, "400 Bad Request", NULL, "malformed request\n");
		return;
	}
	if (strcmp(r.path, path)) {
		refuse(s, fd, CW_TL_HTTP_BAD, "404 Not Found", NULL,
		       "not found: timelines are at /debug/timeline?pid=PID&seconds=S&hz=N\n");
		return;
	}
	if (strcmp(r.method, "GET")) {
		refuse(s, fd, CW_TL_HTTP_BAD, "405 Method Not Allowed", "Allow: GET\r\n",
		       "only GET /debug/timeline is served\n");
		return;
	}
	if (cw_tl_http_params_parse(r.query, &p, body, sizeof(body)) < 0) {
		refuse(s, fd, CW_TL_HTTP_BAD, "400 Bad Request", NULL, body);
		return;
	}
	if (cw_http_peer(fd, s->l.family, &peer, why, sizeof(why)) < 0) {
		snprintf(body, sizeof(body), "refused: %s\n", why);
		refuse(s, fd, CW_TL_HTTP_REFUSED, "403 Forbidden", NULL, body);
		return;
	}
	err = cw_auth_check(&peer, p.pid, why, sizeof(why));
	if (err == -ESRCH) {
		snprintf(body, sizeof(body), "%s\n", why);
		refuse(s, fd, CW_TL_HTTP_BAD, "404 Not Found", NULL, body);
		return;
	}
	if (err < 0) {
		snprintf(body, sizeof(body), "refused: %s\n", why);
		refuse(s, fd, CW_TL_HTTP_REFUSED, "403 Forbidden", NULL, body);
		fprintf(stderr, "crashwatch: refused a timeline of pid %d to uid %u (pid %d): %s\n",
			(int)p.pid, (unsigned)peer.uid, (int)peer.pid, why);
		return;
	}
	record(s, fd, r.minor == 1, &p, &peer);
}

static void *conn_main(void *arg)
{
	struct cw_tl_http_conn *c = arg;

	serve_client(c->s, c->fd);
	close(c->fd);
	pthread_mutex_lock(&c->s->lock);
	c->done = true;
	pthread_mutex_unlock(&c->s->lock);
	return NULL;
}

/* A free connection slot, its finished thread joined; NULL when all are in use. */
static struct cw_tl_http_conn *free_conn(struct cw_tl_http_server *s)
{
	struct cw_tl_http_conn *got = NULL;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < CW_TL_HTTP_MAX_CONNS && !got; i++) {
		struct cw_tl_http_conn *c = &s->conns[i];

		if (c->busy && c->done) {
			pthread_join(c->thread, NULL);
			c->busy = false;
		}
		if (!c->busy)
			got = c;
	}
	pthread_mutex_unlock(&s->lock);
	return got;
}

static void *accept_main(void *arg)
{
	struct cw_tl_http_server *s = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = s->l.fd, .events = POLLIN},
				      {.fd = s->stop_fd, .events = POLLIN}};
		struct cw_tl_http_conn *c;
		int fd, r;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr,
				"crashwatch: the timeline endpoint failed to poll: %s; "
				"/debug/timeline is no longer served\n",
				strerror(errno));
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(s->l.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			continue; /* the client left already, or out of fds for now */
		c = free_conn(s);
		if (!c) {
			count(s, CW_TL_HTTP_REQUESTS);
			refuse(s, fd, CW_TL_HTTP_BUSY, "503 Service Unavailable",
			       "Retry-After: 1\r\n", "busy: too many connections\n");
			close(fd);
			continue;
		}
		*c = (struct cw_tl_http_conn){.s = s, .fd = fd, .busy = true};
		r = pthread_create(&c->thread, NULL, conn_main, c);
		if (r) {
			c->busy = false;
			count(s, CW_TL_HTTP_REQUESTS);
			refuse(s, fd, CW_TL_HTTP_BUSY, "503 Service Unavailable",
			       "Retry-After: 1\r\n", "busy: cannot start a thread now\n");
			close(fd);
		}
	}
}

int cw_tl_http_start(struct cw_tl_http_server *s, const char *spec, char *msg, size_t cap)
{
	sigset_t all, old;
	ssize_t n;
	int r;

	memset(s, 0, sizeof(*s));
	s->stop_fd = -1;
	n = readlink("/proc/self/exe", s->self, sizeof(s->self) - 1);
	if (n < 0) {
		r = -errno;
		snprintf(msg, cap, "failed to find this executable for --http: %s", strerror(-r));
		return r;
	}
	s->self[n] = '\0';
	r = cw_http_listen(spec, "--http", CW_HTTP_LOCAL_ONLY, &s->l, msg, cap);
	if (r < 0)
		return r;
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		r = -errno;
		snprintf(msg, cap, "failed to create the timeline endpoint's eventfd: %s",
			 strerror(-r));
		cw_http_listener_close(&s->l);
		return r;
	}
	pthread_mutex_init(&s->lock, NULL);
	/* Signals are the watcher's loop's to see; the threads and their children inherit this. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&s->thread, NULL, accept_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		snprintf(msg, cap, "failed to start the timeline endpoint's thread: %s",
			 strerror(-r));
		pthread_mutex_destroy(&s->lock);
		close(s->stop_fd);
		s->stop_fd = -1;
		cw_http_listener_close(&s->l);
		return r;
	}
	s->running = s->started = true;
	return 0;
}

void cw_tl_http_stop(struct cw_tl_http_server *s)
{
	uint64_t one = 1;

	if (!s->running)
		return;
	/* Every thread polls it: recordings are killed and reaped, then the threads end. */
	if (write(s->stop_fd, &one, sizeof(one)) < 0) {
		/* Cannot fail on a fresh eventfd; the joins would hang otherwise. */
	}
	pthread_join(s->thread, NULL);
	for (int i = 0; i < CW_TL_HTTP_MAX_CONNS; i++)
		if (s->conns[i].busy)
			pthread_join(s->conns[i].thread, NULL);
	cw_http_listener_close(&s->l);
	close(s->stop_fd);
	s->stop_fd = -1;
	pthread_mutex_destroy(&s->lock);
	s->running = false;
}

void cw_tl_http_emit_counters(struct cw_tl_http_server *s, struct cw_counter_sink *sink)
{
	static const struct {
		const char *name, *help;
	} names[CW_TL_HTTP_NR_COUNTERS] = {
		[CW_TL_HTTP_REQUESTS] = {"timeline_http_requests",
					 "Requests to /debug/timeline (--http)."},
		[CW_TL_HTTP_RECORDINGS] = {"timeline_http_recordings",
					   "Timelines served whole over --http."},
		[CW_TL_HTTP_BAD] = {"timeline_http_bad_requests",
				    "--http requests refused as malformed (400, 404, 405, 431)."},
		[CW_TL_HTTP_REFUSED] = {"timeline_http_refused",
					"--http requests refused: not the asker's to trace (403)."},
		[CW_TL_HTTP_BUSY] = {"timeline_http_busy",
				     "--http requests turned away: too many at once (503)."},
		[CW_TL_HTTP_FAILED] = {"timeline_http_failed",
				       "--http recordings that failed, overran or were stopped."},
		[CW_TL_HTTP_CUT_OFF] = {"timeline_http_cut_off",
					"--http clients that left or were too slow."},
	};

	if (!s->started)
		return;
	for (int i = 0; i < CW_TL_HTTP_NR_COUNTERS; i++)
		cw_sink_counter(sink, names[i].name, names[i].help,
				__atomic_load_n(&s->counters[i], __ATOMIC_RELAXED));
}
