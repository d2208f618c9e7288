#!/usr/bin/env bash
# What following other mount namespaces' libcs costs at exec (watch --hold's
# tp_btf/sched_process_exec program): exec storms with nothing attached, with
# a BASE watcher (one without that program, e.g. an older build) if given,
# and with this watcher, interleaved round by round; medians.  Then the
# program's own cost from the kernel's BPF statistics (kernel.bpf_stats_enabled
# is set for that run and put back).
# Storms: one executable exec'd again and again (the table answers "seen"),
# and COPIES distinct copies of it in turn (each new: a record, and the
# watcher looks for its libc and whether it is Go); then GO_COPIES copies of
# a static Go executable that exits at once (each new: a record, recognised
# as Go, its runtime probed, up to --max-go-binaries).
# Usage: make bench-exec   (ROUNDS=N default 7, N=execs per storm default 2000,
#                           COPIES default 200, BASE=path/to/old/crashwatch,
#                           WATCH_ARGS: more options for both watchers, e.g.
#                           --cgroup=/a-cgroup-the-storm-is-not-in)
set -euo pipefail
build=${CW_BUILD:-build}
rounds=${ROUNDS:-7}
n=${N:-2000}
copies=${COPIES:-200}
go_copies=${GO_COPIES:-50}
base=${BASE:-}
tmp=$(mktemp -d)
pid=
stats_before=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$stats_before" ] && sysctl -qw kernel.bpf_stats_enabled="$stats_before"
	rm -rf "$tmp"
}
trap cleanup EXIT

for i in $(seq "$copies"); do cp /bin/true "$tmp/true$i"; done
copy_list=$(for i in $(seq "$copies"); do echo "$tmp/true$i"; done)
for i in $(seq "$go_copies"); do cp "$build/tests/targets/go_true" "$tmp/go_true$i"; done
go_list=$(for i in $(seq "$go_copies"); do echo "$tmp/go_true$i"; done)

attach() { # attach BINARY: start a --hold watcher and wait until it is attached
	# shellcheck disable=SC2086
	"$1" watch --hold --spool="$tmp/spool" --no-stack ${WATCH_ARGS:-} >/dev/null 2>"$tmp/log" &
	pid=$!
	for _ in $(seq 200); do
		grep -q 'crashwatch: watching' "$tmp/log" && return 0
		sleep 0.05
	done
	echo "bench: $1 did not attach:" >&2
	cat "$tmp/log" >&2
	exit 1
}

detach() {
	kill -TERM "$pid"
	wait "$pid" || { echo "bench: the watcher failed:" >&2; cat "$tmp/log" >&2; exit 1; }
	pid=
}

storms() { # storms MODE: one round of both storms
	runs[same_$1]+="$("$build/bench/exec_storm" "$n") "
	# shellcheck disable=SC2086
	runs[copies_$1]+="$("$build/bench/exec_storm" "$n" $copy_list) "
	# shellcheck disable=SC2086
	runs[go_$1]+="$("$build/bench/exec_storm" "$n" $go_list) "
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
pct() { echo "($2 - $1) * 100 / $1" | bc -l; }

modes="detached ${base:+base} crashwatch"
declare -A runs
for r in $(seq "$rounds"); do
	for mode in $modes; do
		case $mode in
		base) attach "$base" ;;
		crashwatch) attach "$build/crashwatch" ;;
		esac
		storms "$mode"
		[ "$mode" != detached ] && detach
	done
	echo "round $r/$rounds done" >&2
done

# The program's own cost, as the kernel counts it.
stats_before=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
attach "$build/crashwatch"
prog_stats() { # runs and ns of the watcher's on_exec: its prog fds name the program
	local ids
	ids=$(grep -h '^prog_id:' /proc/"$pid"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u)
	bpftool -j prog show | IDS="$ids" python3 -c '
import json, os, sys
ids = set(os.environ["IDS"].split())
for p in json.load(sys.stdin):
    if p.get("name") == "on_exec" and str(p["id"]) in ids:
        print(p.get("run_cnt", 0), p.get("run_time_ns", 0))'
}
read -r c0 t0 <<<"$(prog_stats)"
"$build/bench/exec_storm" "$n" >/dev/null
read -r c1 t1 <<<"$(prog_stats)"
# shellcheck disable=SC2086
"$build/bench/exec_storm" "$n" $copy_list >/dev/null
read -r c2 t2 <<<"$(prog_stats)"
kill -USR1 "$pid"
sleep 0.2
detach
sysctl -qw kernel.bpf_stats_enabled="$stats_before"
stats_before=

echo
echo "kernel $(uname -r), $(nproc) CPUs, $rounds rounds, medians, us per fork+exec+exit"
printf '%-40s %10s %10s %10s %12s\n' storm detached "${base:+base}" crashwatch 'vs detached'
for s in same copies go; do
	d=$(echo "${runs[${s}_detached]}" | median)
	b=$([ -n "$base" ] && echo "${runs[${s}_base]}" | median || true)
	c=$(echo "${runs[${s}_crashwatch]}" | median)
	case $s in
	same) name="$n execs of /bin/true" ;;
	copies) name="$n execs over $copies copies of it" ;;
	go) name="$n execs over $go_copies static Go copies" ;;
	esac
	printf '%-40s %10s %10s %10s %11.2f%%\n' "$name" "$d" "$b" "$c" "$(pct "$d" "$c")"
done
echo
echo "on_exec (kernel.bpf_stats_enabled):"
printf '  same executable: %d runs, %.0f ns/run\n' $((c1 - c0)) "$(echo "($t1 - $t0) / ($c1 - $c0)" | bc -l)"
printf '  %d copies:       %d runs, %.0f ns/run (first runs send a record)\n' "$copies" \
	$((c2 - c1)) "$(echo "($t2 - $t1) / ($c2 - $c1)" | bc -l)"
grep -o 'execs_new=[0-9]* .*go_probes_failed=[0-9]*' "$tmp/log" | tail -1 | sed 's/^/  watcher: /'
