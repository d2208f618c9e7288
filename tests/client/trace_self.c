// SPDX-License-Identifier: MIT
/*
 * A program that asks the watcher for snapshots of itself through
 * libcrashwatch (include/crashwatch/client.h), as a user of the library
 * would: built against build/libcrashwatch.a and .so, nothing else of
 * crashwatch.  MODE:
 *   basic THREADS        parks THREADS-1 threads, asks once with attributes,
 *                        classifiers, an error and its type (caller faulted)
 *   caller-only THREADS  the calling thread alone
 *   not-faulted THREADS  no thread marked
 *   no-wait THREADS      queued, not waited for
 *   signal THREADS       a worker raises SIGUSR2; its handler asks with the
 *                        socket prepared at start (nothing allocated there)
 *   flood SECONDS        asks as fast as it can (no wait), counts the answers
 * Prints KEY=VALUE lines: status=, text=, tid= (the asking thread), tids=.
 */
#include <crashwatch/client.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int never[2];
static pthread_barrier_t parked;
static struct crashwatch_conn conn; /* prepared at start for the handler */
static struct crashwatch_result handler_result;
static volatile sig_atomic_t handler_tid, handler_done;

static void *park(void *arg)
{
	char c;

	(void)arg;
	pthread_barrier_wait(&parked);
	while (read(never[0], &c, 1) != 0)
		;
	return NULL;
}

static const struct crashwatch_kv kv[] = {{"build", "42"}, {"component", "trace-self"}};
static const char *const classifiers[] = {"from-libcrashwatch", "test"};

static void on_usr2(int sig)
{
	struct crashwatch_options o = {
		.kv = kv,
		.n_kv = 2,
		.classifiers = classifiers,
		.n_classifiers = 2,
		.error_message = "asked from a signal handler",
		.error_type = "SignalHandlerTrace",
		.timeout_ms = 20000,
	};

	(void)sig;
	handler_tid = (sig_atomic_t)syscall(SYS_gettid);
	crashwatch_trace_prepared(&conn, &o, &handler_result);
	handler_done = 1;
}

static void *raise_usr2(void *arg)
{
	(void)arg;
	pthread_kill(pthread_self(), SIGUSR2);
	return NULL;
}

static void say(const struct crashwatch_result *r, long tid)
{
	printf("status=%d\nstatus_name=%s\ndetail=%d\ntext=%s\ntid=%ld\n", r->status,
	       crashwatch_status_name(r->status), r->detail, r->text, tid);
}

static int flood(double seconds)
{
	struct crashwatch_options o = {.flags = CRASHWATCH_NO_WAIT | CRASHWATCH_CALLER_ONLY};
	struct crashwatch_result r;
	unsigned counts[CW_STATUS_NR] = {0}, n = 0;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		crashwatch_trace(&o, &r);
		if ((unsigned)r.status < CW_STATUS_NR)
			counts[r.status]++;
		n++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
	printf("requests=%u\n", n);
	for (unsigned s = 0; s < CW_STATUS_NR; s++)
		printf("count_%u=%u\n", s, counts[s]);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "basic";
	int n = argc > 2 ? atoi(argv[2]) : 4;
	struct crashwatch_options o = {
		.kv = kv,
		.n_kv = 2,
		.classifiers = classifiers,
		.n_classifiers = 2,
		.error_message = "queue stalled for 5 s",
		.error_type = "QueueStall",
		.timeout_ms = 20000,
	};
	struct crashwatch_result r;
	pthread_t t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "flood") == 0)
		return flood(atof(argv[2]));
	if (n < 1 || pipe(never) < 0)
		return 2;
	pthread_barrier_init(&parked, NULL, (unsigned)n);
	for (int i = 1; i < n; i++)
		if (pthread_create(&t, NULL, park, NULL) != 0)
			return 2;
	pthread_barrier_wait(&parked);
	printf("pid=%d\n", (int)getpid());
	if (strcmp(mode, "signal") == 0) {
		struct sigaction sa = {.sa_handler = on_usr2};

		if (crashwatch_prepare(&conn, NULL) < 0)
			return 3;
		sigaction(SIGUSR2, &sa, NULL);
		pthread_create(&t, NULL, raise_usr2, NULL);
		pthread_join(t, NULL);
		if (!handler_done)
			return 4;
		say(&handler_result, (long)handler_tid);
		printf("prepared_again=%d\n", conn.fd >= 0);
		crashwatch_close(&conn);
		return handler_result.status == CRASHWATCH_WRITTEN ? 0 : 1;
	}
	if (strcmp(mode, "caller-only") == 0)
		o.flags |= CRASHWATCH_CALLER_ONLY;
	else if (strcmp(mode, "not-faulted") == 0)
		o.flags |= CRASHWATCH_NOT_FAULTED;
	else if (strcmp(mode, "no-wait") == 0)
		o.flags |= CRASHWATCH_NO_WAIT;
	else if (strcmp(mode, "basic") != 0)
		return 2;
	crashwatch_trace(&o, &r);
	say(&r, (long)syscall(SYS_gettid));
	return r.status == CRASHWATCH_WRITTEN || r.status == CRASHWATCH_QUEUED ? 0 : 1;
}
