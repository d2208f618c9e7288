// SPDX-License-Identifier: MIT
#include "ptrace_denied.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc_info.h"

static const char *const cap_names[] = {
	"cap_chown",
	"cap_dac_override",
	"cap_dac_read_search",
	"cap_fowner",
	"cap_fsetid",
	"cap_kill",
	"cap_setgid",
	"cap_setuid",
	"cap_setpcap",
	"cap_linux_immutable",
	"cap_net_bind_service",
	"cap_net_broadcast",
	"cap_net_admin",
	"cap_net_raw",
	"cap_ipc_lock",
	"cap_ipc_owner",
	"cap_sys_module",
	"cap_sys_rawio",
	"cap_sys_chroot",
	"cap_sys_ptrace",
	"cap_sys_pacct",
	"cap_sys_admin",
	"cap_sys_boot",
	"cap_sys_nice",
	"cap_sys_resource",
	"cap_sys_time",
	"cap_sys_tty_config",
	"cap_mknod",
	"cap_lease",
	"cap_audit_write",
	"cap_audit_control",
	"cap_setfcap",
	"cap_mac_override",
	"cap_mac_admin",
	"cap_syslog",
	"cap_wake_alarm",
	"cap_block_suspend",
	"cap_audit_read",
	"cap_perfmon",
	"cap_bpf",
	"cap_checkpoint_restore",
};

void cw_capability_names(uint64_t mask, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < 64 && len < cap; i++) {
		char num[16];
		const char *name = num;
		int n;

		if (!(mask & (1ULL << i)))
			continue;
		if (i < sizeof(cap_names) / sizeof(cap_names[0]))
			name = cap_names[i];
		else
			snprintf(num, sizeof(num), "cap_%u", i);
		n = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", name);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

/* Our own effective and permitted sets (capget: no libcap needed for two words). */
static int own_caps(uint64_t *effective, uint64_t *permitted)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {0};

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	*effective = (uint64_t)d[1].effective << 32 | d[0].effective;
	*permitted = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	return 0;
}

/* "Uid:" (four ids) and "CapPrm:" from /proc/PID/status; -errno when unreadable. */
static int target_creds(int proc_dir, uid_t uids[4], uint64_t *cap_prm)
{
	char *status = cw_proc_read_file(proc_dir, "status", NULL);
	char *line, *save = NULL;
	int found = 0;

	if (!status)
		return -errno;
	for (line = strtok_r(status, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned a, b, c, d;

		if (sscanf(line, "Uid: %u %u %u %u", &a, &b, &c, &d) == 4) {
			uids[0] = a, uids[1] = b, uids[2] = c, uids[3] = d;
			found |= 1;
		} else if (sscanf(line, "CapPrm: %" SCNx64, cap_prm) == 1) {
			found |= 2;
		}
	}
	free(status);
	return found == 3 ? 0 : -EINVAL;
}

/* kernel.yama.ptrace_scope, or -1 when Yama is not there. */
static int yama_scope(void)
{
	char *s = cw_proc_read_file(AT_FDCWD, "/proc/sys/kernel/yama/ptrace_scope", NULL);
	int v = -1;

	if (s && (s[0] >= '0' && s[0] <= '3'))
		v = s[0] - '0';
	free(s);
	return v;
}

void cw_ptrace_denied_reason(int proc_dir, char *buf, size_t cap)
{
	uint64_t eff = 0, prm = 0, theirs = 0;
	uid_t uids[4] = {0}, me = getuid();
	bool have_ptrace, creds, same_uid;
	char names[512], *lsm;
	int scope = yama_scope();

	if (own_caps(&eff, &prm) < 0)
		eff = prm = 0;
	have_ptrace = eff & (1ULL << CAP_SYS_PTRACE);
	creds = target_creds(proc_dir, uids, &theirs) == 0;
	same_uid = creds && uids[0] == me && uids[1] == me && uids[2] == me;
	cw_capability_names(creds ? theirs & ~prm : 0, names, sizeof(names));

	if (scope == 3) {
		snprintf(buf, cap,
			 "kernel.yama.ptrace_scope is 3: no process may be traced until the next "
			 "boot");
		return;
	}
	if (!have_ptrace) {
		if (scope == 2)
			snprintf(buf, cap,
				 "kernel.yama.ptrace_scope is 2: only a tracer with CAP_SYS_PTRACE "
				 "may trace, and this tool lacks it: give it CAP_SYS_PTRACE");
		else if (creds && !same_uid)
			snprintf(
				buf, cap,
				"it runs as uid %u and this tool as uid %u without CAP_SYS_PTRACE: "
				"run it as root or as uid %u",
				(unsigned)uids[1], (unsigned)me, (unsigned)uids[1]);
		else if (names[0])
			snprintf(
				buf, cap,
				"it holds capabilities this tool does not (%s) and this tool lacks "
				"CAP_SYS_PTRACE: give this tool CAP_SYS_PTRACE",
				names);
		else if (scope == 1)
			snprintf(buf, cap,
				 "kernel.yama.ptrace_scope is 1: only its ancestors may trace it; "
				 "run "
				 "this tool as root (CAP_SYS_PTRACE) or set the scope to 0");
		else
			snprintf(
				buf, cap,
				"this tool lacks CAP_SYS_PTRACE and the process is not dumpable (a "
				"set-uid program, or one that cleared PR_SET_DUMPABLE): give this "
				"tool CAP_SYS_PTRACE");
		return;
	}
	/* Past the uid, capability and Yama checks: a security module or a namespace said no. */
	lsm = cw_proc_read_file(AT_FDCWD, "/sys/kernel/security/lsm", NULL);
	if (lsm)
		lsm[strcspn(lsm, "\n")] = '\0';
	if (lsm && !*lsm) {
		free(lsm);
		lsm = NULL;
	}
	snprintf(buf, cap,
		 "this tool has CAP_SYS_PTRACE (uid %u)%s, so %s%s%s refused it, or the process "
		 "is in a user namespace this tool's capabilities do not reach%s%s%s",
		 (unsigned)me, scope < 0 ? " and Yama is not enabled" : " and Yama allows it",
		 lsm ? "a security module (active: "
		     : "a security module (Landlock, SELinux, "
		       "AppArmor, a BPF LSM)",
		 lsm ? lsm : "", lsm ? ")" : "",
		 names[0] ? "; it also holds capabilities this tool does not have (" : "", names,
		 names[0] ? ")" : "");
	free(lsm);
}
