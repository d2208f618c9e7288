#!/usr/bin/env bash
# Hold latency of `crashwatch watch --hold` per crash kind (issue 4), medians
# over RUNS crashes of each kind, in ms; one watcher per mode, left running
# through all of them as a daemon would be.
#
# fault→written: from the kernel's record of the crash (the pid's first
#   signal/abort/kill record: bpf_ktime_get_boot_ns, CLOCK_BOOTTIME) to the
#   snapshot renamed into the spool (the tool writes a dot-file, fsyncs it,
#   renames it).  The watcher prints the record's time as UTC to the µs,
#   shifted by the REALTIME-BOOTTIME offset it read at its start;
#   bench/spool_watch reads the offset again a moment later, to shift it back,
#   and stamps each rename it sees (inotify) with CLOCK_BOOTTIME: file times
#   are only as fine as a scheduler tick.
# held: the watcher's snapshot record, held_ms: from the hold's start to the
#   tool's end (SIGSTOP holds: SIGCONT is sent then; the core dump's hold:
#   the process goes on dying once the tool has captured and detached).
# tool pause: the snapshot's capture.pause_ms.
# fault→exit: from the same record to the kernel's exit record: when the
#   parent learns of the death.
# --no-source: the watcher has no option to pass it to the snapshot tool, but
#   takes --snapshot-tool=PATH: that run uses a two-line sh wrapper that
#   execs crashwatch-snapshot --no-source (the extra exec: ~0.5 ms).
# A crash whose snapshot came from another hold point than its kind's usual
# one (a failed hold first, then the core dump's) is a row of its own.
#
# Needs root: the watcher loads BPF programs and owns kernel.core_pattern
# while it runs; on every way out (Ctrl-C too) it is stopped with SIGTERM,
# core_pattern is checked and put back (core-restore), no target is left.
# Usage: make bench-hold   (RUNS=N, default 5)
set -euo pipefail
build=${CW_BUILD:-build}
runs=${RUNS:-5}
hold_timeout=10 # the watcher's --hold-timeout, seconds
kinds=(null_deref null_deref_threads stack_overflow abort assert_fail sigbus sigfpe sigill
	segv_handler_exit wait_for_kill)
# How each ends, as its parent's wait sees it (bash: 128 + signal) -- held or not.
declare -A expect=([null_deref]=139 [null_deref_threads]=139 [stack_overflow]=139 [abort]=134
	[assert_fail]=134 [sigbus]=135 [sigfpe]=136 [sigill]=132 [segv_handler_exit]=42
	[wait_for_kill]=139)

die() {
	echo "bench: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "needs root: the watcher loads BPF programs and sets kernel.core_pattern"
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, not '$runs'"
for f in crashwatch crashwatch-snapshot bench/spool_watch \
	"${kinds[@]/#/tests/targets/}"; do
	[ -x "$build/$f" ] || die "$build/$f missing: run 'make bench-hold'"
done
build=$(cd "$build" && pwd)

pattern=/proc/sys/kernel/core_pattern
pipe_limit=/proc/sys/kernel/core_pipe_limit
saved_pattern=$(cat $pattern) saved_limit=$(cat $pipe_limit)
saved_core="$saved_pattern / $saved_limit"
watchers() { pgrep -a -f '(^|/)crashwatch watch( |$)' || true; }
# Watchers share kernel.core_pattern and /run/crashwatch, and every holding
# watcher holds every crash on the host: another one would spoil both runs.
others=$(watchers)
case $others in
*--hold*) die "another 'crashwatch watch --hold' is running; it would hold these crashes" \
	"too and share kernel.core_pattern with this one:"$'\n'"$others" ;;
?*) echo "bench: another crashwatch watcher is running (it adds its own work):" \
	"$others" >&2 ;;
esac
case $saved_core in
*core-handler*) die "kernel.core_pattern is a crashwatch core handler ($saved_core) with no" \
	"watcher running: run $build/crashwatch core-restore" ;;
esac

t0=$EPOCHREALTIME
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crashwatch-bench-hold.XXXXXX")
spool=$tmp/spool
w_out=$tmp/watch.out w_err=$tmp/watch.err h_out=$tmp/spool_watch.out h_err=$tmp/spool_watch.err
w_pid='' w_start='' h_pid='' l_pid='' t_pid=''

# starttime PID: the process's start time (field 22 of its stat), empty if gone
starttime() {
	local stat f
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	read -r -a f <<<"${stat##*) }"
	echo "${f[19]}"
}

# running PID START: that process (not a later one with its pid) runs, not a zombie
running() {
	local stat f
	[ -n "$1" ] && [ -n "$2" ] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	read -r -a f <<<"${stat##*) }"
	[ "${f[0]}" != Z ] && [ "${f[19]}" = "$2" ]
}

# within SECONDS COMMAND...: run COMMAND every 10 ms until it succeeds; 1 if it never did
within() {
	local deadline=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	until "$@"; do
		[ "${EPOCHREALTIME/./}" -lt "$deadline" ] || return 1
		sleep 0.01
	done
}

not() { ! "$@"; }

core_settings() { echo "$(cat $pattern) / $(cat $pipe_limit)"; }

stop_spool_watch() {
	[ -n "$h_pid" ] || return 0
	kill "$h_pid" 2>/dev/null || true
	wait "$h_pid" 2>/dev/null || true
	h_pid=''
}

# stop_watcher: SIGTERM, then SIGKILL if it does not end (a hold ends within
# --hold-timeout); 0 if it exited 0 and gave the core settings back
stop_watcher() {
	local rc=0
	[ -n "$w_pid" ] || return 0
	kill -TERM "$w_pid" 2>/dev/null || true
	if ! within $((hold_timeout + 10)) not running "$w_pid" "$w_start"; then
		echo "bench: the watcher did not stop on SIGTERM; killing it" >&2
		kill -KILL "$w_pid" 2>/dev/null || true
	fi
	wait "$w_pid" || rc=$?
	w_pid=''
	stop_spool_watch
	give_back_core || rc=1
	return $rc
}

# give_back_core: 0 if the core settings are as they were before; else put
# them back (core-restore, then by hand) and 1 -- unless another watcher runs
# now: they are its own then, and taking them would break it.
give_back_core() {
	local others
	[ "$(core_settings)" != "$saved_core" ] || return 0
	others=$(watchers)
	if [ -n "$others" ]; then
		echo "bench: kernel.core_pattern / core_pipe_limit is '$(core_settings)', was" \
			"'$saved_core'; left to the watcher that runs now:"$'\n'"$others" >&2
		return 1
	fi
	echo "bench: the watcher left kernel.core_pattern / core_pipe_limit at" \
		"'$(core_settings)', not '$saved_core'; putting it back" >&2
	"$build/crashwatch" core-restore >&2 || true
	if [ "$(core_settings)" != "$saved_core" ]; then
		printf '%s\n' "$saved_pattern" >$pattern
		printf '%s\n' "$saved_limit" >$pipe_limit
	fi
	[ "$(core_settings)" = "$saved_core" ] ||
		echo "bench: could not: put '$saved_core' back by hand (README)" >&2
	return 1
}

cleanup() {
	local rc=$?
	set +e
	trap - INT TERM
	if [ -n "$t_pid" ]; then # a target cut short: never left stopped
		kill -CONT "$t_pid" 2>/dev/null
		kill -KILL "$t_pid" 2>/dev/null
	fi
	[ -n "$l_pid" ] && wait "$l_pid" 2>/dev/null
	stop_watcher || rc=1
	stop_spool_watch
	give_back_core || rc=1
	rm -rf "$tmp"
	exit $rc
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT
trap 'echo "bench: terminated" >&2; exit 143' TERM

mkdir "$spool"
printf '#!/bin/sh\nexec %q --no-source "$@"\n' "$build/crashwatch-snapshot" >"$tmp/snapshot-no-source"
chmod +x "$tmp/snapshot-no-source"

watching() {
	grep -q '^crashwatch: watching' "$w_err" && return 0
	running "$w_pid" "$w_start" || die "the watcher exited: $(cat "$w_err")"
	return 1
}

# start_watcher MODE: the watcher holding, and spool_watch on its spool
start_watcher() {
	local tool=()
	[ "$1" = no-source ] && tool=(--snapshot-tool="$tmp/snapshot-no-source")
	# In a session of its own: Ctrl-C reaches this script only, which stops
	# the watcher (SIGTERM) once no crash is in flight.  Not a process group
	# leader, setsid execs the watcher in place: $! is the watcher.
	# Every crash here is one to measure: no dedup, no rate limit, no config file.
	setsid "$build/crashwatch" watch --config= --hold --json --hold-timeout="$hold_timeout" \
		--dedup-window=0 --rate-limit=0 --spool="$spool" "${tool[@]}" >"$w_out" 2>"$w_err" &
	w_pid=$!
	w_start=$(starttime "$w_pid")
	within 30 watching || die "the watcher did not start within 30 s: $(cat "$w_err")"
	grep -q 'at generation' "$w_err" ||
		echo "bench: this kernel has no hold at generation: kill -SEGV is held in its core dump" >&2
	"$build/bench/spool_watch" "$spool" >"$h_out" 2>"$h_err" &
	h_pid=$!
	within 5 grep -q '^offset_ns=' "$h_out" || die "spool_watch did not start: $(cat "$h_err")"
	offset=$(sed -n 's/^offset_ns=//p' "$h_out")
	ours=$(cat $pattern)
	[[ $ours == "|$build/crashwatch core-handler "* ]] ||
		die "the watcher did not install its core handler: core_pattern is '$ours'"
}

still_ours() {
	[ "$(cat $pattern)" = "$ours" ] ||
		die "kernel.core_pattern changed under the watcher to '$(cat $pattern)':" \
			"another watcher started? $(watchers)"
}

# records PID TYPES: the records of one of TYPES (a regex) for PID; a
# record's first keys are always type, time, pid (event_format.c)
records() {
	grep -E "^\{\"type\":\"($2)\",\"time\":\"[^\"]*\",\"pid\":$1," "$w_out" || true
}
record() { records "$@" | head -1; }

# field NAME RECORD: the first value named NAME in a compact JSON record
field() {
	grep -o -m1 "\"$1\":[^,}]*" <<<"$2" | head -1 | cut -d: -f2- | tr -d '"'
}

have() { [ -n "$(record "$@")" ]; }
appeared() { grep -q " $1\$" "$h_out"; }
has_pid() { [ -s "$tmp/target.pid" ]; }
ready() { grep -q '^ready=1' "$tmp/target.out"; }

declare -A s      # s[mode,kind,point,metric]: the samples, space-separated
declare -A points # points[kind]: the hold points that took its snapshots, |-separated
declare -A count  # count[kind,point]: how many of its crashes (both modes) that one took

# hold_point TYPE: the hold point of a kernel record's type (with --hold, all are held)
hold_point() {
	case $1 in
	abort) echo "abort uprobe" ;;
	kill) echo "at generation" ;;
	signal) echo "handler SIGSTOP" ;;
	esac
}

# crash KIND MODE: one crash of KIND under the hold; its numbers into s[]
crash() {
	local kind=$1 mode=$2 l_start pid rc first snaps snap path at fault_rt exit_rt n p k
	still_ours
	rm -f "$tmp/target.pid" "$tmp/target.rc"
	# Started from a subshell that waits for it, so bash says nothing of the signal
	# it dies of; RLIMIT_CORE 0 as in the tests: the core handler writes no core file.
	(
		ulimit -c 0
		"$build/tests/targets/$kind" >"$tmp/target.out" 2>&1 &
		echo $! >"$tmp/target.pid"
		rc=0
		wait $! || rc=$?
		echo $rc >"$tmp/target.rc"
	) 2>/dev/null &
	l_pid=$!
	l_start=$(starttime "$l_pid")
	within 5 has_pid || die "$kind did not start"
	t_pid=$(cat "$tmp/target.pid")
	pid=$t_pid
	if [ "$kind" = wait_for_kill ]; then
		within 5 ready || die "wait_for_kill never said ready=1"
		kill -SEGV "$pid"
	fi
	within 60 not running "$l_pid" "$l_start" || die "$kind (pid $pid) did not end within 60 s"
	wait "$l_pid" || true
	l_pid='' t_pid=''
	rc=$(cat "$tmp/target.rc")
	[ "$rc" = "${expect[$kind]}" ] ||
		die "$kind ended with status $rc, not ${expect[$kind]} as it does unwatched"
	# The exit record comes once the process is gone: a second snapshot of the
	# same crash (a SIGSTOP hold, then the core dump's) would be before it.
	within 30 have "$pid" exit || die "no exit record for $kind (pid $pid)"
	within 30 have "$pid" snapshot || die "no snapshot record for $kind (pid $pid)"
	first=$(record "$pid" 'signal|abort|kill')
	[ -n "$first" ] || die "no signal/abort/kill record for $kind (pid $pid)"
	# One snapshot per crash; a hold that failed first (a record with no path,
	# then the core dump's hold took the snapshot) is a row of its own.
	snaps=$(records "$pid" snapshot)
	n=$(grep -c '"tool_status":0,' <<<"$snaps" || true)
	[ "$n" = 1 ] || die "$n snapshots of one crash of $kind (pid $pid):"$'\n'"$snaps"
	snap=$(grep '"tool_status":0,' <<<"$snaps")
	path=$(field path "$snap")
	[ -f "$path" ] || die "the snapshot of $kind is not in the spool: $snap"
	within 10 appeared "$path" || die "spool_watch never saw $path: $(cat "$h_err")"
	at=$(grep -m1 " $path\$" "$h_out" | cut -d' ' -f1)
	fault_rt=$(date -u -d "$(field time "$first")" +%s%N)
	exit_rt=$(date -u -d "$(field time "$(record "$pid" exit)")" +%s%N)
	# Which hold took the snapshot: a kernel record that says it held the
	# process (SIGSTOP), or else the core dump.
	if [ "$(field held "$first")" = true ]; then
		p=$(hold_point "$(field type "$first")")
	else
		p="core dump"
		[ "$(grep -c . <<<"$snaps")" = 1 ] ||
			p+=", after a failed hold $(hold_point "$(field type "$first")")"
	fi
	[[ "|${points[$kind]:-}|" == *"|$p|"* ]] || points[$kind]+="${points[$kind]:+|}$p"
	count[$kind,$p]=$((${count[$kind,$p]:-0} + 1))
	k=$mode,$kind,$p
	s[$k,threads]+="$(grep -c '"tid":' "$path") "
	s[$k,written]+="$(echo "scale=3; ($at - ($fault_rt - $offset)) / 1000000" | bc) "
	s[$k,held]+="$(field held_ms "$snap") "
	s[$k,pause]+="$(grep -o -m1 '"pause_ms": [0-9.e+-]*' "$path" | cut -d' ' -f2) "
	s[$k,exit]+="$(echo "scale=3; ($exit_rt - $fault_rt) / 1000000" | bc) "
	rm -f "$path"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# m DECIMALS MODE KIND POINT METRIC: the median of those samples, - if none
m() {
	local v=${s[$2,$3,$4,$5]:-}
	if [ -n "$v" ]; then printf "%.$1f" "$(median <<<"$v")"; else printf -- -; fi
}

for mode in lines no-source; do
	start_watcher "$mode"
	for r in $(seq "$runs"); do
		for kind in "${kinds[@]}"; do
			crash "$kind" "$mode"
		done
		echo "$mode: round $r/$runs done" >&2
	done
	stop_watcher || die "the watcher did not stop cleanly: $(cat "$w_err")"
	grep -q 'dropped_ringbuf_full=0 ' "$w_err" || die "the watcher lost events: $(cat "$w_err")"
done
[ ! -e "$spool/.held" ] || die "the watcher's hold registry is not empty: $(cat "$spool/.held")"

echo
echo "kernel $(uname -r), $(nproc) CPUs, $runs crashes of each kind per mode, medians in ms;" \
	"spool on $(findmnt -n -o FSTYPE -T "$spool")"
echo
echo "| kind | hold point | threads | fault→written | held | tool pause | fault→exit |" \
	"fault→written, --no-source | held, --no-source |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for kind in "${kinds[@]}"; do
	name=$kind
	[ "$kind" = wait_for_kill ] && name="kill -SEGV wait_for_kill"
	# the hold point that took most of its snapshots first
	mapfile -t pl < <(IFS='|'; for p in ${points[$kind]}; do echo "${count[$kind,$p]}|$p"; done |
		sort -t'|' -k1,1nr | cut -d'|' -f2-)
	for p in "${pl[@]}"; do
		label=$p
		[ "${#pl[@]}" = 1 ] || label+=" (${count[$kind,$p]} of $((2 * runs)))"
		t=$(m 0 lines "$kind" "$p" threads)
		[ "$t" != - ] || t=$(m 0 no-source "$kind" "$p" threads)
		echo "| $name | $label | $t | $(m 1 lines "$kind" "$p" written) |" \
			"$(m 1 lines "$kind" "$p" held) | $(m 3 lines "$kind" "$p" pause) |" \
			"$(m 1 lines "$kind" "$p" exit) | $(m 1 no-source "$kind" "$p" written) |" \
			"$(m 1 no-source "$kind" "$p" held) |"
	done
done
if [[ ${points[*]} == *"after a failed hold"* ]]; then
	echo
	echo "after a failed hold: the watcher waited for a stop that never came (500 ms)," \
		"printed a snapshot record with no path, then the core dump's hold took the snapshot."
fi
echo
echo "total wall time: $(echo "scale=1; (${EPOCHREALTIME/./} - ${t0/./}) / 1000000" | bc) s"
