#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench-usdt: what a trace event costs (bench/usdt_cost.c), unattached
# against the floor and a raw sys/sdt.h probe, then attached: with
# `crashwatch probes --trace` on it (each event a uprobe trap, the BPF
# program reading its arguments, a ring buffer record, a line printed to
# /dev/null by the tracer).
set -euo pipefail
build=${CW_BUILD:-build}
bin=$build/bench/usdt_cost
"$bin"
"$build/crashwatch" probes --trace=bench:tick "$bin" >/dev/null 2>"$build/bench/usdt_trace.err" &
tracer=$!
trap 'kill -INT $tracer 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	grep -q "crashwatch: tracing" "$build/bench/usdt_trace.err" && break
	sleep 0.1
done
"$bin" 200000
kill -INT $tracer
wait $tracer
trap - EXIT
