// SPDX-License-Identifier: MIT
/*
 * What one C++ throw-and-catch costs: N of them, the median ns of 5 rounds on
 * stdout.  bench/cxx_throw.sh runs it alone and with an empty uprobe on
 * __cxa_throw (what probing every throw would add to every C++ program).
 */
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

__attribute__((noinline)) static void thrower(int i)
{
	throw std::runtime_error(i & 1 ? "odd" : "even");
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? std::atoi(argv[1]) : 200000;
	std::vector<double> rounds;
	long caught = 0;

	for (int r = 0; r < 5; r++) {
		auto t0 = std::chrono::steady_clock::now();

		for (int i = 0; i < n; i++) {
			try {
				thrower(i);
			} catch (const std::exception &e) {
				caught += e.what()[0];
			}
		}
		rounds.push_back(std::chrono::duration<double, std::nano>(
					 std::chrono::steady_clock::now() - t0)
					 .count() /
				 n);
	}
	std::sort(rounds.begin(), rounds.end());
	std::printf("%.0f\n", rounds[2]);
	return caught ? 0 : 1;
}
