# Hostile input to frame_head and frame_batch: wrong types, bytes-likes,
# huge, empty and non-ASCII values, header injection (NUL, CR, LF) in every
# string that reaches the request, integers out of range. A clear exception
# or a correct request; never a CR or LF that the library did not write.
# Same output on unix and on the 32-bit qemu boards.
import gc
import _azure
# Float literals are a SyntaxError on float-less ports (the WiPy): a float
# that stands for "a wrong type" is made at run time, or is another non-int.
try:
    F15, F10 = eval("1.5"), eval("1.0")
except SyntaxError:
    F15 = F10 = object()


fh = _azure.frame_head
fb = _azure.frame_batch
T = "SharedAccessSignature sr=a&sig=b&se=1&skn=n"
H = "ns.servicebus.windows.net"
P = ("hub", "messages")
Q = "timeout=60&api-version=2014-01"
CT = "application/atom+xml;type=entry;charset=utf-8"
HUGE = 100000 if gc.mem_free() > 1500000 else 5000
LIST = 10000 if gc.mem_free() > 1500000 else 1000


def check(f, *args):
    try:
        r = f(*args)
    except (TypeError, ValueError, OSError) as e:
        print(type(e).__name__, "" if isinstance(e, TypeError) else e.args[0])
        return None
    if isinstance(r, bytes):
        # A head has CRLF only where the library puts them: one per header
        # line, and the blank line at the end.
        clean = r.count(b"\r\n") == r.count(b"\n") and r.count(b"\r") == r.count(b"\n") and b"\x00" not in r
        print("ok", len(r) if len(r) > 400 else r, "clean" if clean else "DIRTY")
    else:
        print("ok", r)
    return r


def head(**kw):
    # frame_head with its positional arguments named here for readability.
    a = {"method": "POST", "path": P, "host": H, "token": T, "body_len": 0, "query": Q, "content_type": CT,
         "properties": None, "prefix": None, "partition_key": None, "keep_alive": True, "max_size": 262144}
    a.update(kw)
    return check(fh, a["method"], a["path"], a["host"], a["token"], a["body_len"], a["query"], a["content_type"],
                 a["properties"], a["prefix"], a["partition_key"], a["keep_alive"], a["max_size"])


def survive(group):
    gc.collect()
    print(group, "then", fh("POST", ("hub", "publishers", "dev1", "messages"), H, T, 2, Q).split(b"\r\n")[0],
          fb(["x", ("y", {"k": "v"}, "pk")]))


print("-- frame_head: arguments")
check(fh)
check(fh, "POST", P, H)
check(fh, "POST", P, H, T, 0, Q, CT, None, None, None, True, 262144, 1)
check(fh, "POST", P, H, None)  # no token, no body: a bare request
check(fh, "GET", ("devices", "d", "messages", "deviceBound"), H, T, 0, "api-version=2021-04-12")
check(fh, "DELETE", "/q/messages/31/7b5f", H, T)  # a path as given
survive("arguments")

print("-- frame_head: wrong types")
for bad in (b"x", bytearray(b"x"), memoryview(b"x"), 5, ["x"], F15, {"a": "b"}):
    head(method=bad)
    head(host=bad)
    head(token=bad)
    head(query=bad)
    head(content_type=bad)
    head(prefix=bad)
    head(partition_key=bad)
for path in (None, 5, b"/x", [b"x"], ("hub", 5), ("hub", None), {"hub": 1}, iter(["x"])):
    head(path=path)
for props in (5, "a=b", [("a", "b")], (("a", "b"),), {1: "b"}, {"a": 1}, {"a": None}, {b"a": "b"}, {"a": b"b"}):
    head(properties=props)
head(method=None)
head(host=None)
survive("types")

print("-- frame_head: integers")
for n in (-1, -(2**100), 2**31, 2**32, 2**64 - 1, 2**64, 2**100, 262145, F10, "1", True):
    head(body_len=n)
head(body_len=262144)
head(body_len=1048576, max_size=1048576)
for m in (0, -1, 1048577, 2**31, 2**32, 2**64, 2**100, F10, "1"):
    head(body_len=1, max_size=m)
head(body_len=2, max_size=1)
survive("integers")

print("-- frame_head: header injection")
INJ = ("x\r\nX-Evil: 1", "x\nX-Evil: 1", "x\rX-Evil: 1", "x\x00y", "\r\n\r\nGET / HTTP/1.1", "x\x7f", "x\x1b[0m", "\u00e9")
for v in INJ:
    head(host=v)
    head(token=T + v[1:])
    head(content_type="text/plain" + v[1:])
    head(partition_key=v)
    head(properties={"Name": v})
    head(properties={v: "value"})
    head(properties={v: "value"}, prefix="iothub-app-")
    head(method="P" + v)
    head(query="a=" + v)
    head(path="/a" + v)
    # Path names are percent-encoded: harmless.
    head(path=(v, "messages"))
    head(path=("hub", "publishers", v, "messages"))
for name in ("Host", "AUTHORIZATION", "content-length", "Content-Type", "Connection", "BrokerProperties",
             "Transfer-Encoding", "Expect", "Host:", "A B", "", "a:b", "(x)"):
    head(properties={name: "v"})
head(properties={"Host": "v", "Content-Length": "9"}, prefix="iothub-app-")
for prefix in ("x\r\nX-Evil: 1\r\n", "\u00e9", "a b", "a:", "\x00"):
    head(properties={"k": "v"}, prefix=prefix)  # the prefix is part of the header name
head(properties=None, prefix="x\r\n")  # no property: nothing written, nothing to refuse
head(partition_key='"}\r\n,"x":"')
head(partition_key='a"b\\c\td')
head(properties={"a": "\tv w\t"})
for host in (":", ":1", "h:", "h:1:2", "h_1.x-y:443", "h/x", "h?x", "h#x", "[::1]", "h x", "h@x", ".", "-"):
    head(host=host)
for path in ("", "x", "/", "/a?b", "/a#b", "/a b", "/a%20b", "//"):
    head(path=path)
for q in ("", "a=b&c=d", "a=b?c", "a#b", "a b"):
    head(query=q)
survive("injection")

print("-- frame_head: empty and huge")
head(host="")
head(path=())
head(path=("",))
head(path=("hub", ""))
head(token="")
head(content_type="")
head(partition_key="")
head(method="")
head(prefix="")
head(properties={})
head(properties={"a": ""})
head(path=("a",) * 8)
head(path=("a",) * 9)
# (dict order differs by port: count, do not print)
print("16 properties", fh("POST", P, H, T, 0, Q, CT, {str(i): "v" for i in range(16)}).count(b": v\r\n") == 16)
head(properties={str(i): "v" for i in range(17)})
head(properties={str(i): "v" for i in range(1000)})
big = "h" * HUGE
print("huge host", fh("POST", P, big, T).count(big.encode()) == 1)
big = None
gc.collect()
print("huge name", len(fh("POST", ("\u00e9" * HUGE,), H, T)) > 6 * HUGE)
gc.collect()
print("huge token", fh("POST", P, H, "t" * HUGE).count(b"t" * HUGE) == 1)
print("huge property", fh("POST", P, H, T, 0, Q, CT, {"p": "v" * HUGE, "n" * HUGE: "x"}).count(b"\r\n") == 9)
print("huge partition key", fh("POST", P, H, T, 0, Q, CT, None, None, '"' * HUGE).count(b'\\"') == HUGE)
big = None
survive("sizes")

print("-- frame_batch: wrong types")
for evs in (None, 5, "abc", b"abc", {"a": 1}, iter(["x"]), bytearray(b"x")):
    check(fb, evs)
for ev in (5, None, F15, ["x"], {"x": 1}, (), ("a", {}, "pk", 1), (5,), ("a", 5), ("a", [("k", "v")]), ("a", {1: "v"}),
           ("a", {"k": 1}), ("a", {"k": b"v"}), ("a", None, 5), ("a", None, b"pk")):
    check(fb, [ev])
    check(fb, ["ok", ev])  # the bad event after a good one
for m in (0, -1, 1048577, 2**64, 2**100, "1", None):
    check(fb, ["x"], False, m)
check(fb)
check(fb, ["x"], False, 100, 1)
survive("batch types")

print("-- frame_batch: bodies and properties")
check(fb, [b"x", bytearray(b"y"), memoryview(b"zz")[1:], "\u00e9"])
check(fb, [b"x", bytearray(b"y"), memoryview(b"zz")[1:], "\u00e9"], True)
for iot in (False, True):
    check(fb, [("a\x00\r\n\"\\\t\x7f", {"k\r\n\"": "v\x00\r\n\""})], iot)
    check(fb, [("\U0001f600", {"\u00e9": "\u20ac"}, None)], iot)
    check(fb, [b"\xff\xfe\x00"], iot)
    check(fb, [("a", {"k": "\xff"})], iot)
    check(fb, [""], iot)
    check(fb, [("", {})], iot)
check(fb, [("a", None, 'k\r\n"\x00')])
check(fb, [("a", None, "")])
check(fb, [("a", None, "pk")], True)
print("16 properties", fb([("a", {str(i): "v" for i in range(16)})]).count(b'":"v"') == 16)
check(fb, [("a", {str(i): "v" for i in range(17)})])
survive("batch values")

print("-- frame_batch: empty and huge")
check(fb, [])
check(fb, ())
b = fb(["x"] * LIST)
print("many events", len(b) == 13 * LIST + 1, b.count(b'{"Body":"x"}') == LIST)
b = fb([b"\x00"] * LIST, True, 1048576)
print("many IoT events", b.count(b'{"body":"AA=="}') == LIST)
b = fb(tuple(("x", {"k": "v"}, "p") for _ in range(LIST // 10)))
print("tuple of tuples", b.count(b"PartitionKey") == LIST // 10)
b = None
check(fb, ["x"] * LIST, False, 1000)
check(fb, ["x" * HUGE], False, HUGE)
b = fb(["x" * HUGE], False, HUGE + 13)
print("huge body", len(b) == HUGE + 13)
b = fb(['"' * HUGE], False, 1048576)
print("huge escaped body", b.count(b'\\"') == HUGE)
b = fb([("x", {"p": "v" * HUGE})], False, 1048576)
print("huge property", b.count(b"v" * HUGE) == 1)
b = None
survive("batch sizes")
