#!/bin/sh
# SPDX-License-Identifier: MIT
# `make fuzz`: run each harness for FUZZ_SECONDS on its seed corpus
# (tests/fuzz/corpus/NAME, read only) plus what earlier runs found
# (BUILD/fuzz/corpus/NAME), one after the other at nice 10.  Prints the
# executions per harness; exits 1 if any harness found a crash, a leak, a
# timeout or ran out of memory (the input is then in BUILD/fuzz/artifacts/NAME/).
# Usage: run.sh BUILD_DIR SECONDS NAME...
set -u
build=$1
seconds=$2
shift 2
failed=""
summary=""
for name in "$@"; do
	bin=$build/fuzz/fuzz_$name
	work=$build/fuzz/corpus/$name
	art=$build/fuzz/artifacts/$name
	log=$build/fuzz/$name.log
	mkdir -p "$work" "$art"
	seeds=tests/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=""
	printf '  FUZZ     %s (%ss)\n' "$name" "$seconds"
	nice -n 10 "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/" "$work" $seeds >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
	line=$(printf '%-18s %10s executions in %ss' "$name" "${execs:-?}" "${secs:-?}")
	if [ "$rc" != 0 ]; then
		line="$line  FAILED (exit $rc): see $log, input in $art/"
		failed="$failed $name"
		grep -m3 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | sed 's/^/    /'
	fi
	summary="$summary$line
"
done
printf '\n%s' "$summary"
if [ -n "$failed" ]; then
	echo "crashwatch: fuzzing found problems in:$failed"
	exit 1
fi
echo "crashwatch: no findings"
