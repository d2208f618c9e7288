"""The local crash backend of the upload tests (tests/receiver.py), checked with urllib alone."""
import gzip
import json
import socket
import time
import urllib.error
import urllib.request

import pytest

from receiver import Receiver

UUID = "95a9da7a-1d6e-4f2e-8f15-96b4bb171933"


def post(url, body, headers=None, timeout=5):
    """(status, headers, body) of a POST; HTTP errors are answers too."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def snapshot(**change):
    doc = {"version": 1, "uuid": UUID, "timestamp": "2026-11-23T19:10:28.913915Z",
           "threads": [{"tid": 1, "faulted": True, "frames": []}]}
    doc.update(change)
    return {k: v for k, v in doc.items() if v is not None}


def event(**change):
    ev = {
        "event_id": UUID.replace("-", ""), "timestamp": "2026-11-23T19:10:28Z",
        "platform": "native", "level": "fatal",
        "exception": {"values": [{
            "type": "SIGSEGV", "value": "null-pointer-dereference: SEGV_MAPERR at 0x0",
            "mechanism": {"type": "signalhandler", "handled": False},
            "stacktrace": {"frames": [{"instruction_addr": "0x55978e6d726c"}]}}]},
        "threads": {"values": [{"id": 3783, "crashed": True}]},
        "debug_meta": {"images": [{"type": "elf", "code_file": "/opt/app/x",
                                   "debug_id": "ec61ac93-8e5a-39b1-6f9f-bd350e3169a5"}]},
    }
    ev.update(change)
    return {k: v for k, v in ev.items() if v is not None}


def envelope(ev, length=True):
    payload = json.dumps(ev).encode()
    item = {"type": "event", "length": len(payload)} if length else {"type": "event"}
    return b"\n".join([json.dumps({"event_id": ev.get("event_id"), "sent_at": "x"}).encode(),
                       json.dumps(item).encode(), payload, b""])


def sentry_headers(rx, key=None):
    return {"Content-Type": "application/x-sentry-envelope",
            "X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key or rx.sentry_key}, "
                             "sentry_client=crashwatch/0.1.0"}


def sentry_url(rx):
    # the URL crashwatch derives from rx.sentry_dsn
    return f"{rx.url}/api/{rx.project}/envelope/"


def report(**change):
    r = {"uuid": UUID, "timestamp": 1795461028, "lang": "c", "langVersion": "native",
         "agent": "crashwatch", "agentVersion": "0.1.0",
         "threads": {"3783": {"name": "worker", "fault": True,
                              "stack": [{"funcName": "worker_crash", "address": "0x1"}]}},
         "mainThread": "3783", "attributes": {"hostname": "vm"}, "classifiers": ["SIGSEGV"]}
    r.update(change)
    return {k: v for k, v in r.items() if v is not None}


def backtrace_url(rx, token=None):
    return f"{rx.backtrace_endpoint}/post?format=json&token={token or rx.token}"


@pytest.fixture
def rx():
    with Receiver() as r:
        yield r


def test_generic_accepted_and_recorded(rx):
    status, _, body = post(rx.generic_url, snapshot(), {"Content-Type": "application/json"})
    assert status == 200 and json.loads(body) == {"id": UUID}
    [req] = rx.wait_for(1)
    assert (req.method, req.path, req.format) == ("POST", "/generic", "generic")
    assert req.headers["content-type"] == "application/json"
    assert req.parsed["uuid"] == UUID


@pytest.mark.parametrize("doc,reason", [
    (snapshot(version=2), "snapshot version 2 is not 1"),
    (snapshot(uuid=None), "missing uuid"),
    (snapshot(threads={}), "threads is not list"),
    (b"{nope", "body is not JSON"),
])
def test_generic_refused_with_the_reason(rx, doc, reason):
    status, _, body = post(rx.generic_url, doc)
    assert status == 400 and reason in body
    assert rx.requests == [] and rx.log[0].reason == body


def test_sentry_envelope_accepted_and_parsed(rx):
    status, _, body = post(sentry_url(rx), envelope(event()), sentry_headers(rx))
    assert status == 200, body
    [req] = rx.wait_for(1)
    assert req.format == "sentry"
    assert req.parsed["header"]["event_id"] == UUID.replace("-", "")
    assert req.parsed["items"][0][0]["type"] == "event"
    assert req.parsed["event"]["exception"]["values"][0]["type"] == "SIGSEGV"
    # an item without a length runs to the end of its line
    assert post(sentry_url(rx), envelope(event(), length=False), sentry_headers(rx))[0] == 200


@pytest.mark.parametrize("ev,reason", [
    (event(exception=None), "missing event.exception"),
    (event(exception={"values": []}), "event.exception.values is empty"),
    (event(threads=None), "missing event.threads"),
    (event(debug_meta=None), "missing event.debug_meta"),
    (event(debug_meta={"images": [{"type": "elf", "code_file": "x", "debug_id": "93ac61ec"}]}),
     "is not a GUID"),
    (event(event_id="95a9da7a-1d6e-4f2e-8f15-96b4bb171933"), "is not 32 lowercase hex"),
])
def test_sentry_event_refused_with_the_reason(rx, ev, reason):
    status, _, body = post(sentry_url(rx), envelope(ev), sentry_headers(rx))
    assert status == 400 and reason in body, body


def test_sentry_auth_and_project(rx):
    status, _, body = post(sentry_url(rx), envelope(event()), sentry_headers(rx, key="other"))
    assert status == 401 and "unknown sentry_key 'other'" in body
    assert post(sentry_url(rx), envelope(event()), {})[0] == 401
    status, _, body = post(f"{rx.url}/api/7/envelope/", envelope(event()), sentry_headers(rx))
    assert status == 404 and "no Sentry project 7" in body
    assert rx.requests == []


def test_backtrace_report_accepted(rx):
    status, _, body = post(backtrace_url(rx), report())
    assert status == 200 and json.loads(body)["response"] == "ok"
    [req] = rx.wait_for(1)
    assert req.format == "backtrace" and req.query == {"format": "json", "token": rx.token}
    assert req.parsed["mainThread"] == "3783"


@pytest.mark.parametrize("doc,reason", [
    (report(mainThread=None), "missing mainThread"),
    (report(mainThread="1"), "mainThread '1' is not a key of threads"),
    (report(timestamp="2026-11-23"), "timestamp is not int"),
    (report(timestamp=True), "timestamp is not int"),
    (report(langVersion=None), "missing langVersion"),
    (report(classifiers=None), "missing classifiers"),
    (report(threads={"1": {"stack": [{}]}}, mainThread="1"), "threads[1].stack[0].funcName"),
])
def test_backtrace_refused_with_the_reason(rx, doc, reason):
    status, _, body = post(backtrace_url(rx), doc)
    assert status == 400 and reason in body, body


def test_backtrace_token(rx):
    status, _, body = post(backtrace_url(rx, token="wrong"), report())
    assert status == 401 and "invalid token" in body


def test_a_mode_answers_only_its_routes():
    with Receiver(mode="backtrace") as rx:
        status, _, body = post(rx.generic_url, snapshot())
        assert status == 404 and "backtrace receiver" in body
        assert post(backtrace_url(rx), report())[0] == 200
    with pytest.raises(ValueError):
        Receiver(mode="bugsnag")


def test_fail_next_then_success(rx):
    rx.fail_next(status=500)
    rx.fail_next(status=429, retry_after=2)
    rx.fail_next(status=429, rate_limits="60:error:organization")
    status, _, _ = post(rx.generic_url, snapshot())
    assert status == 500
    status, headers, _ = post(rx.generic_url, snapshot())
    assert status == 429 and headers["Retry-After"] == "2"
    status, headers, _ = post(rx.generic_url, snapshot())
    assert status == 429 and headers["X-Sentry-Rate-Limits"] == "60:error:organization"
    assert post(rx.generic_url, snapshot())[0] == 200
    assert [r.status for r in rx.log] == [500, 429, 429, 200]
    assert len(rx.requests) == 1


def test_fail_next_count(rx):
    rx.fail_next(status=503, count=2)
    assert [post(rx.generic_url, snapshot())[0] for _ in range(3)] == [503, 503, 200]


def test_slow_makes_a_client_time_out(rx):
    rx.slow(1.0)
    t0 = time.monotonic()
    with pytest.raises((socket.timeout, urllib.error.URLError)):
        post(rx.generic_url, snapshot(), timeout=0.2)
    assert time.monotonic() - t0 < 0.9
    rx.slow(0)
    assert post(rx.generic_url, snapshot())[0] == 200


def test_down_refuses_connections_and_up_listens_on_the_same_port(rx):
    port = rx.port
    rx.down()
    with pytest.raises(urllib.error.URLError) as e:
        post(rx.generic_url, snapshot(), timeout=2)
    assert isinstance(e.value.reason, ConnectionRefusedError)
    rx.up()
    assert rx.port == port
    assert post(rx.generic_url, snapshot())[0] == 200


def test_gzip_body_and_expect_continue(rx):
    # libcurl sends Expect: 100-continue for larger bodies and waits up to 1 s for the
    # interim answer, which the receiver gives at once (HTTP/1.1)
    big = snapshot(threads=[{"tid": i, "frames": []} for i in range(2000)])
    t0 = time.monotonic()
    status, _, _ = post(rx.generic_url, gzip.compress(json.dumps(big).encode()),
                        {"Content-Encoding": "gzip", "Expect": "100-continue"})
    assert status == 200 and time.monotonic() - t0 < 0.5
    assert len(rx.wait_for(1)[0].parsed["threads"]) == 2000
    status, _, body = post(rx.generic_url, b"not gzip", {"Content-Encoding": "gzip"})
    assert status == 400 and "not valid gzip" in body


def test_wait_for_says_what_arrived(rx):
    post(rx.generic_url, snapshot(version=3))
    with pytest.raises(AssertionError, match="0 of 1 requests accepted"):
        rx.wait_for(1, timeout=0.2)
