# Hostile input to the azure clients: from_connection_string of all three,
# the constructor options, send and send_batch. Input is checked before any
# connection is made (the endpoint 127.0.0.1:9 is never reached by these
# calls). A clear exception or a correct result; the key never shows.
import gc
# Float literals are a SyntaxError on float-less ports (the WiPy): a float
# that stands for "a wrong type" is made at run time, or is another non-int.
try:
    F15, F10 = eval("1.5"), eval("1.0")
except SyntaxError:
    F15 = F10 = object()


try:
    import azure

    azure.EventHubClient
except (ImportError, AttributeError):
    print("SKIP")  # a port without sockets: no clients
    raise SystemExit

KEY = "SeCrEtKeY+do/not/leak+0123456789abcdefXYZ="
DEV_KEY = "UkFXLURFVklDRS1TRUNSRVQtYnl0ZXMtMDEyMzQ1Njc4OQ=="  # b"RAW-DEVICE-SECRET-bytes-0123456789"
SECRETS = (KEY, KEY[:16], KEY[-16:], DEV_KEY, DEV_KEY[:16], "RAW-DEVICE-SECRET")
NS = "ns.servicebus.windows.net"
EH = "Endpoint=sb://%s/;SharedAccessKeyName=send;SharedAccessKey=%s;EntityPath=hub" % (NS, KEY)
SB = "Endpoint=sb://%s/;SharedAccessKeyName=send;SharedAccessKey=%s;EntityPath=q" % (NS, KEY)
IOT = "HostName=hub.azure-devices.net;DeviceId=dev1;SharedAccessKey=" + DEV_KEY
EP = "127.0.0.1:9"
E = azure.EventHubClient.from_connection_string
S = azure.ServiceBusClient.from_connection_string
I = azure.IoTHubClient.from_connection_string
# Sizes that fit the heap: unix's megabytes, or a board's (qemu: 143 KB).
BIG_HEAP = gc.mem_free() > 1500000
HUGE = 100000 if BIG_HEAP else 5000
LIST = 10000 if BIG_HEAP else 1000
texts = 0
leaks = []


def watch(*objs):
    # Every str/repr the caller can see must be free of the key.
    global texts
    for o in objs:
        for t in (str(o), repr(o)):
            texts += 1
            for s in SECRETS:
                if s in t:
                    leaks.append(t)


def check(f, *args, **kw):
    try:
        r = f(*args, **kw)
    except (TypeError, ValueError, OSError) as e:
        watch(e, e.args)
        print(type(e).__name__, "" if isinstance(e, TypeError) else e.args[0])
        return None
    watch(r)
    print("ok", r)
    return r


def survive(group):
    gc.collect()
    c = E(EH, endpoint=EP, publisher="dev1")
    watch(c, c.stats)
    print(group, "then", c, c._head("POST", c._path, b"x", None, None, None, None).split(b"\r\n")[0])


print("-- from_connection_string: wrong types and values")
for f in (E, S, I):
    for cs in (None, 5, EH.encode(), bytearray(IOT.encode()), [EH], "", "x", ";", "\x00"):
        check(f, cs)
check(E, IOT)
check(S, IOT)
check(I, EH)
check(E, EH.replace("EntityPath=hub", "EntityPath="))
check(E, EH.replace(";EntityPath=hub", ""))
check(S, SB.replace(";EntityPath=q", ""))
check(I, IOT.replace("DeviceId=dev1;", ""))
check(E, EH.replace("sb://" + NS, "sb://" + NS + "\r\nX: y"))
check(E, EH.replace("sb://" + NS, "https://" + NS))
check(E, EH + ";SharedAccessKey=" + KEY)
check(I, IOT.replace("hub.azure-devices.net", "hub.azure-devices.net/\x00"))
check(E, EH + ";x=" + "y" * 5000)
survive("connection strings")

# Host names, by the native framer's rule.
check(I, "HostName=bad host;DeviceId=d;SharedAccessKey=" + DEV_KEY)
check(E, "Endpoint=sb://a b/;SharedAccessKeyName=n;SharedAccessKey=k;EntityPath=h")
print("-- from_connection_string: keyword arguments")
for kw in ({"event_hub": 5}, {"publisher": 5}, {"partition_id": 5}, {"publisher": "p", "partition_id": "1"},
           {"bogus": 1}, {"endpoint": 5}, {"endpoint": b"127.0.0.1:9"}, {"endpoint": ""}, {"endpoint": ":9"},
           {"endpoint": "h:"}, {"endpoint": "h:x"}, {"endpoint": "h:0"}, {"endpoint": "h:65536"},
           {"endpoint": "h:-1"}, {"endpoint": "h:2" + "0" * 30}, {"max_size": 0}, {"max_size": -1},
           {"max_size": 1048577}, {"max_size": 2**64}, {"max_size": "1"}, {"max_size": F15}, {"max_size": None},
           {"token_ttl": 0}, {"token_ttl": -1}, {"token_ttl": F15}, {"token_ttl": "60"}, {"token_ttl": None},
           {"max_retries": -1}, {"max_retries": "3"}, {"max_retries": None}, {"backoff_base_ms": -1},
           {"backoff_cap_ms": 2**32}, {"backoff_base_ms": "5"}, {"backoff_cap_ms": None}):
    check(E, EH, **kw)
check(S, SB, queue_name=5)
check(I, IOT, device_id=5)
# Accepted: the values only reach the request (percent-encoded) or the clock.
for kw in ({"publisher": "dev\r\n1"}, {"event_hub": "\u00e9"}, {"partition_id": "\x00"}, {"endpoint": "h"},
           {"endpoint": "h:1"}, {"token_ttl": 2**40}, {"max_retries": 0}, {"max_size": 1048576}):
    check(E, EH, **kw)
survive("options")

print("-- send: bodies and options")
c = E(EH, endpoint=EP, max_retries=0)
i = I(IOT, endpoint=EP, max_retries=0)
for body in (None, 5, F15, ["x"], {"x": 1}, ("x",)):
    check(c.send, body)
    check(i.send, body)
for kw in ({"properties": 5}, {"properties": "a=b"}, {"properties": [("a", "b")]}, {"properties": {5: "v"}},
           {"properties": {b"k": "v"}}, {"properties": {"k": b"v"}}, {"properties": {"k": None}},
           {"properties": {"k": ["v"]}}, {"properties": {"k\r\n": "v"}},
           {"properties": {"k": "v\r\nX-Evil: 1"}}, {"properties": {"k": "\x00"}}, {"properties": {"k": "\u00e9"}},
           {"properties": {"Authorization": "x"}}, {"properties": {"Content-Length": "0"}},
           {"properties": {str(n): n for n in range(17)}}, {"partition_key": 5}, {"partition_key": "a\r\nb"},
           {"partition_key": "\u00e9"}, {"content_type": 5}, {"content_type": "a\nb"}, {"content_type": ""},
           {"bogus": 1}):
    check(c.send, "x", **kw)
check(i.send, "x", partition_key="pk")
check(i.send, "x", properties={"k": "v\r\n"})
big = c if BIG_HEAP else E(EH, endpoint=EP, publisher="dev1", max_size=4096)
check(big.send, "x" * (big.max_size + 1))
check(c.send, b"x" * HUGE, properties={"k": "v" * HUGE + "\n"})
check(c.send)
check(c.send, "x", "y")
survive("send")

print("-- send_batch: events")
for evs in (None, 5, "abc", b"abc", {"a": 1}, iter(["x"]), [], ()):
    check(c.send_batch, evs)
for ev in (None, 5, ["x"], (), ("a", {}, "pk", 1), (5,), ("a", 5), ("a", [("k", "v")]), ("a", {1: "v"}),
           ("a", {"k": None}), ("a", {"k": b"v"}), ("a", None, 5), ("a", None, b"pk")):
    check(c.send_batch, ["ok", ev])
check(c.send_batch, [b"\xff\xfe"])
check(i.send_batch, [("x", None, "pk")])
check(c.send_batch, ["x"] * LIST + [5])
check(c.send_batch, [("x", {"k": "v"}, "pk")] * (LIST // 4) + [("x", {"k": "\xff"}, "\x00")] + [b"\xff"])
check(big.send_batch, ["x" * (big.max_size // 2)] * 3)
big = None
check(c.send_batch, [("x", {str(n): "v" for n in range(17)})])
survive("send_batch")

print("-- the key never shows")
for obj in (c, i, c.stats, i.stats, c._resp, E(EH, endpoint=EP), S(SB), I(IOT)):
    watch(obj)
c.close()
i.close()
with I(IOT, endpoint=EP) as w:
    watch(w)
print("texts checked", texts > 300, "leaks", leaks)
survive("secrets")
