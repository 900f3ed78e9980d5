# Hostile input to frame_request and frame_batch: wrong types, bytes-likes,
# huge, empty and non-ASCII values, header injection (NUL, CR, LF) in every
# string that reaches the request, integers out of range. A clear exception
# or a correct request; never a CR or LF that the library did not write.
# Same output on unix and on the 32-bit qemu board.
import gc
import _azure

fr = _azure.frame_request
fb = _azure.frame_batch
EH, SB, IOT = _azure.EVENT_HUB, _azure.SERVICE_BUS, _azure.IOT_HUB
T = "SharedAccessSignature sr=a&sig=b&se=1&skn=n"
H = "ns.servicebus.windows.net"
HUGE = 100000 if gc.mem_free() > 1500000 else 5000
LIST = 10000 if gc.mem_free() > 1500000 else 1000


def check(f, *args, **kw):
    try:
        r = f(*args, **kw)
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


def survive(group):
    gc.collect()
    print(group, "then", fr(EH, H, "hub", T, 2, publisher="dev1").split(b"\r\n")[0],
          fb(EH, ["x", ("y", {"k": "v"}, "pk")]))


print("-- frame_request: kind")
for kind in (-1, 3, 255, 2**31, 2**32, 2**64, 2**100, -(2**100), 1.0, "0", None, b"\x00"):
    check(fr, kind, H, "hub", T, 0)
check(fr, True, H, "hub", T, 0)  # bool is an int: SERVICE_BUS
survive("kind")

print("-- frame_request: wrong types")
for bad in (b"x", bytearray(b"x"), memoryview(b"x"), 5, ["x"], 1.5):
    check(fr, EH, bad, "hub", T, 0)
    check(fr, EH, H, bad, T, 0)
    check(fr, EH, H, "hub", bad, 0)
    check(fr, EH, H, "hub", T, 0, publisher=bad)
    check(fr, EH, H, "hub", T, 0, partition_id=bad)
    check(fr, IOT, H, "dev", T, 0, module_id=bad)
    check(fr, EH, H, "hub", T, 0, content_type=bad)
    check(fr, EH, H, "hub", T, 0, partition_key=bad)
for props in (5, "a=b", [("a", "b")], (("a", "b"),), {1: "b"}, {"a": 1}, {"a": None}, {b"a": "b"}, {"a": b"b"}):
    check(fr, EH, H, "hub", T, 0, properties=props)
for none in ("host", "entity", "token"):
    a = [EH, H, "hub", T, 0]
    a[{"host": 1, "entity": 2, "token": 3}[none]] = None
    check(fr, *a)
check(fr, EH, H, "hub", T)
check(fr, EH, H, "hub", T, 0, 1)
check(fr, EH, H, "hub", T, 0, bogus=1)
check(fr, EH, H, "hub", T, 0, batch=None, keep_alive="")
survive("types")

print("-- frame_request: integers")
for n in (-1, -(2**100), 2**31, 2**32, 2**64 - 1, 2**64, 2**100, 262145, 1.0, "1", None, True):
    check(fr, EH, H, "hub", T, n)
check(fr, EH, H, "hub", T, 262144)
check(fr, EH, H, "hub", T, 1048576, max_size=1048576)
for m in (0, -1, 1048577, 2**31, 2**32, 2**64, 2**100, 1.0, "1", None):
    check(fr, EH, H, "hub", T, 1, max_size=m)
check(fr, EH, H, "hub", T, 2, max_size=1)
survive("integers")

print("-- frame_request: header injection")
INJ = ("x\r\nX-Evil: 1", "x\nX-Evil: 1", "x\rX-Evil: 1", "x\x00y", "\r\n\r\nGET / HTTP/1.1", "x\x7f", "x\x1b[0m", "\u00e9")
for v in INJ:
    check(fr, EH, v, "hub", T, 0)  # host
    check(fr, EH, H, "hub", T + v[1:], 0)  # token
    check(fr, EH, H, "hub", T, 0, content_type="text/plain" + v[1:])
    check(fr, EH, H, "hub", T, 0, partition_key=v)
    check(fr, EH, H, "hub", T, 0, properties={"Name": v})
    check(fr, EH, H, "hub", T, 0, properties={v: "value"})
    check(fr, IOT, H, "dev", T, 0, properties={v: "value"})
    # Path parts are percent-encoded: harmless.
    check(fr, EH, H, v, T, 0)
    check(fr, EH, H, "hub", T, 0, publisher=v)
    check(fr, EH, H, "hub", T, 0, partition_id=v)
    check(fr, IOT, H, v, T, 0, module_id=v)
for name in ("Host", "AUTHORIZATION", "content-length", "Content-Type", "Connection", "BrokerProperties",
             "Transfer-Encoding", "Expect", "Host:", "A B", "", "a:b", "(x)"):
    check(fr, EH, H, "hub", T, 0, properties={name: "v"})
check(fr, IOT, H, "dev", T, 0, properties={"Host": "v", "Content-Length": "9"})
check(fr, EH, H, "hub", T, 0, partition_key='"}\r\n,"x":"')
check(fr, EH, H, "hub", T, 0, partition_key='a"b\\c\td')
check(fr, EH, H, "hub", T, 0, properties={"a": "\tv w\t"})
for host in (":", ":1", "h:", "h:1:2", "h_1.x-y:443", "h/x", "h?x", "h#x", "[::1]", "h x", "h@x", ".", "-"):
    check(fr, EH, host, "hub", T, 0)
survive("injection")

print("-- frame_request: empty and huge")
check(fr, EH, "", "hub", T, 0)
check(fr, EH, H, "", T, 0)
check(fr, EH, H, "hub", "", 0)
check(fr, EH, H, "hub", T, 0, publisher="")
check(fr, EH, H, "hub", T, 0, partition_id="")
check(fr, IOT, H, "dev", T, 0, module_id="")
check(fr, EH, H, "hub", T, 0, content_type="")
check(fr, EH, H, "hub", T, 0, partition_key="")
check(fr, EH, H, "hub", T, 0, properties={})
check(fr, EH, H, "hub", T, 0, properties={"a": ""})
# (dict order differs by port: count, do not print)
print("16 properties", fr(EH, H, "hub", T, 0, properties={str(i): "v" for i in range(16)}).count(b": v\r\n") == 16)
check(fr, EH, H, "hub", T, 0, properties={str(i): "v" for i in range(17)})
check(fr, EH, H, "hub", T, 0, properties={str(i): "v" for i in range(1000)})
big = "h" * HUGE
print("huge host", fr(EH, big, "hub", T, 0).count(big.encode()) == 1)
big = None
gc.collect()
print("huge entity", len(fr(EH, H, "\u00e9" * HUGE, T, 0)) > 6 * HUGE)
gc.collect()
print("huge token", fr(EH, H, "hub", "t" * HUGE, 0).count(b"t" * HUGE) == 1)
print("huge property", fr(EH, H, "hub", T, 0, properties={"p": "v" * HUGE, "n" * HUGE: "x"}).count(b"\r\n") == 9)
print("huge partition key", fr(EH, H, "hub", T, 0, partition_key='"' * HUGE).count(b'\\"') == HUGE)
big = None
survive("sizes")

print("-- frame_request: combinations")
check(fr, EH, H, "hub", T, 0, publisher="p", partition_id="1")
check(fr, SB, H, "q", T, 0, publisher="p")
check(fr, SB, H, "q", T, 0, partition_id="1")
check(fr, EH, H, "hub", T, 0, module_id="m")
check(fr, IOT, H, "dev", T, 0, partition_key="k")
check(fr, IOT, H, "dev", T, 0, publisher="p")
check(fr, EH, H, "hub", T, 0, batch=True, content_type="text/plain")
check(fr, IOT, H, "dev", T, 5, batch=True, keep_alive=False, module_id="m\u00e9")
survive("combinations")

print("-- frame_batch: wrong types")
for evs in (None, 5, "abc", b"abc", {"a": 1}, iter(["x"]), bytearray(b"x")):
    check(fb, EH, evs)
for ev in (5, None, 1.5, ["x"], {"x": 1}, (), ("a", {}, "pk", 1), (5,), ("a", 5), ("a", [("k", "v")]), ("a", {1: "v"}),
           ("a", {"k": 1}), ("a", {"k": b"v"}), ("a", None, 5), ("a", None, b"pk")):
    check(fb, EH, [ev])
    check(fb, EH, ["ok", ev])  # the bad event after a good one
for kind in (-1, 3, 2**64, "0", None):
    check(fb, kind, ["x"])
for m in (0, -1, 1048577, 2**64, 2**100, "1", None):
    check(fb, EH, ["x"], max_size=m)
check(fb, EH)
check(fb, EH, ["x"], 5)
check(fb, EH, ["x"], bogus=1)
survive("batch types")

print("-- frame_batch: bodies and properties")
check(fb, EH, [b"x", bytearray(b"y"), memoryview(b"zz")[1:], "\u00e9"])
check(fb, IOT, [b"x", bytearray(b"y"), memoryview(b"zz")[1:], "\u00e9"])
for kind in (EH, SB, IOT):
    check(fb, kind, [("a\x00\r\n\"\\\t\x7f", {"k\r\n\"": "v\x00\r\n\""})])
    check(fb, kind, [("\U0001f600", {"\u00e9": "\u20ac"}, None)])
    check(fb, kind, [b"\xff\xfe\x00"])
    check(fb, kind, [("a", {"k": "\xff"})])
    check(fb, kind, [""])
    check(fb, kind, [("", {})])
check(fb, EH, [("a", None, 'k\r\n"\x00')])
check(fb, EH, [("a", None, "")])
check(fb, IOT, [("a", None, "pk")])
print("16 properties", fb(EH, [("a", {str(i): "v" for i in range(16)})]).count(b'":"v"') == 16)
check(fb, EH, [("a", {str(i): "v" for i in range(17)})])
survive("batch values")

print("-- frame_batch: empty and huge")
check(fb, EH, [])
check(fb, EH, ())
b = fb(EH, ["x"] * LIST)
print("many events", len(b) == 13 * LIST + 1, b.count(b'{"Body":"x"}') == LIST)
b = fb(IOT, [b"\x00"] * LIST, max_size=1048576)
print("many IoT events", b.count(b'{"body":"AA=="}') == LIST)
b = fb(SB, tuple(("x", {"k": "v"}, "p") for _ in range(LIST // 10)))
print("tuple of tuples", b.count(b"PartitionKey") == LIST // 10)
b = None
check(fb, EH, ["x"] * LIST, max_size=1000)
check(fb, EH, ["x" * HUGE], max_size=HUGE)
b = fb(EH, ["x" * HUGE], max_size=HUGE + 13)
print("huge body", len(b) == HUGE + 13)
b = fb(EH, ['"' * HUGE], max_size=1048576)
print("huge escaped body", b.count(b'\\"') == HUGE)
b = fb(EH, [("x", {"p": "v" * HUGE})], max_size=1048576)
print("huge property", b.count(b"v" * HUGE) == 1)
b = None
survive("batch sizes")
