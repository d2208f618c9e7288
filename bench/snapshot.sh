#!/usr/bin/env bash
# Snapshot speed: crashwatch-snapshot's total time and target pause against
# `eu-stack -p PID` and `gdb -p PID -batch -ex 'thread apply all bt'`, on the
# same parked target with 1, 16 and 128 threads, in one run.  Medians.
# Like against like: with source lines (crashwatch's default) against
# `eu-stack -s`, without (--no-source) against plain `eu-stack`; gdb always
# reads the debug info.  "cw+srv": with lines, through a symbol server
# (--symbolizer) already warm with the target's modules.
# Usage: make bench-snapshot   (RUNS=N, default 7)
set -euo pipefail
build=${CW_BUILD:-build}
runs=${RUNS:-7}
target=
dir=$(mktemp -d)
sock=$dir/sym.sock
trap '[ -n "$target" ] && kill "$target" 2>/dev/null; exec {life}>&- 2>/dev/null; wait; rm -rf "$dir"' EXIT

# The symbol server lives while its stdin (a fifo held open here) does.
mkfifo "$dir/life"
"$build/crashwatch-snapshot" --symbol-server="$sock" <"$dir/life" 2>"$dir/server.log" &
exec {life}>"$dir/life"
until [ -S "$sock" ]; do sleep 0.01; done

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ms() { # ms COMMAND...: wall time in ms of a command that must succeed
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; exit 1; }
	t1=$(date +%s%N)
	echo "scale=2; ($t1 - $t0) / 1000000" | bc
}

echo "times in ms; pause: crashwatch's target pause; x: how many times faster crashwatch is"
printf '%-7s %8s %9s %8s %11s %10s %12s %9s %9s %8s %8s\n' threads 'pause' 'cw+lines' 'cw+srv' \
	'eu-stack -s' 'cw' 'eu-stack' 'gdb' 'x eu -s' 'x eu' 'x gdb'
for n in 1 16 128; do
	out=$(mktemp)
	"$build/tests/targets/parked_threads" "$n" >"$out" &
	target=$!
	until grep -q '^ready=1' "$out"; do sleep 0.01; done
	pause="" total="" srv="" eus="" fast="" eu="" gdb=""
	# Warm: the server loads this executable's and libc's debug info once, here.
	if "$build/crashwatch-snapshot" --symbolizer="$sock" --output=- "$target" 2>&1 >/dev/null |
		grep 'symbol server'; then
		echo "bench: the symbol server did not answer" >&2
		exit 1
	fi
	for _ in $(seq "$runs"); do
		snap=$("$build/crashwatch-snapshot" --output=- "$target")
		[ "$(grep -c '"tid"' <<<"$snap")" = "$n" ] || { echo "bench: wrong thread count" >&2; exit 1; }
		pause+="$(grep -o '"pause_ms": [0-9.e-]*' <<<"$snap" | cut -d' ' -f2) "
		total+="$(ms "$build/crashwatch-snapshot" --output=- "$target") "
		srv+="$(ms "$build/crashwatch-snapshot" --symbolizer="$sock" --output=- "$target") "
		eus+="$(ms eu-stack -s -p "$target") "
		fast+="$(ms "$build/crashwatch-snapshot" --no-source --output=- "$target") "
		eu+="$(ms eu-stack -p "$target") "
		gdb+="$(ms gdb -nx -batch -p "$target" -ex 'thread apply all bt') "
	done
	kill "$target"
	wait "$target" 2>/dev/null || true
	target=
	rm -f "$out"
	p=$(echo "$pause" | median) t=$(echo "$total" | median) es=$(echo "$eus" | median)
	sv=$(echo "$srv" | median)
	f=$(echo "$fast" | median) e=$(echo "$eu" | median) g=$(echo "$gdb" | median)
	printf '%-7s %8.3f %9.1f %8.1f %11.1f %10.1f %12.1f %9.1f %8.1fx %7.1fx %7.1fx\n' "$n" "$p" \
		"$t" "$sv" "$es" "$f" "$e" "$g" "$(echo "$es / $t" | bc -l)" "$(echo "$e / $f" | bc -l)" \
		"$(echo "$g / $t" | bc -l)"
done
