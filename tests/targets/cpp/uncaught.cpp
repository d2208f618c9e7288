// SPDX-License-Identifier: MIT
/*
 * An uncaught C++ exception, thrown on a worker thread: std::terminate()
 * aborts.  The argument says which: "runtime" a std::runtime_error,
 * "system" a std::system_error (ECONNREFUSED), "range" a std::out_of_range
 * (vector::at), "struct" a type of its own (no std::exception), "int" 42.
 */
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

#define NOINLINE __attribute__((noinline))

namespace billing {
struct Declined {
	int code;
};
} // namespace billing

NOINLINE static void fail(const char *how)
{
	if (std::strcmp(how, "system") == 0)
		throw std::system_error(ECONNREFUSED, std::generic_category(), "connect");
	if (std::strcmp(how, "range") == 0) {
		std::vector<int> v(3);
		std::printf("%d\n", v.at(7));
	}
	if (std::strcmp(how, "struct") == 0)
		throw billing::Declined{7};
	if (std::strcmp(how, "int") == 0)
		throw 42;
	throw std::runtime_error("connection refused");
}

NOINLINE static void connect_upstream(const char *how)
{
	fail(how);
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "runtime";

	std::printf("pid=%d\n", (int)getpid());
	std::fflush(stdout);
	std::thread worker([how] { connect_upstream(how); });
	worker.join();
	return 0;
}
