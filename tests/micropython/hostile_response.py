# Hostile input to the response reader (azure.response: feed/eof/reset and
# its attributes), classify and _azure.backoff_ms: wrong types, huge and
# malformed responses, integers out of every range. A clear exception (an
# OSError for anything a server sent) or a correct result; the reader stays
# usable after reset. Same output on unix and on the 32-bit qemu boards.
import gc
import _azure
from azure.response import Response as R, classify
# Float literals are a SyntaxError on float-less ports (the WiPy): a float
# that stands for "a wrong type" is made at run time, or is another non-int.
try:
    F15, F10 = eval("1.5"), eval("1.0")
except SyntaxError:
    F15 = F10 = object()

HUGE = 100000 if gc.mem_free() > 1500000 else 8000
OK = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"


def check(f, *args, **kw):
    try:
        r = f(*args, **kw)
    except (TypeError, ValueError, OSError, AttributeError) as e:
        print(type(e).__name__, "" if isinstance(e, (TypeError, AttributeError)) else e.args[0])
        return None
    print("ok", r)
    return r


def state(r):
    return (r.status, r.complete, r.keep_alive, r.want, r.retry_after, r.error_text)


def feed(data, eof=False, chunk=0):
    # Feeds data (in chunks of `chunk` bytes if given) and eof; prints the state.
    r = R()
    n = 0
    try:
        if chunk:
            for i in range(0, len(data), chunk):
                n += r.feed(data[i:i + chunk])
        else:
            n = r.feed(data)
        if eof:
            r.eof()
    except (ValueError, OSError) as e:
        print(type(e).__name__, e.args[0], state(r))
        return r
    print("all" if n == len(data) else n, state(r))
    return r


def survive(group):
    gc.collect()
    r = R()
    print(group, "then", r.feed(OK), state(r), classify(r.status), _azure.backoff_ms(3, 1000))


print("-- Response: construction, attributes")
check(R, x=1)
check(R, (), 1, 2)
r = R()
print(state(r))
check(getattr, r, "bogus")
print(state(r))
survive("attributes")

print("-- Response.feed: types")
r = R()
for data in (None, 5, F15, ["HTTP"], R(), object(), "HTTP/1.1 200 OK\r\n"):
    check(r.feed, data)
r.reset()
check(r.feed)
check(r.feed, b"", b"")
print(r.feed(b""), r.feed(bytearray()), r.feed(memoryview(b"HTTP/1.1 2")[:0]), state(r))
# Every bytes-like works.
print(r.feed(bytearray(b"HTTP/1.1 201 ")), r.feed(memoryview(b"xxCreated\r\n")[2:]), r.feed(b"Content-Length: 0\r\n"),
      r.feed(b"\r\n"), state(r))
check(r.eof, 1)
check(r.reset, 1)
survive("types")

print("-- Response.feed: malformed status lines")
for line in (b"", b"\r\n", b"HTTP/1.1\r\n", b"HTTP/1.1 \r\n", b"HTTP/1.1 20\r\n", b"HTTP/1.1 2000 x\r\n",
             b"HTTP/1.1 099 x\r\n", b"HTTP/1.1 -01 x\r\n", b"HTTP/1.1 +01 x\r\n", b"HTTP/1.1 abc x\r\n",
             b"HTTP/2 200 x\r\n", b"HTTP/1.1\x00200 x\r\n", b"http/1.1 200 x\r\n", b"ICY 200 OK\r\n",
             b"HTTP/1.1 200\r\n", b"HTTP/1.1 200 \x00\xff\r\n", b"\x00" * 200 + b"\r\n", b"\n", b"\r\r\r\n"):
    feed(line + b"Content-Length: 0\r\n\r\n")
survive("status")

print("-- Response.feed: hostile headers")
for hdr in (b"Content-Length: -1", b"Content-Length: +5", b"Content-Length: 0x10", b"Content-Length: 1 2",
            b"Content-Length: 4294967295", b"Content-Length: 4294967296", b"Content-Length: 99999999999999999999999",
            b"Content-Length: ", b"Content-Length:", b"Content-Length: 2\r\nContent-Length: 3",
            b"Content-Length: 2\r\nContent-Length: 2", b"Content-Length : 2", b" Content-Length: 2",
            b"Transfer-Encoding: chunked\r\nContent-Length: 2", b"Transfer-Encoding: gzip", b"Transfer-Encoding: ",
            b"Retry-After: -5", b"Retry-After: 99999999999999999999", b"Retry-After: 2147483648", b"Retry-After: 1.5",
            b"Retry-After: Wed, 21 Oct 2015 07:28:00 GMT", b"Retry-After: 7\r\nRetry-After: 9", b"Retry-After: \x00",
            b"Connection: close", b"Connection: keep-alive, close", b"Connection: \xff", b"No colon at all",
            b"X: " + b"v" * 500, b"Content-Length: " + b"0" * 500 + b"2", b"Retry-After: " + b"0" * 500 + b"3",
            b"X\x00Y: z", b": empty name"):
    feed(b"HTTP/1.1 503 Busy\r\n" + hdr + b"\r\n\r\nok", eof=True)
survive("headers")

print("-- Response.feed: hostile chunked bodies")
TE = b"HTTP/1.1 500 Err\r\nTransfer-Encoding: chunked\r\n\r\n"
for body in (b"2\r\nok\r\n0\r\n\r\n", b"ffffffff\r\n", b"100000000\r\n", b"ffffffffffffffffffff\r\n", b"-1\r\n",
             b"zz\r\n", b"\r\n", b"2;" + b"x" * 500 + b"\r\nok\r\n0\r\n\r\n", b"0" * 500 + b"2\r\nok\r\n0\r\n\r\n",
             b"2\r\nokXX0\r\n\r\n", b"2\r\nok\r\n0\r\n" + b"T: v\r\n" * 100 + b"\r\n", b"2\r\nok\r\n"):
    feed(TE + body, eof=True)
    feed(TE + body, eof=True, chunk=1)
survive("chunked")

print("-- Response.feed: huge")
r = feed(b"HTTP/1.1 200 OK\r\nX: " + b"v" * HUGE + b"\r\n\r\n", eof=True)
r = feed(b"HTTP/1.1 400 Bad\r\nContent-Length: %d\r\n\r\n" % HUGE + b"e" * HUGE)
print(len(r.error_text))
r = feed(b"HTTP/1.1 400 Bad\r\n\r\n" + b"e" * HUGE, eof=True)
r = feed(b"HTTP/1.1 100 Continue\r\n\r\n" * (HUGE // 25) + OK)
r = feed(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (HUGE // 6) + b"Content-Length: 0\r\n\r\n")
r = feed(b"\r\n" * HUGE)
r = feed(b"HTTP/1.1 200 OK\r\n" + b"\x00" * HUGE)
r = feed(b"HTTP/1.1 200 OK\r\n" + b"\xff" * HUGE + b"\r\n\r\n", eof=True)
r = None
survive("huge")

print("-- Response: feed after completion and after an error, eof, reset")
r = R()
print(r.feed(OK + OK), state(r))
print(r.feed(OK), r.feed(b"anything"), state(r))
r.eof()
r.eof()
r.reset()
print(state(r))
check(r.eof)
check(r.feed, b"HTTP/1.1 200 OK\r\n")
print(state(r))
r.reset()
check(r.feed, b"garbage\r\n")
check(r.feed, OK)
check(r.eof)
r.reset()
print(r.feed(OK), state(r))
for _ in range(1000):
    r.reset()
    r.feed(b"HTTP/1.1 200 OK\r\nX: y\r\n")
    r.reset()
print(r.feed(OK), state(r))
survive("reuse")

print("-- classify")
for s in (100, 199, 200, 201, 204, 299, 300, 400, 401, 403, 404, 408, 413, 429, 499, 500, 503, 599, 600, 999):
    print(s, classify(s))
for s in (-1, 0, 99, 1000, 65536, 2**31 - 1, 2**31, 2**32 + 201, 2**64 + 201, -(2**100), 2**100):
    check(classify, s)
check(classify)
check(classify, 201, 201)
survive("classify")

print("-- backoff_ms")
bo = _azure.backoff_ms
for a in (0, 1, 5, 31, 32, 63, 64, 1000, 2**31, 2**32 - 1):
    print("attempt", a, bo(a, 2**32 - 1), bo(a, 0), bo(a, 12345))
for a, rnd in ((-1, 0), (0, -1), (2**32, 0), (0, 2**32), (2**64, 0), (0, 2**64), (2**100, 0), (-(2**100), 0)):
    check(bo, a, rnd)
for a, rnd in ((None, 0), (0, None), ("1", 0), (0, "1"), (F10, 0), (0, F10), (True, 0)):
    check(bo, a, rnd)
for ra in (None, 0, 1, 119, 120, 121, 2**31 - 1, 2**31, 2**32 - 1):
    print("retry_after", ra, bo(0, 0, ra), bo(10, 2**32 - 1, ra))
for ra in (-1, 2**32, 2**64, 2**100, "5", F15, b"5", True):
    check(bo, 0, 0, ra)
for base, cap in ((0, 0), (0, 2**32 - 1), (2**32 - 1, 0), (2**32 - 1, 2**32 - 1), (1, 1), (1000, 10)):
    print("base/cap", base, cap, bo(5, 2**32 - 1, None, base, cap), bo(40, 777, None, base, cap))
for base, cap in ((-1, 0), (0, -1), (2**32, 0), (0, 2**32), ("1", 0), (0, None)):
    check(bo, 1, 1, None, base, cap)
check(bo, 1)
check(bo, 1, 1, 1)
check(bo, 1, 1, None, 1, 1, 1)
survive("backoff")
