// SPDX-License-Identifier: MIT
/* Naming a container from its cgroup path: the forms runtimes really write, and garbage. */
#include "cw_test.h"

#include <stdlib.h>

#include "container_info.h"

#define ID   "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
#define UID  "f067e9a4-0fe4-4aba-b518-c17545214925"
#define UID_ "f067e9a4_0fe4_4aba_b518_c17545214925" /* the systemd driver's spelling */

struct want {
	const char *path, *runtime, *id, *pod_uid, *unit;
};

static void check(const struct want *w)
{
	struct cw_container_name n;

	cw_container_name_parse(w->path, &n);
	if (w->runtime)
		assert_non_null(n.runtime);
	if (n.runtime && w->runtime)
		assert_string_equal(n.runtime, w->runtime);
	else
		assert_null(n.runtime);
	assert_string_equal(n.id, w->id);
	assert_string_equal(n.pod_uid, w->pod_uid);
	assert_string_equal(n.systemd_unit, w->unit);
}

static void docker_both_drivers(void **state)
{
	static const struct want w[] = {
		{"/docker/" ID, "docker", ID, "", ""},
		{"/system.slice/docker-" ID ".scope", "docker", ID, "", "docker-" ID ".scope"},
		/* systemd inside the container, with a cgroup namespace: the inner unit is nearest.
		 */
		{"/system.slice/docker-" ID ".scope/init.scope", "docker", ID, "", "init.scope"},
		/* docker in docker: the inner container. */
		{"/docker/" ID "/docker/" ID, "docker", ID, "", ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check(&w[i]);
}

static void kubernetes_cgroupfs_driver(void **state)
{
	static const struct want w[] = {
		/* The path is the same whatever the runtime: no runtime. */
		{"/kubepods/burstable/pod" UID "/" ID, NULL, ID, UID, ""},
		{"/kubepods/besteffort/pod" UID "/" ID, NULL, ID, UID, ""},
		{"/kubepods/pod" UID "/" ID, NULL, ID, UID, ""}, /* Guaranteed QoS */
		{"/kubepods/burstable/pod" UID "/crio-" ID, "cri-o", ID, UID, ""},
		/* The pod itself (its pause process is in a container of its own). */
		{"/kubepods/burstable/pod" UID, NULL, "", UID, ""},
		/* kind: the kubelet's cgroup root is /kubelet. */
		{"/kubelet/kubepods/burstable/pod" UID "/" ID, NULL, ID, UID, ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check(&w[i]);
}

static void kubernetes_systemd_driver(void **state)
{
	static const struct want w[] = {
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		 ".slice/cri-containerd-" ID ".scope",
		 "containerd", ID, UID, "cri-containerd-" ID ".scope"},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		 ".slice/crio-" ID ".scope",
		 "cri-o", ID, UID, "crio-" ID ".scope"},
		{"/kubepods.slice/kubepods-pod" UID_ ".slice/docker-" ID ".scope", "docker", ID,
		 UID, "docker-" ID ".scope"},
		/* conmon watches the container from beside it: not in it. */
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		 ".slice/crio-conmon-" ID ".scope",
		 NULL, "", UID, "crio-conmon-" ID ".scope"},
		/* A static pod's uid is its manifest's hash. */
		{"/kubepods.slice/kubepods-burstable.slice/"
		 "kubepods-burstable-pod0123456789abcdef0123456789abcdef.slice/cri-containerd-" ID
		 ".scope",
		 "containerd", ID, "0123456789abcdef0123456789abcdef",
		 "cri-containerd-" ID ".scope"},
		/* kind's kubelet slice. */
		{"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
		 "kubelet-kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID ".scope",
		 "containerd", ID, UID, "cri-containerd-" ID ".scope"},
		/* containerd's systemd-style cgroupsPath taken as a cgroupfs path. */
		{"/kubepods-besteffort-pod" UID_ ".slice:cri-containerd:" ID, "containerd", ID, UID,
		 ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check(&w[i]);
}

static void podman_forms(void **state)
{
	static const struct want w[] = {
		{"/machine.slice/libpod-" ID ".scope", "podman", ID, "", "libpod-" ID ".scope"},
		{"/machine.slice/libpod-" ID ".scope/container", "podman", ID, "",
		 "libpod-" ID ".scope"},
		{"/libpod_parent/libpod-" ID, "podman", ID, "", ""},
		{"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope",
		 "podman", ID, "", "libpod-" ID ".scope"},
		{"/machine.slice/libpod-conmon-" ID ".scope", NULL, "", "",
		 "libpod-conmon-" ID ".scope"},
		{"/system.slice/myapp.service/libpod-payload-" ID, "podman", ID, "",
		 "myapp.service"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check(&w[i]);
}

static void not_containers(void **state)
{
	static const struct want w[] = {
		{"/", NULL, "", "", ""},
		{"", NULL, "", "", ""},
		{NULL, NULL, "", "", ""},
		{"/system.slice/cron.service", NULL, "", "", "cron.service"},
		{"/user.slice/user-1000.slice/session-3.scope", NULL, "", "", "session-3.scope"},
		{"/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", NULL, "",
		 "", "foo.service"},
		/* A bare id only counts below docker or a pod. */
		{"/" ID, NULL, "", "", ""},
		{"/cw-test/" ID, NULL, "", "", ""},
		/* pod<uid> only below a kubepods cgroup. */
		{"/pod" UID "/" ID, NULL, "", "", ""},
		{".scope", NULL, "", "", ""},
		{"/.service", NULL, "", "", ""},
		{"/a b.service", NULL, "", "", ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check(&w[i]);
}

static void garbage_is_not_a_container(void **state)
{
	static const struct want w[] = {
		/* One digit short, one too many. */
		{"/docker/ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48b", NULL,
		 "", "", ""},
		{"/docker/" ID "0", NULL, "", "", ""},
		{"/system.slice/docker-" ID "0.scope", NULL, "", "", "docker-" ID "0.scope"},
		/* Uppercase hex: no runtime writes it. */
		{"/docker/CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB", NULL,
		 "", "", ""},
		{"/system.slice/docker-" ID ".scopex", NULL, "", "", ""},
		{"/system.slice/docker-.scope", NULL, "", "", "docker-.scope"},
		{"/docker/" ID "/", "docker", ID, "", ""},
		{"//docker//" ID, "docker", ID, "", ""},
		/* Bad pod uids: short, uppercase, separators misplaced. */
		{"/kubepods/burstable/podf067e9a4-0fe4-4aba-b518-c1754521492/" ID, NULL, "", "",
		 ""},
		{"/kubepods/burstable/podF067E9A4-0FE4-4ABA-B518-C17545214925/" ID, NULL, "", "",
		 ""},
		{"/kubepods/burstable/podf067e9a40-fe4-4aba-b518-c17545214925/" ID, NULL, "", "",
		 ""},
		{"/kubepods.slice/kubepods-pod.slice", NULL, "", "", ""},
		{"/kubepods.slice/kubepods-podxyz.slice/crio-" ID ".scope", "cri-o", ID, "",
		 "crio-" ID ".scope"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check(&w[i]);
}

static void very_long_paths(void **state)
{
	size_t n = 1 << 20;
	char *p = malloc(n + 200);
	struct cw_container_name name;

	(void)state;
	assert_non_null(p);
	/* A megabyte of one long component, then a container: still found. */
	p[0] = '/';
	memset(p + 1, 'x', n);
	strcpy(p + 1 + n, "/docker-" ID ".scope");
	cw_container_name_parse(p, &name);
	assert_string_equal(name.id, ID);
	/* A unit name longer than systemd allows is not a unit. */
	strcpy(p + 1 + n, ".service");
	cw_container_name_parse(p, &name);
	assert_string_equal(name.systemd_unit, "");
	/* Slashes only. */
	memset(p, '/', n);
	p[n] = '\0';
	cw_container_name_parse(p, &name);
	assert_string_equal(name.id, "");
	free(p);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(docker_both_drivers),
	cmocka_unit_test(kubernetes_cgroupfs_driver),
	cmocka_unit_test(kubernetes_systemd_driver),
	cmocka_unit_test(podman_forms),
	cmocka_unit_test(not_containers),
	cmocka_unit_test(garbage_is_not_a_container),
	cmocka_unit_test(very_long_paths),
};

CW_TEST_MAIN(tests)
