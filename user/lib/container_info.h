/* SPDX-License-Identifier: MIT */
/*
 * Naming the container a process runs in from its cgroup v2 path, as the
 * "0::" line of /proc/PID/cgroup shows it: the runtime, the container id,
 * the Kubernetes pod and the systemd unit.  Pure: no file is read here.
 */
#ifndef CW_CONTAINER_INFO_H
#define CW_CONTAINER_INFO_H

#define CW_CONTAINER_ID_LEN 64	/* lowercase hex, as runc, containerd and CRI-O name them */
#define CW_POD_UID_MAX	    36	/* a UUID; a static pod's is 32 hex digits */
#define CW_UNIT_NAME_MAX    255 /* systemd's UNIT_NAME_MAX - 1 */

struct cw_container_name {
	const char *runtime; /* "docker", "containerd", "cri-o", "podman"; NULL when not known */
	char id[CW_CONTAINER_ID_LEN + 1];	 /* "" when the path names no container */
	char pod_uid[CW_POD_UID_MAX + 1];	 /* with dashes; "" when not in a pod */
	char systemd_unit[CW_UNIT_NAME_MAX + 1]; /* nearest .scope/.service; "" when none */
};

/*
 * Fill out from path (NULL or "" gives all empty).  The deepest component
 * naming a container wins (nested containers: the inner one).  A container
 * monitor's cgroup (crio-conmon-ID.scope, libpod-conmon-ID.scope) names no
 * container: the monitor runs beside it, not in it; its unit says what it is.
 * A container under the cgroupfs driver of Kubernetes (/kubepods/QOS/podUID/ID)
 * has an id but no runtime: that path is the same for every runtime.
 */
void cw_container_name_parse(const char *path, struct cw_container_name *out);

#endif
