# The Python fallbacks (azure/_http.py and azure/_connstr.py, what the WiPy
# runs) against the natives on hostile input: the same result bytes, the
# same exception type, the same message for ValueError and OSError.
# Prints the mismatches (none expected).
import gc
import _azure

try:
    from azure import _http, _connstr

    _azure.frame_request, _azure.parse_connection_string
except (ImportError, AttributeError):
    print("SKIP")
    raise SystemExit

N = 2000  # "huge", within a small board's heap for both implementations
T = "SharedAccessSignature sr=a&sig=b&se=1&skn=n"
H = "ns.servicebus.windows.net"
compared = 0
mismatches = []


def outcome(f, args, kw):
    try:
        r = f(*args, **kw)
    except (TypeError, ValueError, OSError) as e:
        return (type(e).__name__, "" if isinstance(e, TypeError) else str(e.args[0]))
    except Exception as e:  # anything else is a mismatch by itself
        return ("!" + type(e).__name__, str(e))
    return ("ok", r)


def same(label, native, python, *args, **kw):
    global compared
    compared += 1
    a = outcome(native, args, kw)
    b = outcome(python, args, kw)
    if a != b or a[0][0] == "!":
        mismatches.append((label, args[:2], kw, a, b))


BADS = (None, 5, 1.5, b"x", bytearray(b"x"), ["x"], "", "\u00e9", "a\r\nX: y", "a\x00", "\x7f", "x" * N)
INTS = (-1, 0, 1, 2, 3, 2**31, 2**32, 2**64, 2**100, -(2**100), True, 1.0, "1", None)

# frame_request
fr = (_azure.frame_request, _http.frame_request)
for kind in INTS:
    same("kind", *fr, kind, H, "hub", T, 0)
for bad in BADS:
    same("host", *fr, 0, bad, "hub", T, 0)
    same("entity", *fr, 0, H, bad, T, 0)
    same("token", *fr, 0, H, "hub", bad, 0)
    for opt in ("publisher", "partition_id", "content_type", "partition_key"):
        same(opt, *fr, 0, H, "hub", T, 0, **{opt: bad})
    same("module_id", *fr, 2, H, "dev", T, 0, module_id=bad)
    same("prop value", *fr, 0, H, "hub", T, 0, properties={"k": bad})
    if not isinstance(bad, (list, bytearray)):  # hashable
        same("prop name", *fr, 0, H, "hub", T, 0, properties={bad: "v"})
for n in INTS:
    same("body_len", *fr, 0, H, "hub", T, n)
    same("max_size", *fr, 0, H, "hub", T, 1, max_size=n)
for props in (5, "a", [("a", "b")], {}, {"Host": "x"}, {"a:b": "x"}, {str(i): "v" for i in range(17)}):
    same("properties", *fr, 0, H, "hub", T, 0, properties=props)
for host in (":", ":1", "h:", "h:1:2", "h_1", "h/x", "[::1]", ".", "-", "h" * N):
    same("host", *fr, 0, host, "hub", T, 0)
same("combination", *fr, 0, H, "hub", T, 0, publisher="p", partition_id="1")
same("combination", *fr, 1, H, "q", T, 0, publisher="p")
same("combination", *fr, 2, H, "d", T, 0, partition_key="k")
same("combination", *fr, 0, H, "hub", T, 0, module_id="m")
same("combination", *fr, 0, H, "hub", T, 0, batch=True, content_type="x")
gc.collect()

# frame_batch
fb = (_azure.frame_batch, _http.frame_batch)
for kind in INTS:
    same("batch kind", *fb, kind, ["x"])
for n in INTS:
    same("batch max_size", *fb, 0, ["x"], max_size=n)
for evs in (None, 5, "abc", b"abc", {"a": 1}, [], (), ["x"] * 500, tuple(["y"] * 10)):
    for kind in (0, 2):
        same("events", *fb, kind, evs)
EVS = (5, None, 1.5, ["x"], (), ("a", {}, "pk", 1), (5,), ("a", 5), ("a", [("k", "v")]), ("a", {1: "v"}),
       ("a", {"k": 1}), ("a", None, 5), ("a", None, b"pk"), b"\xff\xfe", ("a", {"k": "\xff"}), "",
       ("a\x00\r\n\"\\\t\x7f", {"k\r\n\"": "v\x00"}), ("\U0001f600", {"\u00e9": "\u20ac"}, None), ("a", None, ""),
       ("a", None, 'k\r\n"\x00'), ("a", {"": "v"}), ("a", {str(i): "v" for i in range(17)}), bytearray(b"b"),
       memoryview(b"m"), "x" * N)
for ev in EVS:
    for kind in (0, 1, 2):
        same("event", *fb, kind, [ev])
        same("event after", *fb, kind, ["ok", ev])
for size in (10, 20, 21, 22, 30):
    same("batch size", *fb, 0, ["0123456789"], max_size=size)
    same("batch size", *fb, 2, [b"0123456789"], max_size=size)
gc.collect()

# classify, backoff_ms
for s in INTS + (99, 100, 200, 401, 408, 429, 500, 599, 600, 999, 1000):
    same("classify", _azure.classify, _http.classify, s)
for a in INTS:
    same("attempt", _azure.backoff_ms, _http.backoff_ms, a, 12345)
    same("rand", _azure.backoff_ms, _http.backoff_ms, 3, a)
    same("retry_after", _azure.backoff_ms, _http.backoff_ms, 3, 77, retry_after=a)
    same("base_ms", _azure.backoff_ms, _http.backoff_ms, 3, 77, base_ms=a)
    same("cap_ms", _azure.backoff_ms, _http.backoff_ms, 3, 2**32 - 1, cap_ms=a)
for a in (31, 32, 33, 64, 2**32 - 1):
    same("big attempt", _azure.backoff_ms, _http.backoff_ms, a, 2**32 - 1, base_ms=2**32 - 1, cap_ms=2**32 - 1)
gc.collect()


# Response: feed the same pieces to both, compare every outcome and the state.
def state(r):
    return (r.status, r.complete, r.keep_alive, r.want, r.retry_after, r.error_text)


def responses(label, data, piece=0, eof=True):
    global compared
    compared += 1
    got = []
    for R in (_azure.Response, _http.Response):
        r = R()
        consumed = 0
        err = None
        step = piece or len(data) or 1
        for i in range(0, len(data), step):
            o = outcome(r.feed, (data[i:i + step],), {})
            if o[0] != "ok":
                err = o
                break
            consumed += o[1]
        got.append((consumed, err, outcome(r.eof, (), {}) if eof else None, state(r)))
    if got[0] != got[1]:
        mismatches.append((label, data[:60], piece, got[0], got[1]))


OK = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
for line in (b"", b"\r\n", b"HTTP/1.1\r\n", b"HTTP/1.1 20\r\n", b"HTTP/1.1 2000 x\r\n", b"HTTP/1.1 099 x\r\n",
             b"HTTP/1.1 +01 x\r\n", b"HTTP/2 200 x\r\n", b"http/1.1 200 x\r\n", b"HTTP/1.1 200\r\n",
             b"HTTP/1.1 200 \x00\xff\r\n", b"\x00" * 200 + b"\r\n", b"\n", b"HTTP/1.0 200 OK\r\n"):
    responses("status line", line + b"Content-Length: 0\r\n\r\n")
for hdr in (b"Content-Length: -1", b"Content-Length: +5", b"Content-Length: 0x10", b"Content-Length: 1 2",
            b"Content-Length: 4294967295", b"Content-Length: 4294967296", b"Content-Length: ",
            b"Content-Length: 2\r\nContent-Length: 3", b"Content-Length: 2\r\nContent-Length: 2",
            b"Content-Length : 2", b" Content-Length: 2", b"Transfer-Encoding: chunked\r\nContent-Length: 2",
            b"Transfer-Encoding: gzip", b"Transfer-Encoding: xchunked", b"Transfer-Encoding: chunked, gzip",
            b"Retry-After: -5", b"Retry-After: 99999999999999999999", b"Retry-After: 1.5", b"Retry-After: \x00",
            b"Connection: close", b"Connection: keep-alive, close", b"Connection: Close", b"No colon",
            b"X: " + b"v" * 500, b"Content-Length: " + b"0" * 500 + b"2", b"Retry-After: " + b"0" * 500 + b"3",
            b"X\x00Y: z", b": empty"):
    for piece in (0, 1, 7):
        responses("header", b"HTTP/1.1 503 Busy\r\n" + hdr + b"\r\n\r\nok", piece)
TE = b"HTTP/1.1 500 Err\r\nTransfer-Encoding: chunked\r\n\r\n"
for body in (b"2\r\nok\r\n0\r\n\r\n", b"ffffffff\r\n", b"100000000\r\n", b"-1\r\n", b"+2\r\nok\r\n0\r\n\r\n",
             b"0x2\r\nok\r\n0\r\n\r\n", b" 2\r\nok\r\n0\r\n\r\n", b"2 \r\nok\r\n0\r\n\r\n", b"zz\r\n", b"\r\n",
             b"2;" + b"x" * 500 + b"\r\nok\r\n0\r\n\r\n", b"0" * 500 + b"2\r\nok\r\n0\r\n\r\n", b"2\r\nokXX0\r\n\r\n",
             b"2\r\nok\r\n0\r\nT: v\r\n\r\n", b"2\r\nok\r\n"):
    for piece in (0, 1, 5):
        responses("chunked", TE + body, piece)
for data in (OK + OK, b"HTTP/1.1 100 Continue\r\n\r\n" + OK, b"HTTP/1.1 204 No\r\nContent-Length: 5\r\n\r\n",
             b"HTTP/1.1 200 OK\r\n\r\n" + b"e" * N, b"HTTP/1.1 200 OK\r\nX: " + b"v" * N + b"\r\n\r\n",
             b"\r\n" * N, b"HTTP/1.1 200 OK\r\n" + b"\x00" * N):
    responses("body", data, 0, eof=False)
    responses("body", data, 0)
    responses("body", data, 256)
gc.collect()

# parse_connection_string
pc = (_azure.parse_connection_string, _connstr.parse_connection_string)
CS = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=n;SharedAccessKey=k;EntityPath=hub"
for s in (None, 5, CS.encode(), [CS], "", " ", ";;;", "=", "=x", "x", ";=;", "a=b", "\x00=\x00", CS, CS + ";",
          CS + ";x", CS + "; ;", CS + ";SharedAccessKey=k2", CS + ";O=1;O=2", CS.replace("sb://", "https://"),
          CS.replace("sb://ns.servicebus.windows.net/", "sb://"), CS.replace("windows.net/", "windows.net"),
          CS.replace("windows.net/", "windows.net//"), CS.replace("ns.", "n s."), CS.replace("n;", ";"),
          "HostName=h;DeviceId=d\u00e9\x00\r\n;SharedAccessKey=k;ModuleId=\U0001f600", "HostName=;DeviceId=d;SharedAccessKey=k",
          "HostName=h b;DeviceId=d;SharedAccessKey=k", "HostName=h;SharedAccessKey=k", "HostName=h;DeviceId=d",
          "HostName=h;DeviceId=;SharedAccessKeyName=p;SharedAccessKey=k", " HostName=h;DeviceId=d;SharedAccessKey=k",
          "HostName=h ;DeviceId=d;SharedAccessKey=k", "Endpoint=sb://a/;HostName=h;DeviceId=d;SharedAccessKey=k",
          CS + ";x=" + "y" * 4000, CS + ";x=" + "y" * 5000, "x=1;" * 1100):
    compared += 1
    a = outcome(pc[0], (s,), {})
    b = outcome(pc[1], (s,), {})
    if a[0] == b[0] == "ok":
        a, b = sorted(a[1].items()), sorted(b[1].items())
    if a != b:
        mismatches.append(("connstr", s if not isinstance(s, str) else s[:60], a, b))

print("compared", compared > 500)
print("mismatches", len(mismatches))
for m in mismatches:
    print(m)
