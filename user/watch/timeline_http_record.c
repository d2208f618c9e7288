// SPDX-License-Identifier: MIT
#include "timeline_http_record.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http_conn.h"

/* Beyond its seconds, what a recording may take to start and to write its trace. */
#define RECORDING_GRACE_MS 60000
/* Once the trace flows: the longest wait for the next bytes, either way. */
#define STREAM_IDLE_MS 30000
/* After its trace ended, how long the child may take to exit before it is killed. */
#define EXIT_WAIT_MS 5000

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

void cw_tl_http_record(struct cw_tl_http_server *s, int fd, bool chunked,
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
		cw_tl_http_refuse(s, fd, CW_TL_HTTP_BUSY, "503 Service Unavailable", extra, text);
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
		cw_tl_http_refuse(s, fd, CW_TL_HTTP_FAILED, "500 Internal Server Error", NULL,
				  text);
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
		cw_tl_http_count(s, CW_TL_HTTP_CUT_OFF);
	} else if (st.ended && st.header_sent && WIFEXITED(status) && !WEXITSTATUS(status)) {
		if (!chunked || send_chunk(fd, true, "", 0, cw_http_now_ms() + STREAM_IDLE_MS) == 0)
			cw_tl_http_count(s, CW_TL_HTTP_RECORDINGS);
		else
			cw_tl_http_count(s, CW_TL_HTTP_CUT_OFF);
	} else if (!st.header_sent) {
		snprintf(text, sizeof(text), "the recording of pid %d failed: %s\n", (int)p->pid,
			 st.stopped	? "the watcher is stopping"
			 : st.timed_out ? "it took too long"
			 : st.err_len	? last_line(st.err)
					: "the recorder ended with nothing to say");
		cw_tl_http_refuse(s, fd, CW_TL_HTTP_FAILED,
				  st.stopped ? "503 Service Unavailable"
					     : "500 Internal Server Error",
				  NULL, text);
	} else {
		/* Half a trace: no last chunk, so the client can tell. */
		cw_tl_http_count(s, CW_TL_HTTP_FAILED);
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
