"""A local crash backend for the upload tests: generic, Sentry and Backtrace.

Python's standard library only.  It listens on 127.0.0.1 (an ephemeral port),
checks each request the way the real backend would reject it (400 with the
reason as text), records what it accepted, and fails on demand:

    with Receiver(mode="sentry") as rx:
        rx.fail_next(status=429, retry_after=2)       # then 200 again
        rx.fail_next(status=429, rate_limits="60:error:organization")
        rx.slow(3)                                    # every answer 3 s late
        rx.hang()                                     # read requests, never answer
        rx.down(); rx.up()                            # refused, then back on the same port
        ... point crashwatch at rx.sentry_dsn ...
        [req] = rx.wait_for(1)
        req.parsed["event"]["exception"]

Routes: POST /generic (the snapshot itself), POST /api/<project>/envelope/
(a Sentry envelope, X-Sentry-Auth), POST /post?format=json&token=<token>
(a Backtrace report).  A route of another mode answers 404.  Generic and
Backtrace also take multipart/form-data: the snapshot as the part "snapshot"
beside "timeline", Backtrace's report as "upload_file" beside
"attachment_<name>" parts; req.parts holds them.
"""
import email.parser
import email.policy
import gzip
import http.server
import json
import re
import threading
import time
import urllib.parse
import uuid
import zlib

MODES = ("generic", "sentry", "backtrace", "any")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(-?[0-9a-f]+)?$")
SENTRY_ROUTE = re.compile(r"^/api/([^/]+)/envelope/$")


class Invalid(Exception):
    """What the backend would say when it turns a request down (the 400's body)."""


class Request:
    """One request as the receiver saw it."""

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path  # without the query string
        self.query = query  # {name: first value}
        self.headers = headers  # case-insensitive: headers["x-sentry-auth"]
        self.body = body  # bytes, after Content-Encoding
        self.format = None  # "generic", "sentry", "backtrace"
        self.parsed = None  # the JSON; for Sentry {"header", "items", "event"}
        self.parts = {}  # multipart/form-data: {name: Part} (generic, Backtrace)
        self.status = None  # what it was answered
        self.reason = None  # why, when not 200
        self.time = time.monotonic()

    def __repr__(self):
        return f"<Request {self.method} {self.path} {self.status} {self.reason or ''}>"


def _need(obj, key, kind, where):
    if not isinstance(obj, dict) or key not in obj:
        raise Invalid(f"missing {where}{key}")
    value = obj[key]
    # bool is an int to Python, never to a JSON schema
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise Invalid(f"{where}{key} is not {names}")
    return value


def _json_object(data, what):
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise Invalid(f"{what} is not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise Invalid(f"{what} is not a JSON object")
    return doc


class Part:
    """One part of a multipart/form-data body."""

    def __init__(self, name, filename, content_type, data):
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self.data = data  # bytes, exactly as sent


def parse_multipart(content_type, body):
    """RFC 7578 form-data, read strictly: {name: Part}, in order."""
    m = re.match(r'^multipart/form-data;\s*boundary=("?)([^";\s]+)\1\s*$', content_type or "")
    if not m:
        raise Invalid(f"Content-Type {content_type!r} is not multipart/form-data with a boundary")
    delim = b"--" + m.group(2).encode()
    close = b"\r\n" + delim + b"--\r\n"
    if not body.startswith(delim + b"\r\n") or not body.endswith(close):
        raise Invalid("multipart body does not start and end with its boundary")
    parts = {}
    for chunk in body[len(delim) + 2:-len(close)].split(b"\r\n" + delim + b"\r\n"):
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise Invalid("multipart part without a blank line after its headers")
        fields = {}
        for line in head.decode().split("\r\n"):
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
        disp = re.match(r'^form-data; name="([^"]+)"(?:; filename="([^"]+)")?$',
                        fields.get("content-disposition", ""))
        if not disp:
            raise Invalid(f"multipart part with Content-Disposition "
                          f"{fields.get('content-disposition')!r}")
        if disp.group(1) in parts:
            raise Invalid(f"multipart part {disp.group(1)!r} twice")
        parts[disp.group(1)] = Part(disp.group(1), disp.group(2), fields.get("content-type"),
                                    data)
    _as_the_stdlib_reads_it(content_type, body, parts)
    return parts


def _as_the_stdlib_reads_it(content_type, body, parts):
    """The same body through Python's own MIME parser (email, RFC 2046/7578): the parts,
    their names, file names and bytes must be what the strict reading above found."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not msg.is_multipart() or msg.defects:
        raise Invalid(f"Python's email parser reads no clean multipart: {msg.defects}")
    seen = [(p.get_param("name", header="content-disposition"), p.get_filename(),
             p.get_payload(decode=True)) for p in msg.iter_parts()]
    ours = [(p.name, p.filename, p.data) for p in parts.values()]
    if seen != ours:
        raise Invalid("Python's email parser reads other parts: "
                      f"{[(n, f, len(d or b'')) for n, f, d in seen]}")


def _form(req, main, others):
    """The JSON part of a multipart request (main); the rest in req.parts, named as allowed."""
    req.parts = parse_multipart(req.headers.get("Content-Type"), req.body)
    if main not in req.parts:
        raise Invalid(f"multipart body without its {main!r} part")
    for name in req.parts:
        if name != main and not re.match(others, name):
            raise Invalid(f"multipart part {name!r} is not one this backend takes")
    return req.parts[main].data


def check_generic(body):
    doc = _json_object(body, "body")
    if doc.get("version") != 1:
        raise Invalid(f"snapshot version {doc.get('version')!r} is not 1")
    _need(doc, "uuid", str, "")
    _need(doc, "timestamp", str, "")
    _need(doc, "threads", list, "")
    return doc


def parse_envelope(data):
    """Sentry's envelope: a header line, then items of a header line and a payload."""
    nl = data.find(b"\n")
    header = _json_object(data if nl < 0 else data[:nl], "envelope header")
    pos = len(data) if nl < 0 else nl + 1
    items = []
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl == pos:  # a blank line between or after items
            pos += 1
            continue
        end = len(data) if nl < 0 else nl
        item = _json_object(data[pos:end], f"item header {len(items)}")
        pos = end + 1
        if "length" in item:
            n = item["length"]
            if not isinstance(n, int) or n < 0 or pos + n > len(data):
                raise Invalid(f"item {len(items)}: length {n!r} runs past the envelope")
            payload = data[pos:pos + n]
            pos += n
            if pos < len(data):
                if data[pos:pos + 1] != b"\n":
                    raise Invalid(f"item {len(items)}: no newline after its {n} bytes")
                pos += 1
        else:
            nl = data.find(b"\n", pos)
            end = len(data) if nl < 0 else nl
            payload = data[pos:end]
            pos = end + 1
        items.append((item, payload))
    return header, items


def check_sentry_event(event, header):
    event_id = _need(event, "event_id", str, "event.")
    if not HEX32.match(event_id):
        raise Invalid(f"event.event_id {event_id!r} is not 32 lowercase hex digits")
    if header.get("event_id") not in (None, event_id):
        raise Invalid("the envelope header's event_id is not the event's")
    _need(event, "timestamp", (str, int, float), "event.")
    _need(event, "platform", str, "event.")
    values = _need(_need(event, "exception", dict, "event."), "values", list, "event.exception.")
    if not values:
        raise Invalid("event.exception.values is empty")
    for i, ex in enumerate(values):
        where = f"event.exception.values[{i}]."
        _need(ex, "type", str, where)
        _need(ex, "mechanism", dict, where)
        if "stacktrace" in ex:
            frames = _need(ex["stacktrace"], "frames", list, where + "stacktrace.")
            if not frames:
                raise Invalid(where + "stacktrace.frames is empty")
    for i, t in enumerate(_need(_need(event, "threads", dict, "event."), "values", list,
                                "event.threads.")):
        _need(t, "id", int, f"event.threads.values[{i}].")
    images = _need(_need(event, "debug_meta", dict, "event."), "images", list, "event.debug_meta.")
    for i, image in enumerate(images):
        where = f"event.debug_meta.images[{i}]."
        _need(image, "type", str, where)
        _need(image, "code_file", str, where)
        if not GUID.match(_need(image, "debug_id", str, where)):
            raise Invalid(where + f"debug_id {image['debug_id']!r} is not a GUID")


def check_sentry(body):
    header, items = parse_envelope(body)
    events = [payload for item, payload in items if item.get("type") == "event"]
    if len(events) != 1:
        raise Invalid(f"the envelope has {len(events)} event items, not 1")
    event = _json_object(events[0], "the event")
    check_sentry_event(event, header)
    return {"header": header, "items": items, "event": event}


def sentry_auth(value):
    """X-Sentry-Auth: 'Sentry sentry_version=7, sentry_key=..., ...' as a dict."""
    if not value or not value.startswith("Sentry "):
        return None
    fields = {}
    for part in value[len("Sentry "):].split(","):
        key, _, val = part.strip().partition("=")
        fields[key] = val
    return fields


def check_backtrace(body):
    doc = _json_object(body, "body")
    for key, kind in (("uuid", str), ("timestamp", int), ("lang", str), ("langVersion", str),
                      ("agent", str), ("agentVersion", str), ("threads", dict),
                      ("mainThread", str), ("attributes", dict), ("classifiers", list)):
        _need(doc, key, kind, "")
    if doc["mainThread"] not in doc["threads"]:
        raise Invalid(f"mainThread {doc['mainThread']!r} is not a key of threads")
    for tid, t in doc["threads"].items():
        for i, frame in enumerate(_need(t, "stack", list, f"threads[{tid}].")):
            _need(frame, "funcName", str, f"threads[{tid}].stack[{i}].")
    return doc


class _Handler(http.server.BaseHTTPRequestHandler):
    # HTTP/1.1 answers "Expect: 100-continue" at once (curl waits 1 s for it
    # otherwise); every answer closes the connection, so down() leaves no
    # kept-alive connection behind that could still reach the receiver.
    protocol_version = "HTTP/1.1"
    server_version = "crashwatch-test-receiver"

    def log_message(self, fmt, *args):
        pass  # pytest shows the requests through Receiver.log when needed

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, status, body, content_type="text/plain; charset=utf-8", headers=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def do_GET(self):
        self._handle()

    def do_PUT(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def _handle(self):
        rx = self.server.receiver
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        body = self._read_body()
        req = Request(self.command, url.path, query, self.headers, body)
        if rx._hanging.is_set():
            # Logged with no status: the client never hears back.
            req.reason = "never answered (hang)"
            rx._record(req)
            rx._stopping.wait()
            self.close_connection = True
            return
        status, answer, content_type, headers = rx._respond(req)
        # Recorded before the answer: a client that has its answer finds its
        # request in the log, in the order the requests were answered.
        rx._record(req)
        if rx._delay:
            rx._stopping.wait(rx._delay)
        try:
            self._answer(status, answer, content_type, headers)
        except OSError:
            pass  # the client gave up (its timeout): that is the point of slow()


class Receiver:
    """A local HTTP crash backend.  mode: "generic", "sentry", "backtrace" or "any".

    .url                 http://127.0.0.1:PORT
    .generic_url         .url + "/generic"
    .sentry_dsn          http://KEY@127.0.0.1:PORT/PROJECT
    .backtrace_endpoint  .url; with .token for /post?format=json&token=...
    .requests            the requests answered 200, in order
    .log                 every request, with .status and .reason
    """

    def __init__(self, mode="any", sentry_key="0123456789abcdef0123456789abcdef", project="42",
                 token="crashwatch-test-token"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.mode = mode
        self.sentry_key = sentry_key
        self.project = project
        self.token = token
        self._lock = threading.Condition()
        self._behaviours = []  # one popped per request, before any check
        self._delay = 0.0
        self._hanging = threading.Event()
        self._stopping = threading.Event()
        self._requests = []
        self._log = []
        self._server = None
        self._thread = None
        self.port = 0
        self.up()

    # ---- where to send --------------------------------------------------
    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def generic_url(self):
        return self.url + "/generic"

    @property
    def sentry_dsn(self):
        return f"http://{self.sentry_key}@127.0.0.1:{self.port}/{self.project}"

    @property
    def backtrace_endpoint(self):
        return self.url

    # ---- what arrived ---------------------------------------------------
    @property
    def requests(self):
        with self._lock:
            return list(self._requests)

    @property
    def log(self):
        with self._lock:
            return list(self._log)

    def wait_for(self, count=1, timeout=10.0):
        """The first count accepted requests, once they have arrived; AssertionError if not."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._requests) >= count, timeout):
                raise AssertionError(
                    f"{len(self._requests)} of {count} requests accepted in {timeout} s; "
                    f"seen: {self._log}")
            return list(self._requests[:count])

    # ---- how to misbehave -----------------------------------------------
    def fail_next(self, status=500, retry_after=None, rate_limits=None, body=None, count=1):
        """Answer the next count requests with status (not checked, not accepted).

        retry_after: seconds, sent as Retry-After; rate_limits: sent verbatim
        as X-Sentry-Rate-Limits (e.g. "60:error:organization").
        """
        headers = []
        if retry_after is not None:
            headers.append(("Retry-After", str(retry_after)))
        if rate_limits is not None:
            headers.append(("X-Sentry-Rate-Limits", rate_limits))
        text = body if body is not None else f"injected failure {status}"
        with self._lock:
            self._behaviours.extend([(status, text, headers)] * count)

    def slow(self, seconds):
        """Answer every request this many seconds late (0: on time again)."""
        self._delay = float(seconds)

    def hang(self, on=True):
        """Accept connections and read requests, never answer them (they are in
        .log with status None); requests already hanging stay so until stop()."""
        if on:
            self._hanging.set()
        else:
            self._hanging.clear()

    def down(self):
        """Stop listening: connections are refused until up()."""
        server, self._server = self._server, None
        if server:
            server.shutdown()
            server.server_close()
            self._thread.join()

    def up(self):
        """Listen again, on the same port as before (a new one the first time)."""
        if self._server:
            return
        server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True
        server.receiver = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="receiver",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self):
        self._stopping.set()  # slow answers in progress end now
        self.down()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- the backend ----------------------------------------------------
    def _record(self, req):
        with self._lock:
            self._log.append(req)
            if req.status == 200:
                self._requests.append(req)
            self._lock.notify_all()

    def _respond(self, req):
        """(status, body, content type, extra headers) for req; fills req.status/.reason."""
        with self._lock:
            behaviour = self._behaviours.pop(0) if self._behaviours else None
        if behaviour:
            req.status, req.reason, headers = behaviour
            return req.status, req.reason, "text/plain; charset=utf-8", headers
        try:
            status, answer = self._accept(req)
        except Invalid as e:
            req.status, req.reason = 400, str(e)
            return 400, str(e), "text/plain; charset=utf-8", ()
        except _Refused as e:
            req.status, req.reason = e.status, e.reason
            return e.status, e.reason, "text/plain; charset=utf-8", ()
        req.status = status
        return status, json.dumps(answer), "application/json", ()

    def _route(self, req):
        if req.path == "/generic":
            return "generic"
        m = SENTRY_ROUTE.match(req.path)
        if m:
            return "sentry"
        if req.path == "/post":
            return "backtrace"
        raise _Refused(404, f"no route {req.path}")

    def _accept(self, req):
        fmt = self._route(req)
        if self.mode not in ("any", fmt):
            raise _Refused(404, f"this is a {self.mode} receiver, not {fmt}")
        if req.method != "POST":
            raise _Refused(405, f"{req.method} {req.path}: only POST is accepted")
        req.format = fmt
        req.body = _decode(req)
        multipart = (req.headers.get("Content-Type") or "").startswith("multipart/")
        if fmt == "generic":
            body = _form(req, "snapshot", r"^timeline$") if multipart else req.body
            req.parsed = check_generic(body)
            return 200, {"id": req.parsed["uuid"]}
        if fmt == "sentry":
            project = SENTRY_ROUTE.match(req.path).group(1)
            if project != self.project:
                raise _Refused(404, f"no Sentry project {project}")
            auth = sentry_auth(req.headers.get("X-Sentry-Auth"))
            if auth is None:
                raise _Refused(401, "missing X-Sentry-Auth header (Sentry sentry_key=...)")
            if auth.get("sentry_key") != self.sentry_key:
                raise _Refused(401, f"unknown sentry_key {auth.get('sentry_key')!r}")
            if auth.get("sentry_version") != "7":
                raise Invalid(f"sentry_version {auth.get('sentry_version')!r} is not 7")
            req.parsed = check_sentry(req.body)
            return 200, {"id": req.parsed["event"]["event_id"]}
        if req.query.get("format") != "json":
            raise Invalid(f"format {req.query.get('format')!r} is not json")
        if req.query.get("token") != self.token:
            raise _Refused(401, f"invalid token {req.query.get('token')!r}")
        # Backtrace's form: the report as upload_file, files as attachment_<name>.
        body = _form(req, "upload_file", r"^attachment_.+") if multipart else req.body
        req.parsed = check_backtrace(body)
        return 200, {"response": "ok", "_rxid": str(uuid.uuid4())}


class _Refused(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _decode(req):
    encoding = (req.headers.get("Content-Encoding") or "identity").lower()
    try:
        if encoding == "gzip":
            return gzip.decompress(req.body)
        if encoding == "deflate":
            return zlib.decompress(req.body)
    except (OSError, zlib.error) as e:
        raise Invalid(f"body is not valid {encoding}: {e}") from None
    if encoding != "identity":
        raise Invalid(f"Content-Encoding {encoding} is not supported")
    return req.body
