"""Issue 18, item 3: --metrics=ADDR:PORT serves the counters at /metrics in the
Prometheus text format, read here by Prometheus's own parser (Debian's
python3-prometheus-client), during a storm of real crashes held at every kind
of hold point, uploaded to a local backend."""
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from conftest import WATCHER, Watcher, run_target, wait_until
from receiver import Receiver


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port):
    """{sample name: {frozenset(labels): value}} and the families' types, as Prometheus reads them."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    samples, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            samples.setdefault(s.name, {})[frozenset(s.labels.items())] = s.value
    return samples, types


def value(samples, name, **labels):
    return samples[name][frozenset(labels.items())]


def total(samples, name, **labels):
    """The sum over the series of name whose labels include these."""
    want = set(labels.items())
    return sum(v for ls, v in samples.get(name, {}).items() if want <= ls)


def outcomes(w):
    return [r for r in w.seen if r["type"] in ("snapshot", "suppressed")]


def test_metrics_during_a_crash_storm_agree_with_the_records(tmp_path):
    port = free_port()
    spool = tmp_path / "spool"
    spool.mkdir()
    stop = threading.Event()
    scrapes, errors = [], []

    def scraper():
        while not stop.is_set():
            try:
                scrapes.append(scrape(port)[0])
            except Exception as e:  # noqa: BLE001 - kept to fail the test below
                errors.append(repr(e))
            time.sleep(0.05)

    with Receiver(mode="generic") as rx:
        # A rate limit low enough that part of the storm is suppressed.
        w = Watcher("--hold", f"--spool={spool}", f"--upload=generic:{rx.generic_url}",
                    f"--metrics=127.0.0.1:{port}", "--rate-limit=2", "--rate-burst=6",
                    "--dedup-window=0")
        t = threading.Thread(target=scraper)
        try:
            w.wait_stderr(rf"serving the counters at http://127.0.0.1:{port}/metrics")
            t.start()
            ran = []
            for i in range(12):
                for name in ("null_deref", "abort", "segv_handler_exit"):
                    ran.append((name, run_target(name).pid))
            for name, pid in ran:
                w.wait_for(lambda r, p=pid: r["pid"] == p and r["type"] in
                           ("snapshot", "suppressed"), 30, f"the outcome of {name} {pid}")
            wait_until(lambda: not [n for n in os.listdir(spool) if n.endswith(".json")],
                       30, "the spool to be uploaded")
            stop.set()
            t.join()
            # Quiet now: one scrape and one SIGUSR1 line of the same moment.
            m, types = scrape(port)
            # No counters line is said before this one (only at the stop).
            os.kill(w.pid(), signal.SIGUSR1)
            w.wait_stderr(r"crashwatch: counters: ", 10)
            line = w.counters()
            files = [n for n in os.listdir(spool) if n.endswith(".json")]
        finally:
            stop.set()
            if t.is_alive():
                t.join()
            assert w.stop() == 0
        accepted = len(rx.log)

    assert not errors, errors[:3]
    assert len(scrapes) >= 5, "the scraper hardly ever got an answer during the storm"
    # Counters only go up, scrape after scrape.
    for a, b in zip(scrapes, scrapes[1:]):
        for name in ("crashwatch_crashes_total", "crashwatch_snapshots_total",
                     "crashwatch_hold_duration_seconds_count"):
            assert total(b, name) >= total(a, name), name

    assert types["crashwatch_crashes"] == "counter"
    assert types["crashwatch_hold_duration_seconds"] == "histogram"
    assert types["crashwatch_spool_files"] == "gauge"
    # Every crash of ours is counted by its signal and where it was held.
    n = 12
    assert total(m, "crashwatch_crashes_total", signal="SIGSEGV", held_at="core") >= n
    assert total(m, "crashwatch_crashes_total", signal="SIGABRT", held_at="abort") >= n
    assert total(m, "crashwatch_crashes_total", signal="SIGSEGV", held_at="handler") >= n
    # What /metrics says is what the records said (the watcher sees every crash on the host).
    seen = outcomes(w)
    snaps = [r for r in seen if r["type"] == "snapshot"]
    assert total(m, "crashwatch_crashes_total") == len(seen)
    assert value(m, "crashwatch_snapshots_total", kind="suppressed") == \
        len([r for r in seen if r["type"] == "suppressed"]) > 0
    assert value(m, "crashwatch_snapshots_total", kind="full") == \
        len([r for r in snaps if not r["partial"] and r["path"]]) > 0
    assert value(m, "crashwatch_snapshots_total", kind="partial") == \
        len([r for r in snaps if r["partial"] and r["path"]])
    # The holds' durations: one observation per held crash, their sum the records' sum.
    held = [r["held_ms"] for r in snaps if r["held_ms"] > 0]
    assert value(m, "crashwatch_hold_duration_seconds_count") == len(held)
    assert abs(value(m, "crashwatch_hold_duration_seconds_sum") - sum(held) / 1000) < 0.01
    buckets = sorted((float(dict(ls)["le"]), v)
                     for ls, v in m["crashwatch_hold_duration_seconds_bucket"].items())
    assert buckets[-1] == (float("inf"), len(held))
    for le, count in buckets:
        assert count == len([h for h in held if h / 1000 <= le]), le
    # Uploads as the backend counted them; the spool as it is on disk.
    assert value(m, "crashwatch_uploads_total", result="ok") == accepted == \
        len([r for r in snaps if r["path"]])
    assert value(m, "crashwatch_uploads_total", result="failed") == 0
    assert value(m, "crashwatch_spool_files") == len(files) == 0
    assert value(m, "crashwatch_dropped_ringbuf_full_total") == 0
    # The SIGUSR1 line says the same numbers under the same names.
    assert line["uploaded"] == value(m, "crashwatch_uploads_total", result="ok")
    assert line["snapshots_full"] == value(m, "crashwatch_snapshots_total", kind="full")
    assert line["crashes"] == total(m, "crashwatch_crashes_total")
    for name, v in line.items():
        if name in ("uploaded", "upload_refused", "upload_retries", "crashes") or \
                name.startswith("snapshots_"):
            continue
        got = m.get(f"crashwatch_{name}_total", m.get(f"crashwatch_{name}"))
        assert got is not None, f"{name} is on the SIGUSR1 line but not at /metrics"
        assert got[frozenset()] == v, name


def raw(port, data, read_timeout=10):
    """What the server answers to these bytes (b"" when it closed without a word)."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def test_metrics_refuses_what_is_not_a_scrape_and_outlasts_a_silent_client(tmp_path):
    port = free_port()
    w = Watcher(f"--metrics={port}")
    try:
        w.wait_stderr(rf"serving the counters at http://127.0.0.1:{port}/metrics")
        assert raw(port, b"GET /other HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 404")
        assert raw(port, b"POST /metrics HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405")
        assert raw(port, b"GET metrics\r\n\r\n").startswith(b"HTTP/1.1 400")
        # Exactly the most a head may take, with no end: nothing left unread to reset
        # the connection before the answer is read.
        head = b"GET /metrics HTTP/1.1\r\nX: "
        assert raw(port, head + b"a" * (8192 - len(head))).startswith(b"HTTP/1.1 431")
        # A client that connects and says nothing is cut off; the next is served,
        # and a crash meanwhile is reported all the same.
        silent = socket.create_connection(("127.0.0.1", port))
        ran = run_target("null_deref")
        w.records_for(ran.pid, "signal")
        silent.settimeout(30)
        assert silent.recv(1) == b""  # closed by the server
        silent.close()
        m, _ = scrape(port)
        assert total(m, "crashwatch_crashes_total", signal="SIGSEGV", held_at="none") >= 1
    finally:
        assert w.stop() == 0


def test_bad_metrics_addresses_are_refused_before_watching(tmp_path):
    for spec, said in (("127.0.0.1:0", "bad --metrics"), ("localhost:9464", "numeric"),
                       ("127.0.0.1:99999", "bad --metrics")):
        r = subprocess.run([WATCHER, "watch", "--config=", "--no-hold", f"--metrics={spec}"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, (spec, r.stderr)
        assert said in r.stderr, (spec, r.stderr)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run([WATCHER, "watch", "--config=", "--no-hold",
                            f"--metrics=127.0.0.1:{port}"],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    assert re.search(rf"failed to listen on 127.0.0.1:{port} .*Address already in use",
                     r.stderr), r.stderr
