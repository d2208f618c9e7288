// SPDX-License-Identifier: GPL-2.0
/*
 * Empty programs on the tracepoints crashwatch uses: what attaching
 * anything there costs, the floor crashwatch's overhead is measured against.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/signal_deliver")
int BPF_PROG(floor_signal_deliver)
{
	return 0;
}

SEC("tp_btf/signal_generate")
int BPF_PROG(floor_signal_generate)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(floor_process_exit)
{
	return 0;
}

/* An empty entry uprobe, attached only where floor is told (floor LIB:FUNCTION). */
SEC("uprobe")
int floor_uprobe(struct pt_regs *ctx)
{
	return 0;
}
