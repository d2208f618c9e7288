#!/bin/sh
# SPDX-License-Identifier: MIT
# Why crashwatch reads an uncaught C++ exception at the abort() hold and probes no throw:
# a C++ throw-and-catch alone, and with an empty uprobe on libstdc++'s __cxa_throw (what a
# probe on every throw, or on the libstdcxx:throw USDT point next to it, would add to
# every C++ program on the host).  Medians of 5 rounds of 200,000 throws.
set -eu
build=${CW_BUILD:-build}
lib=$(ldd "$build/bench/cxx_throw" | awk '/libstdc\+\+/ {print $3}')
log=$(mktemp)
trap 'rm -f "$log"' EXIT

alone=$("$build/bench/cxx_throw")
"$build/bench/floor" "$lib:__cxa_throw" 2>"$log" &
floor=$!
while ! grep -q attached "$log"; do
	kill -0 "$floor" 2>/dev/null || { cat "$log"; exit 1; }
	sleep 0.05
done
probed=$("$build/bench/cxx_throw")
kill -TERM "$floor"
wait "$floor" || true
printf '%-40s %8s ns\n' "throw and catch, no probe" "$alone" \
	"throw and catch, uprobe on __cxa_throw" "$probed"
