"""The Debian package (`make deb`, built by `make test` before the tests run):
what it holds, what lintian says of it, and installed on this machine, that it
watches and holds like the build does and gives kernel.core_pattern back when
it is removed.  Everything it installs is purged again whatever happens.
"""
import json
import os
import re
import shutil
import signal
import subprocess

import pytest

from conftest import BUILD, PATTERN, Watcher, read, run_target

ROOT = os.path.join(os.path.dirname(__file__), "..")


def version():
    with open(os.path.join(ROOT, "user", "lib", "version.h")) as f:
        return re.search(r'#define CW_VERSION "([^"]+)"', f.read()).group(1)


DEB = os.path.join(BUILD, f"crashwatch_{version()}_amd64.deb")
STATE = "/var/lib/crashwatch"
APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def field(name):
    return subprocess.run(["dpkg-deb", "-f", DEB, name], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    root = tmp_path_factory.mktemp("deb")
    subprocess.run(["dpkg-deb", "-x", DEB, root / "root"], check=True)
    subprocess.run(["dpkg-deb", "-e", DEB, root / "control"], check=True)
    return root


def test_the_package_is_named_and_depends_as_debian_expects():
    assert os.path.isfile(DEB), f"{DEB} missing: make deb builds it"
    assert field("Package") == "crashwatch"
    assert field("Version") == version()
    assert field("Architecture") == "amd64"
    # dh_shlibdeps found every runtime library the binaries link.
    depends = {d.split()[0] for d in field("Depends").split(", ")}
    assert {"libbpf1", "libc6", "libcurl4", "libdw1", "libelf1", "libinih1",
            "libjansson4"} <= depends, depends


def test_the_package_holds_the_programs_the_unit_and_a_config_that_checks(unpacked):
    root = unpacked / "root"
    for prog in ("crashwatch", "crashwatch-snapshot", "crashwatch-core-handler"):
        assert os.access(root / "usr/bin" / prog, os.X_OK), prog
    # The core handler is static: the kernel may run it in any mount namespace.
    phdrs = subprocess.run(["readelf", "-lW", root / "usr/bin/crashwatch-core-handler"],
                           check=True, capture_output=True, text=True).stdout
    assert "INTERP" not in phdrs and "Requesting program interpreter" not in phdrs
    assert os.path.isdir(root / "var/lib/crashwatch")
    unit = (root / "lib/systemd/system/crashwatch.service").read_text()
    assert "ExecStart=/usr/bin/crashwatch watch\n" in unit
    assert "ExecStopPost=-/usr/bin/crashwatch core-restore\n" in unit
    assert "/usr/local" not in unit
    conffiles = (unpacked / "control" / "conffiles").read_text().split()
    assert conffiles == ["/etc/crashwatch/crashwatch.conf"]
    conf = root / "etc/crashwatch/crashwatch.conf"
    r = subprocess.run([root / "usr/bin/crashwatch", "config", "check", conf],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "no problems" in r.stdout, (r.stdout, r.stderr)
    # Every commented default is a key the watcher takes, with a value it takes.
    settings = "[watch]\n" + "".join(
        line[1:] for line in conf.read_text().splitlines(keepends=True)
        if re.match(r"#[a-z-]+ = \S", line) and not line.startswith(("#upload", "#cgroup",
                                                                     "#debug-dir")))
    uncommented = unpacked / "all.conf"
    uncommented.write_text(settings)
    r = subprocess.run([root / "usr/bin/crashwatch", "config", "check", uncommented],
                       capture_output=True, text=True)
    assert r.returncode == 0, (settings, r.stdout, r.stderr)
    assert int(re.search(r"(\d+) setting", r.stdout).group(1)) >= 10, r.stdout


def test_lintian_finds_no_error():
    r = subprocess.run(["lintian", "--fail-on", "error", DEB], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not [l for l in r.stdout.splitlines() if l.startswith("E:")], r.stdout


def installed():
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", "crashwatch"],
                       capture_output=True, text=True)
    return r.returncode == 0 and "installed" in r.stdout.split()


@pytest.fixture
def package_installed(host_core_settings):
    """apt installs the package; afterwards it is purged and /var/lib/crashwatch is as it was."""
    if installed():
        pytest.skip("a crashwatch package is installed on this machine: the test leaves it be")
    saved_state = None
    if os.path.exists(STATE):  # a watcher built here ran with the default spool
        saved_state = STATE + ".before-test"
        os.rename(STATE, saved_state)
    try:
        r = subprocess.run(["apt-get", "install", "-y", os.path.abspath(DEB)],
                           capture_output=True, text=True, env=APT_ENV)
        assert r.returncode == 0, r.stdout + r.stderr
        yield host_core_settings
    finally:
        subprocess.run(["dpkg", "--purge", "crashwatch"], capture_output=True)
        shutil.rmtree(STATE, ignore_errors=True)
        if saved_state:
            os.rename(saved_state, STATE)


def test_installed_it_holds_crashes_and_removing_it_gives_core_pattern_back(package_installed,
                                                                             tmp_path):
    saved_pattern = package_installed[0]
    v = subprocess.run(["/usr/bin/crashwatch", "version"], capture_output=True, text=True)
    assert v.stdout.strip() == f"crashwatch {version()}"
    assert os.path.isfile("/etc/crashwatch/crashwatch.conf")
    spool = tmp_path / "spool"
    # The installed watcher with the installed config (every line commented).
    w = Watcher("--hold", f"--spool={spool}", "--config=/etc/crashwatch/crashwatch.conf",
                program="/usr/bin/crashwatch")
    try:
        assert read(PATTERN) != saved_pattern  # it owns core dumps now
        ran = run_target("null_deref")
        assert os.WIFSIGNALED(ran.status) and os.WTERMSIG(ran.status) == signal.SIGSEGV
        rec = w.records_for(ran.pid, "snapshot", timeout=30)
        with open(rec["path"]) as f:
            snap = json.load(f)
        # Taken by the packaged tool beside the packaged watcher.
        assert snap["process"]["pid"] == ran.pid and any(t["faulted"] for t in snap["threads"])
    finally:
        # Killed, it cannot give core_pattern back: the package's removal must.
        os.kill(w.pid(), signal.SIGKILL)
        w.stop()
    assert read(PATTERN) != saved_pattern
    r = subprocess.run(["apt-get", "remove", "-y", "crashwatch"], capture_output=True,
                       text=True, env=APT_ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    assert read(PATTERN) == saved_pattern
    assert not os.path.exists("/usr/bin/crashwatch")
    # Removed, not purged: the operator's config stays until purge.
    assert os.path.isfile("/etc/crashwatch/crashwatch.conf")
    subprocess.run(["dpkg", "--purge", "crashwatch"], check=True, capture_output=True)
    assert not os.path.exists("/etc/crashwatch/crashwatch.conf")
    assert not os.path.exists(STATE)
