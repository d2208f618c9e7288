// SPDX-License-Identifier: MIT
// Throws and catches a C++ exception per line read ("throw"), through libstdc++,
// whose libstdcxx:throw and libstdcxx:catch USDT probes fire; "quit" ends it.
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <unistd.h>

int main()
{
	char line[64];
	int caught = 0;

	std::printf("pid=%d\n", (int)getpid());
	std::fflush(stdout);
	while (std::fgets(line, sizeof(line), stdin) && std::strncmp(line, "quit", 4) != 0) {
		try {
			throw std::runtime_error("thrown on request");
		} catch (const std::exception &e) {
			caught++;
		}
		std::printf("caught=%d\n", caught);
		std::fflush(stdout);
	}
	return 0;
}
