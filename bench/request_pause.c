// SPDX-License-Identifier: MIT
/*
 * The pause a program sees when it asks for a snapshot of itself, measured
 * from inside: one thread spins reading CLOCK_MONOTONIC and keeps the
 * longest gap between two readings (the time it was stopped, plus being
 * scheduled again); THREADS-2 more threads sleep in read(); the main thread
 * asks, RUNS times, and prints the longest gap seen during each ask.
 *
 *   request_pause crashwatch THREADS RUNS   libcrashwatch, waiting for the path
 *   request_pause eu-stack THREADS RUNS     the seed's way: the program runs a
 *   request_pause gdb THREADS RUNS          debugger on itself and waits for it
 *   request_pause rate THREADS SECONDS      waited requests back to back (CALLER_ONLY):
 *                                           how many a second
 *
 * Prints "idle_gap_us=", then per run "run=I gap_us= total_ms= pause_ms=" (pause_ms:
 * the snapshot's own capture.pause_ms, crashwatch only).
 */
#include <crashwatch/client.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static atomic_long longest_ns; /* reset by the main thread, raised by the spinner */
static atomic_bool spinning;
static int never[2];

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void *spin(void *arg)
{
	long prev = now_ns();

	(void)arg;
	atomic_store(&spinning, true);
	for (;;) {
		long t = now_ns(), gap = t - prev,
		     seen = atomic_load_explicit(&longest_ns, memory_order_relaxed);

		if (gap > seen)
			atomic_store_explicit(&longest_ns, gap, memory_order_relaxed);
		prev = t;
	}
	return NULL;
}

static void *park(void *arg)
{
	char c;

	(void)arg;
	while (read(never[0], &c, 1) != 0)
		;
	return NULL;
}

/* The snapshot's capture.pause_ms, read from its file; -1 when not found. */
static double doc_pause_ms(const char *path)
{
	static char buf[1 << 22];
	FILE *f = fopen(path, "r");
	size_t n;
	char *p;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strstr(buf, "\"pause_ms\":");
	return p ? strtod(p + 11, NULL) : -1;
}

/* A debugger on this process, waited for; its output thrown away. */
static int run_debugger(const char *how)
{
	char pid[16];
	char *gdb[] = {"gdb", "-batch", "-nx", "-p", pid, "-ex", "thread apply all bt", NULL};
	char *eu[] = {"eu-stack", "-p", pid, NULL};
	posix_spawn_file_actions_t fa;
	pid_t child;
	int st, r;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&child, how[0] == 'g' ? "gdb" : "eu-stack", &fa, NULL,
			 how[0] == 'g' ? gdb : eu, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r)
		return -r;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "crashwatch";
	int threads = argc > 2 ? atoi(argv[2]) : 16, runs = argc > 3 ? atoi(argv[3]) : 7;
	struct crashwatch_result r;
	pthread_t t;

	if (threads < 2 || runs < 1 || pipe(never) < 0) {
		fprintf(stderr, "usage: request_pause crashwatch|eu-stack|gdb|rate THREADS RUNS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < threads - 2; i++)
		if (pthread_create(&t, NULL, park, NULL) != 0) {
			fprintf(stderr, "request_pause: failed to start thread %d\n", i);
			return 1;
		}
	pthread_create(&t, NULL, spin, NULL);
	while (!atomic_load(&spinning))
		usleep(1000);
	usleep(200000);
	/* The floor: what the spinner sees with nobody stopping it. */
	atomic_store(&longest_ns, 0);
	usleep(500000);
	printf("threads=%d\nidle_gap_us=%.1f\n", threads, atomic_load(&longest_ns) / 1e3);
	if (strcmp(how, "rate") == 0) {
		struct crashwatch_options o = {.flags = CRASHWATCH_CALLER_ONLY};
		long t0 = now_ns(), n = 0, fail = 0;

		while (now_ns() - t0 < (long)runs * 1000000000L)
			if (crashwatch_trace(&o, &r) == CRASHWATCH_WRITTEN)
				n++;
			else if (fail++ == 0)
				fprintf(stderr, "request_pause: %s: %s\n",
					crashwatch_status_name(r.status), r.text);
		printf("written=%ld\nfailed=%ld\nper_second=%.1f\n", n, fail,
		       n / ((now_ns() - t0) / 1e9));
		return 0;
	}
	for (int i = 0; i < runs; i++) {
		long t0;
		double total, pause = -1;

		usleep(100000);
		atomic_store(&longest_ns, 0);
		t0 = now_ns();
		if (strcmp(how, "crashwatch") == 0) {
			if (crashwatch_trace(&(struct crashwatch_options){.timeout_ms = 60000},
					     &r) != CRASHWATCH_WRITTEN) {
				fprintf(stderr, "request_pause: %s: %s\n",
					crashwatch_status_name(r.status), r.text);
				return 1;
			}
		} else if (run_debugger(how) < 0) {
			fprintf(stderr, "request_pause: cannot run %s\n", how);
			return 1;
		}
		total = (now_ns() - t0) / 1e6;
		if (strcmp(how, "crashwatch") == 0)
			pause = doc_pause_ms(r.text);
		printf("run=%d gap_us=%.1f total_ms=%.1f pause_ms=%.3f\n", i,
		       atomic_load(&longest_ns) / 1e3, total, pause);
	}
	return 0;
}
