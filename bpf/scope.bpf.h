/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which tasks a BPF program of crashwatch watches, shared by detect.bpf.c
 * and timeline.bpf.c.  The including file defines, before including this:
 * const volatile __u32 view_pidns, const volatile bool filter_cgroups and
 * the hash map scope_cgroups (cgroup v2 id -> __u8).
 */
#ifndef CW_SCOPE_BPF_H
#define CW_SCOPE_BPF_H

#define MAX_PID_NS_LEVEL 32 /* include/linux/pid_namespace.h */
/* A sidecar's pid namespace this deep or less: deeper, it sees no process. */
#define CW_MAX_PIDNS_LEVEL 8

/*
 * The number pid has in the watcher's pid namespace, 0 if that namespace
 * does not see it.  A sidecar's namespace is at most a few levels deep:
 * deeper than CW_MAX_PIDNS_LEVEL, a process is not seen.
 */
static __always_inline __u32 pid_in_view(struct pid *pid)
{
	unsigned int level;
	struct upid up;

	if (!view_pidns)
		return BPF_CORE_READ(pid, numbers[0].nr);
	level = BPF_CORE_READ(pid, level);
	for (unsigned int i = 0; i <= CW_MAX_PIDNS_LEVEL; i++) {
		if (i > level)
			break;
		if (bpf_core_read(&up, sizeof(up), &pid->numbers[i]))
			break;
		if (BPF_CORE_READ(up.ns, ns.inum) == view_pidns)
			return up.nr;
	}
	return 0;
}

/* The process's pid as the watcher numbers it; the host's unless a sidecar. */
static __always_inline __u32 view_tgid(struct task_struct *task)
{
	if (!view_pidns)
		return BPF_CORE_READ(task, tgid);
	return pid_in_view(BPF_CORE_READ(task, group_leader, thread_pid));
}

/* In a watched cgroup or below one: a walk up, checking each ancestor. */
static __always_inline bool in_scope_cgroup(struct task_struct *task)
{
	struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	struct cgroup_subsys_state *parent;

	for (int i = 0; i < CW_MAX_CGROUP_DEPTH && cg; i++) {
		__u64 id = BPF_CORE_READ(cg, kn, id);

		if (bpf_map_lookup_elem(&scope_cgroups, &id))
			return true;
		parent = BPF_CORE_READ(cg, self.parent);
		cg = parent ? (struct cgroup *)((void *)parent -
						bpf_core_field_offset(struct cgroup, self))
			    : NULL;
	}
	return false;
}

/* Is task one this watcher watches? */
static __always_inline bool watches(struct task_struct *task)
{
	return (!view_pidns || pid_in_view(BPF_CORE_READ(task, thread_pid))) &&
	       (!filter_cgroups || in_scope_cgroup(task));
}

#endif
