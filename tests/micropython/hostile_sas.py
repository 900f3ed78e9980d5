# Hostile input to sas_token, unix_time and parse_connection_string: wrong
# types, bytes-likes, huge, empty and non-ASCII values, NUL/CR/LF, integers
# out of every range, a hostile clock. Always a clear exception or a correct
# result; after each group the heap is collected and a correct call works.
# Same output on unix and on the 32-bit qemu board (no network, no time).
import gc
import sys
import _azure

tok = _azure.sas_token
import azure
# Float literals are a SyntaxError on float-less ports (the WiPy): a float
# that stands for "a wrong type" is made at run time, or is another non-int.
try:
    F15, F10 = eval("1.5"), eval("1.0")
except SyntaxError:
    F15 = F10 = object()


pcs = azure.parse_connection_string

# Huge inputs: 100 KB where the heap allows (unix), 8 KB on a small board.
HUGE = 100000 if gc.mem_free() > 1500000 else 8000
GOOD = "SharedAccessSignature sr=endpoint%2Fhub&sig=EGsjmHg%2FOKM5bYk5pU7ZpN5ExQRuT3VCwXuCftrmUZw%3D&se=1&skn=keyName"


def check(f, *args, **kw):
    try:
        r = f(*args, **kw)
    except (TypeError, ValueError, OSError) as e:
        # Messages of MicroPython's own argument checks differ by port: the
        # type only for TypeError; ours for ValueError and OSError.
        print(type(e).__name__, "" if isinstance(e, TypeError) else e.args[0])
        return None
    print("ok", r)
    return r


def survive(group):
    gc.collect()
    print(group, "then", tok("endpoint/hub", "keyVal", "keyName", expiry=1) == GOOD)


print("-- sas_token: wrong types")
for uri in (b"a", bytearray(b"a"), memoryview(b"a"), None, 5, ["a"], ("a",), F15):
    check(tok, uri, "k", expiry=1)
for key in (None, 5, ["k"], F15, {"k": 1}):
    check(tok, "a", key, expiry=1)
for name in (b"n", bytearray(b"n"), memoryview(b"n"), 5, ["n"]):
    check(tok, "a", "k", name, expiry=1)
# Bytes-likes are fine for the key, in both key modes: the same token as str.
for k in (b"keyVal", bytearray(b"keyVal"), memoryview(b"..keyVal")[2:]):
    print(type(k).__name__, tok("endpoint/hub", k, "keyName", expiry=1) == GOOD)
b64 = tok("a/b", "a2V5a2V5", expiry=1, key_is_base64=True)
for k in (b"a2V5a2V5", bytearray(b"a2V5a2V5"), memoryview(b"a2V5a2V5")):
    print("base64", type(k).__name__, tok("a/b", k, expiry=1, key_is_base64=True) == b64)
check(tok, "a", "k", expiry=1, key_is_base64=None)
check(tok, "a", "k", expiry=1, key_is_base64="yes")
survive("types")

print("-- sas_token: empty, huge, non-ASCII")
check(tok, "", "k", expiry=1)
check(tok, "a", "", expiry=1)
check(tok, "a", b"", expiry=1)
check(tok, "a", bytearray(), expiry=1)
check(tok, "a", "k", "", expiry=1)
check(tok, "a", "", expiry=1, key_is_base64=True)
big = "u" * HUGE
t = tok(big, "k", expiry=1)
print("huge uri", t.split("&sig=")[0] == "SharedAccessSignature sr=" + big, t.endswith("&se=1"))
t = tok("a", "k" * HUGE, expiry=1)
print("huge key", t.startswith("SharedAccessSignature sr=a&sig="), t == tok("a", bytearray(b"k" * HUGE), expiry=1))
t = tok("a", "k", "n" * HUGE, expiry=1)
print("huge key name", t.split("&skn=")[1] == "n" * HUGE)
check(tok, "a", "A" * HUGE, expiry=1, key_is_base64=True)
check(tok, "a", "A" * 345, expiry=1, key_is_base64=True)
big = t = None
t = tok("\u00e9" * HUGE, "k", expiry=1)
print("huge non-ASCII uri", t.startswith("SharedAccessSignature sr=%C3%A9"), t.count("%C3%A9") == HUGE,
      t.find("&sig=") == 25 + 6 * HUGE)
t = None
print(tok("h\u00e9/\u20ac/\U0001f600", "cl\u00e9", "n\u00e9", expiry=1))
print(tok("a", "\u00e9\u00e9", expiry=1) == tok("a", "\u00e9\u00e9".encode(), expiry=1))
check(tok, "a", "\u00e9==", expiry=1, key_is_base64=True)
survive("sizes")

print("-- sas_token: NUL, CR, LF (percent-encoded, never passed through)")
for uri in ("a\x00b", "a\r\nAuthorization: x", "\n", "a b&c=d?e#f%", "\x7f\x01"):
    t = tok(uri, "k\x00\r\n", "n\r\nX: y", expiry=1)
    print(t, "\r" not in t and "\n" not in t and "\x00" not in t)
check(tok, "a", "a2V5\x00", expiry=1, key_is_base64=True)
# Pasted with a trailing newline or surrounding spaces: accepted, as by
# azure-iot-device; whitespace inside the key is not.
check(tok, "a", "a2V5\r\n", expiry=1, key_is_base64=True)
print(tok("a", " a2V5\t", expiry=1, key_is_base64=True) == tok("a", "a2V5", expiry=1, key_is_base64=True))
check(tok, "a", "a2V5 a2V5", expiry=1, key_is_base64=True)
survive("controls")

print("-- sas_token: integers")
for se in (0, 2**30, 2**31 - 1, 2**31, 2**32, 2**63, 2**64 - 1):
    print(se, tok("a/b", "k", expiry=se).split("&se=")[1])
for se in (-1, -(2**31), -(2**64), 2**64, 2**100, -(2**100), True, F10, "1", b"1", [1]):
    check(tok, "a/b", "k", expiry=se)
for ttl in (-1, 0, -(2**100), 2**64, 2**100, "60", F15, None):
    # an explicit expiry ignores ttl; without one, ttl is checked first
    check(tok, "a/b", "k", expiry=1, ttl=ttl)
survive("integers")


print("-- unix_time and ttl with a hostile clock")


class Clock:
    def __init__(self, v):
        self.v = v

    def time(self):
        if isinstance(self.v, BaseException):
            raise self.v
        return self.v


saved = sys.modules.get("time")
# The port's epoch (1970 on unix, 2000 on the qemu board): find its offset.
sys.modules["time"] = Clock(1000000000)
EPOCH = _azure.unix_time() - 1000000000
print("epoch offset", EPOCH in (0, 946684800))
NOW = 1700000000
sys.modules["time"] = Clock(NOW - EPOCH)
print(_azure.unix_time() == NOW)
print(tok("a/b", "k", ttl=60).split("&se=")[1])
print(tok("a/b", "k", ttl=2**40).split("&se=")[1])
print(tok("a/b", "k", ttl=2**64 - 1 - NOW).split("&se=")[1])
for ttl in (2**64 - NOW, 2**64, -1, 0, "60", F15, None):
    check(tok, "a/b", "k", ttl=ttl)
for v in (0, 1577836799 - EPOCH):
    sys.modules["time"] = Clock(v)
    print("before 2020", _azure.unix_time() == v + EPOCH, end=" ")
    check(tok, "a/b", "k")
sys.modules["time"] = Clock(2**63)
print("2**63", _azure.unix_time() == 2**63 + EPOCH)
for v in (-1, -(2**100), 2**64, 2**100, "1700000000", None, b"1",
          [1], ValueError("clock says no"), OSError(5, "rtc"), ImportError("no module")):
    sys.modules["time"] = Clock(v)
    check(_azure.unix_time)
    check(tok, "a/b", "k")
# KeyboardInterrupt and MemoryError are not turned into "no clock".
for v in (KeyboardInterrupt(), MemoryError()):
    sys.modules["time"] = Clock(v)
    try:
        _azure.unix_time()
    except BaseException as e:
        print(type(e).__name__)
# No time() at all: the port has no clock.
sys.modules["time"] = object()
check(_azure.unix_time)
check(tok, "a/b", "k")
if saved is None:
    del sys.modules["time"]
else:
    sys.modules["time"] = saved
survive("clock")

print("-- parse_connection_string")
CS = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=n;SharedAccessKey=k;EntityPath=hub"


def show(s):
    try:
        d = pcs(s)
    except (TypeError, ValueError) as e:
        print(type(e).__name__, "" if isinstance(e, TypeError) else e.args[0])
        return
    print(sorted(d.items()))


for s in (None, 5, CS.encode(), bytearray(CS.encode()), memoryview(CS.encode()), [CS], ""):
    show(s)
for s in (" ", ";;;", "=", "=x", "x", ";=;", "Endpoint", "a=b", "\x00=\x00"):
    show(s)
show("HostName=h;DeviceId=d\u00e9\x00\r\n;SharedAccessKey=k\u00e9\x00\r\n;ModuleId=\U0001f600")
show("HostName=h\r\nX: y;DeviceId=d;SharedAccessKey=k")
show("HostName=h\u00e9;DeviceId=d;SharedAccessKey=k")
show("HostName=;DeviceId=d;SharedAccessKey=k")
show("Endpoint=sb://ns\x00/;SharedAccessKeyName=n;SharedAccessKey=k")
show("Endpoint=sb://ns/\r\n;SharedAccessKeyName=n;SharedAccessKey=k")
show(CS + ";SharedAccessKey=k2")
show(CS + ";Other=1;Other=2")
# The length limit: 4096 bytes, whatever the content.
long_key = CS.replace("SharedAccessKey=k", "SharedAccessKey=" + "k" * (4096 - len(CS) + 1))
print(len(long_key), len(pcs(long_key)["SharedAccessKey"]))
show(long_key + "k")
show("x=1;" * 1024 + "HostName=h;DeviceId=d;SharedAccessKey=k")
show("x" * HUGE)
show(";" * HUGE)
# Many parts within the limit: linear enough, and every one kept.
many = "".join("n%d=v;" % i for i in range(500)) + "HostName=h;DeviceId=d;SharedAccessKey=k"
print(len(many) <= 4096, len(pcs(many)))
gc.collect()
print("parse then", sorted(pcs(CS).items()))
survive("parse")
