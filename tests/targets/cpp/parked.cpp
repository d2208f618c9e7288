// SPDX-License-Identifier: MIT
/* A C++ process parked in namespaced, mangled functions: ns::Parked::park(int) under ns::hold<int>(int). */
#include <cstdio>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

namespace ns {

struct Parked {
	NOINLINE static void park(int n)
	{
		std::printf("ready=%d\n", n);
		std::fflush(stdout);
		for (;;)
			pause();
	}
};

template <typename T> NOINLINE void hold(T n)
{
	Parked::park(static_cast<int>(n));
}

} // namespace ns

int main()
{
	ns::hold<int>(1);
	return 0;
}
