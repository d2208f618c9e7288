#!/usr/bin/env bash
# Host overhead of the watcher, side by side in one run: each storm with
# nothing attached, with empty BPF programs on the same tracepoints (the
# floor: what attaching anything there costs), and with crashwatch watching.
# Modes are interleaved round by round so drift hits all alike; medians.
# Usage: make bench   (ROUNDS=N, default 7)
set -euo pipefail
build=${CW_BUILD:-build}
rounds=${ROUNDS:-7}
log=$(mktemp)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -f "$log"' EXIT

attach() { # attach MODE: start what the mode runs and wait until it is attached
	case $1 in
	floor) "$build/bench/floor" 2>"$log" & ready='attached' ;;
	crashwatch) "$build/crashwatch" watch --no-stack >/dev/null 2>"$log" & ready='crashwatch: watching' ;;
	esac
	pid=$!
	for _ in $(seq 200); do
		grep -q "$ready" "$log" && return 0
		sleep 0.05
	done
	echo "bench: $1 did not attach:" >&2
	cat "$log" >&2
	exit 1
}

detach() {
	kill -TERM "$pid"
	wait "$pid" || { echo "bench: $1 failed:" >&2; cat "$log" >&2; exit 1; }
	pid=
	if [ "$1" = crashwatch ] && ! grep -q 'dropped_ringbuf_full=0' "$log"; then
		echo "bench: the watcher lost events:" >&2
		cat "$log" >&2
		exit 1
	fi
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
pct() { echo "($2 - $1) * 100 / $1" | bc -l; }

modes="detached floor crashwatch"
declare -A runs
for r in $(seq "$rounds"); do
	for mode in $modes; do
		[ "$mode" != detached ] && attach "$mode"
		runs[signal_$mode]+="$("$build/bench/signal_storm" 1000000) "
		runs[fork_$mode]+="$("$build/bench/fork_storm" 20000) "
		[ "$mode" != detached ] && detach "$mode"
	done
	echo "round $r/$rounds done" >&2
done

echo
echo "kernel $(uname -r), $(nproc) CPUs, $rounds rounds, medians"
printf '%-44s %10s %10s %10s %12s %12s\n' benchmark detached floor crashwatch 'vs detached' 'vs floor'
for b in signal fork; do
	d=$(echo "${runs[${b}_detached]}" | median)
	f=$(echo "${runs[${b}_floor]}" | median)
	c=$(echo "${runs[${b}_crashwatch]}" | median)
	case $b in
	signal) name="signal storm: 1,000,000 SIGUSR1 (ns/signal)" ;;
	fork) name="fork/exit storm: 20,000 processes (us/proc)" ;;
	esac
	printf '%-44s %10s %10s %10s %11.2f%% %11.2f%%\n' "$name" "$d" "$f" "$c" "$(pct "$d" "$c")" "$(pct "$f" "$c")"
done
