// SPDX-License-Identifier: MIT
/*
 * Exec storm: spawn N processes that each exec a program (the PROGRAMs in
 * turn, /bin/true by default) and reap them.  Prints µs per process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
	char *dflt[] = {"/bin/true"};
	char **progs = argc > 2 ? argv + 2 : dflt;
	int nprogs = argc > 2 ? argc - 2 : 1;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		char *prog = progs[i % nprogs];
		pid_t pid = fork();
		int status;

		if (pid < 0) {
			perror("exec_storm: fork");
			return 1;
		}
		if (pid == 0) {
			execl(prog, prog, (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "exec_storm: %s did not exit 0 (status %d)\n", prog,
				status);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.2f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0);
	return 0;
}
