"""Issue 12 row 8: command lines (and, with --env, environments) are redacted
before they reach a snapshot, and so the spool and every upload."""
import json
import os
import subprocess

from conftest import SNAPSHOT, TARGETS, Watcher, run_target

SECRET = "hunter2"
ARGS = ("2", f"--password={SECRET}", "--token", SECRET, f"https://u:{SECRET}@example.com/x",
        "--my-pin=1234")


def start_parked(env=None):
    proc = subprocess.Popen([os.path.join(TARGETS, "parked_threads"), *ARGS],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    for line in proc.stdout:
        if line.startswith("ready"):
            return proc
    raise AssertionError("parked_threads never got ready")


def snapshot_text(*args):
    r = subprocess.run([SNAPSHOT, "--output=-", *map(str, args)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_snapshot_redacts_the_cmdline_and_environment_by_default():
    proc = start_parked(env={**os.environ, "DB_PASSWORD": SECRET,
                             "DATABASE_URL": f"postgres://app:{SECRET}@db/app"})
    try:
        text = snapshot_text("--env", proc.pid)
        assert SECRET not in text
        p = json.loads(text)["process"]
        assert p["cmdline"].endswith(
            "parked_threads 2 --password=<redacted> --token <redacted> "
            "https://u:<redacted>@example.com/x --my-pin=1234")
        assert p["environment"]["DB_PASSWORD"] == "<redacted>"
        assert p["environment"]["DATABASE_URL"] == "postgres://app:<redacted>@db/app"
        assert p["environment"]["PATH"] == os.environ["PATH"]
        # More names; and everything as it is when asked.
        p = json.loads(snapshot_text("--redact=*PIN*", proc.pid))["process"]
        assert p["cmdline"].endswith("--my-pin=<redacted>")
        p = json.loads(snapshot_text("--no-redact", "--env", proc.pid))["process"]
        assert f"--password={SECRET} --token {SECRET}" in p["cmdline"]
        assert p["environment"]["DB_PASSWORD"] == SECRET
    finally:
        proc.kill()
        proc.wait()


def test_the_watchers_snapshots_hold_no_secret(tmp_path):
    spool = tmp_path / "spool"
    w = Watcher("--hold", f"--spool={spool}", "--redact=*pin*")
    try:
        w.wait_stderr("hold points: handled signals")
        ran = run_target("segv_handler_exit", *ARGS[1:])
        rec = w.records_for(ran.pid, "snapshot")
        assert rec["tool_status"] == 0
        w.records_for(ran.pid, "exit")
    finally:
        assert w.stop() == 0
    with open(rec["path"]) as f:
        snap = json.load(f)
    assert snap["process"]["cmdline"].endswith(
        "segv_handler_exit --password=<redacted> --token <redacted> "
        "https://u:<redacted>@example.com/x --my-pin=<redacted>")
    for name in os.listdir(spool):
        if os.path.isfile(spool / name):
            assert SECRET.encode() not in (spool / name).read_bytes(), name
    assert not [line for line in w.stderr_lines if SECRET in line]
    assert not [r for r in w.seen if SECRET in json.dumps(r)]


def test_redact_options_are_checked():
    for tool in ([SNAPSHOT], [os.path.join(os.path.dirname(SNAPSHOT), "crashwatch"), "watch",
                              "--config="]):
        r = subprocess.run([*tool, "--redact=x", "--no-redact", "1"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 2 and "bad --redact 'x': give it or --no-redact, not both" \
            in r.stderr
        r = subprocess.run([*tool, "--redact=", "1"], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 2 and "bad --redact '': give a name or glob" in r.stderr
