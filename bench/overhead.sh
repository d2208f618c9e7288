#!/usr/bin/env bash
# Host overhead of the watcher, side by side in one run: each storm with
# nothing attached, with empty BPF programs on the same tracepoints (the
# floor: what attaching anything there costs), and with crashwatch watching.
# Modes are interleaved round by round so drift hits all alike; medians.
# With FLIGHT=1, two more modes and an exec storm: a --hold watcher, and
# one with --flight-recorder=30 too, both scoped to an empty cgroup (nothing
# in scope runs: what the recorder's programs cost everything else), or
# with FLIGHT_SCOPE=host to the whole host (the storms recorded).
# Usage: make bench   (ROUNDS=N, default 7; FLIGHT=1 [FLIGHT_SCOPE=host])
set -euo pipefail
build=${CW_BUILD:-build}
rounds=${ROUNDS:-7}
flight=${FLIGHT:-0}
log=$(mktemp)
tmp=$(mktemp -d)
pid=
cgroup=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$cgroup" ] && rmdir "$cgroup"
	rm -rf "$log" "$tmp"
}
trap cleanup EXIT

scope=()
if [ "$flight" = 1 ] && [ "${FLIGHT_SCOPE:-empty}" != host ]; then
	cg2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
	[ -n "$cg2" ] || { echo "bench: no cgroup v2 mount for FLIGHT=1" >&2; exit 1; }
	cgroup=$cg2/cw-bench-empty-$$
	mkdir "$cgroup"
	scope=("--cgroup=/cw-bench-empty-$$")
fi

attach() { # attach MODE: start what the mode runs and wait until it is attached
	case $1 in
	floor) "$build/bench/floor" 2>"$log" & ready='attached' ;;
	crashwatch) "$build/crashwatch" watch --no-stack >/dev/null 2>"$log" & ready='crashwatch: watching' ;;
	hold) "$build/crashwatch" watch --no-stack --hold --spool="$tmp/spool" "${scope[@]}" \
		>/dev/null 2>"$log" & ready='crashwatch: watching' ;;
	flight) "$build/crashwatch" watch --no-stack --hold --spool="$tmp/spool" "${scope[@]}" \
		--flight-recorder=30 >/dev/null 2>"$log" & ready='crashwatch: watching' ;;
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
	if [ "$1" != floor ] && ! grep -q 'dropped_ringbuf_full=0' "$log"; then
		echo "bench: the watcher lost events:" >&2
		cat "$log" >&2
		exit 1
	fi
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
pct() { echo "($2 - $1) * 100 / $1" | bc -l; }

modes="detached floor crashwatch"
benches="signal fork"
if [ "$flight" = 1 ]; then
	modes="$modes hold flight"
	benches="$benches exec"
fi
declare -A runs
for r in $(seq "$rounds"); do
	for mode in $modes; do
		[ "$mode" != detached ] && attach "$mode"
		runs[signal_$mode]+="$("$build/bench/signal_storm" 1000000) "
		runs[fork_$mode]+="$("$build/bench/fork_storm" 20000) "
		[ "$flight" = 1 ] && runs[exec_$mode]+="$("$build/bench/exec_storm" 2000) "
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
[ "$flight" = 1 ] || exit 0
echo
echo "watch --hold ${scope[*]:-(whole host)}, without and with --flight-recorder=30, medians"
printf '%-44s %10s %10s %10s %12s\n' benchmark detached hold flight 'flight vs hold'
for b in $benches; do
	d=$(echo "${runs[${b}_detached]}" | median)
	h=$(echo "${runs[${b}_hold]}" | median)
	f=$(echo "${runs[${b}_flight]}" | median)
	case $b in
	signal) name="signal storm: 1,000,000 SIGUSR1 (ns/signal)" ;;
	fork) name="fork/exit storm: 20,000 processes (us/proc)" ;;
	exec) name="exec storm: 2,000 execs of /bin/true (us)" ;;
	esac
	printf '%-44s %10s %10s %10s %13.2f%%\n' "$name" "$d" "$h" "$f" "$(pct "$h" "$f")"
done
