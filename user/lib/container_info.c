// SPDX-License-Identifier: MIT
#include "container_info.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* One path component: not NUL-terminated. */
struct comp {
	const char *s;
	size_t n;
};

/*
 * Container cgroups by runtime and cgroup driver.  cgroupfs: /docker/ID,
 * /kubepods/QOS/podUID/ID, .../podUID/crio-ID, /libpod_parent/libpod-ID;
 * systemd: docker-ID.scope, cri-containerd-ID.scope, crio-ID.scope,
 * libpod-ID.scope (podman adds /container below it with --cgroupns);
 * "SLICE:cri-containerd:ID" is containerd's systemd-style cgroupsPath taken
 * literally, when the kubelet and containerd disagree on the driver.
 */
enum kind { RUNTIME, MONITOR };
static const struct layout {
	const char *prefix, *suffix, *runtime;
	enum kind kind;
} layouts[] = {
	{"docker-", ".scope", "docker", RUNTIME},
	{"cri-containerd-", ".scope", "containerd", RUNTIME},
	{"crio-conmon-", ".scope", NULL, MONITOR},
	{"crio-", ".scope", "cri-o", RUNTIME},
	{"crio-", "", "cri-o", RUNTIME},
	{"libpod-conmon-", ".scope", NULL, MONITOR},
	{"libpod-payload-", ".scope", "podman", RUNTIME},
	{"libpod-payload-", "", "podman", RUNTIME},
	{"libpod-", ".scope", "podman", RUNTIME},
	{"libpod-", "", "podman", RUNTIME},
};

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool is(struct comp c, const char *word)
{
	return c.n == strlen(word) && memcmp(c.s, word, c.n) == 0;
}

static bool starts(struct comp c, const char *prefix)
{
	size_t n = strlen(prefix);

	return c.n >= n && memcmp(c.s, prefix, n) == 0;
}

static bool ends(struct comp c, const char *suffix)
{
	size_t n = strlen(suffix);

	return c.n >= n && memcmp(c.s + c.n - n, suffix, n) == 0;
}

static bool contains(struct comp c, const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i + n <= c.n; i++)
		if (memcmp(c.s + i, word, n) == 0)
			return true;
	return false;
}

/* The 64 hex digits between prefix and suffix, into id. */
static bool take_id(struct comp c, const char *prefix, const char *suffix, char *id)
{
	size_t p = strlen(prefix), s = strlen(suffix);

	if (c.n != p + CW_CONTAINER_ID_LEN + s || !starts(c, prefix) || !ends(c, suffix) ||
	    !lower_hex(c.s + p, CW_CONTAINER_ID_LEN))
		return false;
	memcpy(id, c.s + p, CW_CONTAINER_ID_LEN);
	id[CW_CONTAINER_ID_LEN] = '\0';
	return true;
}

/*
 * A pod UID as the kubelet writes it: a UUID, with dashes (cgroupfs) or
 * underscores (systemd: a dash separates slice levels), or a static pod's
 * 32-hex-digit config hash.  Into uid with dashes.
 */
static bool take_pod_uid(const char *s, size_t n, char *uid)
{
	if (n == 32 && lower_hex(s, n)) {
		memcpy(uid, s, n);
		uid[n] = '\0';
		return true;
	}
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool sep = i == 8 || i == 13 || i == 18 || i == 23;

		if (sep ? s[i] != '-' && s[i] != '_' : !lower_hex(s + i, 1))
			return false;
		uid[i] = sep ? '-' : s[i];
	}
	uid[n] = '\0';
	return true;
}

/*
 * podUID (cgroupfs, below a kubepods cgroup) or ...kubepods...-podUID.slice
 * (systemd; kind's kubelet prefixes "kubelet-"), also before ":cri-containerd:ID".
 */
static bool pod_of(struct comp c, bool below_kubepods, char *uid)
{
	static const char slice[] = ".slice";
	const char *colon = memchr(c.s, ':', c.n), *p;

	if (below_kubepods && starts(c, "pod") && take_pod_uid(c.s + 3, c.n - 3, uid))
		return true;
	if (colon)
		c.n = (size_t)(colon - c.s);
	if (!ends(c, slice) || !contains(c, "kubepods") || c.n < sizeof(slice) - 1 + 4)
		return false;
	for (p = c.s + c.n - (sizeof(slice) - 1) - 4; p > c.s; p--)
		if (memcmp(p, "-pod", 4) == 0)
			return take_pod_uid(p + 4,
					    (size_t)(c.s + c.n - (sizeof(slice) - 1) - p - 4), uid);
	return false;
}

/* A unit name systemd would accept, ending in .scope or .service. */
static bool is_unit(struct comp c)
{
	static const char ok[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.@\\-";

	if (c.n > CW_UNIT_NAME_MAX || !(ends(c, ".scope") || ends(c, ".service")) ||
	    c.n == strlen(".scope") || c.n == strlen(".service"))
		return false;
	for (size_t i = 0; i < c.n; i++)
		if (!memchr(ok, c.s[i], sizeof(ok) - 1))
			return false;
	return true;
}

/*
 * The container c names, if any: 1 a container (runtime may stay NULL),
 * 0 none, -1 a monitor's cgroup.  parent: the component above c.
 */
static int container_of(struct comp c, struct comp parent, bool parent_is_pod, char *id,
			const char **runtime)
{
	static const char cri[] = ":cri-containerd:";

	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (take_id(c, layouts[i].prefix, layouts[i].suffix, id)) {
			*runtime = layouts[i].runtime;
			return layouts[i].kind == MONITOR ? -1 : 1;
		}
	if (c.n > sizeof(cri) - 1 + CW_CONTAINER_ID_LEN &&
	    take_id((struct comp){c.s + c.n - (sizeof(cri) - 1) - CW_CONTAINER_ID_LEN,
				  sizeof(cri) - 1 + CW_CONTAINER_ID_LEN},
		    cri, "", id)) {
		*runtime = "containerd";
		return 1;
	}
	/* A bare id: docker's cgroupfs driver, or any runtime under Kubernetes' cgroupfs driver. */
	if ((is(parent, "docker") || parent_is_pod) && take_id(c, "", "", id)) {
		*runtime = is(parent, "docker") ? "docker" : NULL;
		return 1;
	}
	return 0;
}

void cw_container_name_parse(const char *path, struct cw_container_name *out)
{
	struct comp parent = {"", 0};
	bool below_kubepods = false, parent_is_pod = false;
	char id[CW_CONTAINER_ID_LEN + 1], uid[CW_POD_UID_MAX + 1];

	memset(out, 0, sizeof(*out));
	for (const char *p = path ? path : ""; *p;) {
		struct comp c;
		const char *runtime = NULL;
		bool is_pod;
		int r;

		p += strspn(p, "/");
		c = (struct comp){p, strcspn(p, "/")};
		p += c.n;
		if (!c.n)
			break;
		is_pod = pod_of(c, below_kubepods, uid);
		if (is_pod)
			memcpy(out->pod_uid, uid, sizeof(uid));
		r = container_of(c, parent, parent_is_pod, id, &runtime);
		if (r) {
			memcpy(out->id, r > 0 ? id : "", r > 0 ? sizeof(id) : 1);
			out->runtime = runtime;
		}
		if (is_unit(c)) {
			memcpy(out->systemd_unit, c.s, c.n);
			out->systemd_unit[c.n] = '\0';
		}
		below_kubepods = below_kubepods || contains(c, "kubepods");
		parent_is_pod = is_pod;
		parent = c;
	}
}
