# The Python send path (azure/_http.py, used where the firmware leaves the
# native one out, as on the WiPy) against the native one: the same bytes,
# the same exceptions, the same parse of every split of real responses.
import _azure

try:
    from azure import _http
except ImportError:
    print("SKIP")
    raise SystemExit

seed = 12345


def rnd(n):
    global seed
    seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
    return seed % n


def pick(xs):
    return xs[rnd(len(xs))]


NAMES = ["hub", "a b", "dev/1", "é", "x" * 40, ""]
TEXT = ["", "v", "Strong Wind", "a\r\nInjected: 1", "nul\x00", "tab\tok", "é", '"q"\\', "\x01\x1f"]
PROPNAMES = ["Alert", "n", "bad name", "Host", "content-length", "x:y", "ok-1_2.3~"]


def call(f, *a, **kw):
    try:
        return f(*a, **kw)
    except (TypeError, ValueError) as e:
        return type(e).__name__


same = differ = raised = 0
for i in range(600):
    kind = rnd(3)
    kw = {}
    if kind == 0 and rnd(3) == 0:
        kw["publisher"] = pick(NAMES)
    elif kind == 0 and rnd(3) == 0:
        kw["partition_id"] = pick(["0", "1", ""])
    if kind == 2 and rnd(3) == 0:
        kw["module_id"] = pick(NAMES)
    if kind != 2 and rnd(3) == 0:
        kw["partition_key"] = pick(TEXT) if rnd(2) else "pk"
    if rnd(8) == 0:
        kw["content_type"] = pick(["text/plain", "", "a\nb"])
    if rnd(2) == 0:
        kw["properties"] = {pick(PROPNAMES) if rnd(3) == 0 else "p%d" % k: pick(TEXT) if rnd(3) == 0 else "v %d" % k
                            for k in range(rnd(4))}
    kw["batch"] = rnd(3) == 0
    kw["keep_alive"] = rnd(4) != 0
    bad = rnd(4) == 0  # one request in four gets a bad host, token or size
    args = (kind, pick(["bad host", ""]) if bad and rnd(3) == 0 else pick(["ns.servicebus.windows.net", "h:443"]),
            pick(NAMES) if rnd(4) == 0 else "hub",
            "tok\n" if bad and rnd(2) else "SharedAccessSignature sr=a&sig=b&se=1",
            262145 if bad and rnd(2) else pick([0, 5, 262144]))
    a = call(_azure.frame_request, *args, **kw)
    b = call(_http.frame_request, *args, **kw)
    if a == b:
        same += 1
        raised += isinstance(a, str)
    else:
        differ += 1
        print("frame_request differs:", args, kw, a, b)
print("frame_request", same, "same,", differ, "differ,", raised, "raised")

same = differ = raised = 0
for i in range(400):
    kind = rnd(3)
    events = []
    for _ in range(rnd(4)):
        body = pick(TEXT + [b"\x00\xff", bytearray(b"ba"), memoryview(b"mv"), "json", "json"])
        r = rnd(4)
        if r == 0:
            events.append(body)
        elif r == 1:
            events.append((body, {pick(PROPNAMES): pick(TEXT)}))
        elif r == 2:
            events.append((body, None, pick(["pk", "é"])) if kind != 2 else (body, None))
        else:
            events.append((body,))
    ms = pick([262144, 40, 1])
    a = call(_azure.frame_batch, kind, events, max_size=ms)
    b = call(_http.frame_batch, kind, events, max_size=ms)
    if a == b:
        same += 1
        raised += isinstance(a, str)
    else:
        differ += 1
        print("frame_batch differs:", kind, events, ms, a, b)
print("frame_batch", same, "same,", differ, "differ,", raised, "raised")

RESPONSES = [
    b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nServer: Microsoft-HTTPAPI/2.0\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\niothub-errorcode: x\r\n\r\n",
    b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/xml\r\nContent-Length: 44\r\n\r\n<Error><Code>401</Code><Detail>x</Detail></Error>"[:130],
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 4\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nbusy!\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    b"HTTP/1.0 500 Oops\r\n\r\nread until close",
    b"HTTP/1.0 201 Created\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
    b"garbage\r\n\r\n",
]


def parse(cls, data, cut1, cut2):
    r = cls()
    out = []
    try:
        for part in (data[:cut1], data[cut1:cut2], data[cut2:]):
            out.append(r.feed(part))
        r.eof()
    except OSError:
        out.append("OSError")
    return (out, r.status, r.complete, r.keep_alive, r.retry_after, r.error_text)


same = differ = 0
for data in RESPONSES:
    for c1 in range(0, len(data) + 1, 3):
        for c2 in range(c1, len(data) + 1, 7):
            a = parse(_azure.Response, data, c1, c2)
            b = parse(_http.Response, data, c1, c2)
            if a == b:
                same += 1
            else:
                differ += 1
                if differ < 5:
                    print("Response differs:", data, c1, c2, a, b)
print("Response", same, "splits same,", differ, "differ")

for st in (100, 200, 201, 204, 299, 301, 400, 401, 403, 404, 408, 410, 413, 429, 500, 503, 599, 600):
    if _azure.classify(st) != _http.classify(st):
        print("classify differs", st)
for args in ((0, 0), (3, 12345), (40, 2**32 - 1), (5, 999, 2), (1, 7, 200)):
    kw = {"retry_after": args[2]} if len(args) > 2 else {}
    if _azure.backoff_ms(args[0], args[1], **kw) != _http.backoff_ms(args[0], args[1], **kw):
        print("backoff differs", args)
print("classify and backoff compared")
