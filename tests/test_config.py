"""Issue 6, item 4: the config file holds every option that has a flag; flags
override it; `crashwatch config check` reports each problem with line, key and
reason."""
import os
import subprocess

from conftest import WATCHER, Watcher


def check(path):
    return subprocess.run([WATCHER, "config", "check", str(path)], capture_output=True,
                          text=True)


def test_config_check_reports_line_key_and_reason(tmp_path):
    conf = tmp_path / "crashwatch.conf"
    conf.write_text("[watch]\n"
                    "hold-timeout = 10\n"
                    "hold = maybe\n"
                    "stack-bytes = 1G\n"
                    "bogus = 1\n"
                    "this line is not ini\n"
                    "[upload]\n"
                    "x = 1\n")
    out = check(conf)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert f"{conf}:3: key 'hold': give yes or no" in lines
    assert f"{conf}:4: key 'stack-bytes': bad --stack-bytes '1G': give a size from 4K to 64M" \
        in lines
    assert f"{conf}:5: key 'bogus': not an option of crashwatch watch" \
        " (see crashwatch watch --help)" in lines
    assert any(line.startswith(f"{conf}:6: not INI") for line in lines)
    assert f"{conf}:8: key 'x': in section [upload]: only [watch] is read" in lines
    assert len(lines) == 5
    # The watcher refuses it the same way, before touching anything.
    w = subprocess.run([WATCHER, "watch", f"--config={conf}"], capture_output=True, text=True)
    assert w.returncode == 2 and "fix the 5 problem(s)" in w.stderr


def test_a_good_config_is_used_and_flags_override_it(tmp_path):
    conf = tmp_path / "crashwatch.conf"
    conf.write_text("[watch]\n# report only, SIGFPE only\nhold = no\nsignals = FPE\n")
    out = check(conf)
    assert out.returncode == 0 and "2 setting(s), no problems" in out.stdout
    w = Watcher(f"--config={conf}", default_hold=True)
    try:
        line = w.wait_stderr("crashwatch: watching ")
        assert "watching SIGFPE in every process on the host" in line and "hold points: none" in line
    finally:
        assert w.stop() == 0
    w = Watcher(f"--config={conf}", "--signals=SEGV", default_hold=True)
    try:
        line = w.wait_stderr("crashwatch: watching ")
        assert "watching SIGSEGV in every process" in line and "hold points: none" in line
    finally:
        assert w.stop() == 0


def test_a_missing_config_given_by_hand_is_an_error(tmp_path):
    w = subprocess.run([WATCHER, "watch", f"--config={tmp_path}/none.conf"],
                       capture_output=True, text=True)
    assert w.returncode == 2 and "cannot read the config file" in w.stderr


def test_only_a_regular_file_of_bounded_size_is_a_config(tmp_path):
    """Issue 12 row 3: a directory was an empty config, /dev/zero spun, a FIFO blocked."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.conf"
    big.write_text("[watch]\n" + "# padding\n" * 110000)  # 1.1 MB of comments
    nul = tmp_path / "nul.conf"
    nul.write_bytes(b"[watch]\0json = yes\n")
    cases = [
        (tmp_path, "is a directory, not a regular file"),
        (fifo, "is a FIFO, not a regular file"),
        ("/dev/zero", "is a character device, not a regular file"),
        (big, f"is {big.stat().st_size} bytes, more than a config file may have (1048576)"),
        (nul, "holds a NUL byte: not a text file"),
    ]
    for path, says in cases:
        # A timeout, not a hang: neither may block or spin.
        out = subprocess.run([WATCHER, "config", "check", str(path)], capture_output=True,
                             text=True, timeout=10)
        assert out.returncode == 1, path
        assert f"{path}: {says}" in out.stdout, out.stdout
        w = subprocess.run([WATCHER, "watch", f"--config={path}"], capture_output=True,
                           text=True, timeout=10)
        assert w.returncode == 2, path
        assert f"{path}: {says}" in w.stderr and f"fix the 1 problem(s) in {path}" in w.stderr
    # /dev/null stays "no settings" (as ssh -F /dev/null).
    out = check("/dev/null")
    assert out.returncode == 0 and "0 setting(s), no problems" in out.stdout
