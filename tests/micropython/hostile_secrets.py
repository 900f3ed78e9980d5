# The key never appears in what _azure produces: exception messages and
# reprs on every error path of sas_token, parse_connection_string and
# frame_head, and the tokens themselves; for a base64 (IoT Hub) key, its
# decoded text neither. Runs everywhere (the clients: hostile_client.py).
import gc
import sys
import _azure

KEY = "SeCrEtKeY+do/not/leak+0123456789abcdefXYZ="
DEV_KEY = "UkFXLURFVklDRS1TRUNSRVQtYnl0ZXMtMDEyMzQ1Njc4OQ=="  # b"RAW-DEVICE-SECRET-bytes-0123456789"
RAW = "RAW-DEVICE-SECRET-bytes-0123456789"
SECRETS = (KEY, KEY[:12], KEY[-12:], DEV_KEY, DEV_KEY[:12], DEV_KEY[-12:], RAW, RAW[:12])
# Percent-encoded forms, as they would appear inside a token.
SECRETS += ("SeCrEtKeY%2Bdo", "UkFXLURFVklD")
checked = [0]  # texts looked at (a count: keeping them would fill a small heap)
leaks = []


def watch(*objs):
    for o in objs:
        for t in (str(o), repr(o)):
            checked[0] += 1
            for s in SECRETS:
                if s in t:
                    leaks.append(t)


def attempt(f, *args, **kw):
    try:
        r = f(*args, **kw)
    except Exception as e:  # any type: all are checked
        watch(e, e.args)
        return type(e).__name__
    if f is not pcs:  # a parsed connection string holds the key, by design
        watch(r)
    return "ok"


tok = _azure.sas_token
import azure

pcs = azure.parse_connection_string
results = []
for key in (KEY, KEY.encode(), bytearray(KEY.encode()), memoryview(KEY.encode()), DEV_KEY, DEV_KEY.encode()):
    for b64 in (False, True):
        for args, kw in (
            (("", key), {"expiry": 1}),
            ((b"uri", key), {"expiry": 1}),
            (("uri", key, ""), {"expiry": 1}),
            (("uri", key, b"name"), {"expiry": 1}),
            (("uri", key), {"expiry": -1}),
            (("uri", key), {"expiry": 2**64}),
            (("uri", key), {"expiry": "1"}),
            (("uri", key), {"ttl": 0}),
            (("uri", key), {"ttl": 2**64}),
            (("uri", key), {"expiry": 1, "bogus": 1}),
            (("uri", key, "n", 5), {}),
            (("uri", key), {"expiry": 1}),  # fine for raw keys; KEY is not base64
        ):
            results.append(attempt(tok, *args, key_is_base64=b64, **kw))
# Keys that are refused as keys: too long, bad base64, wrong type.
for key in (KEY * 10, KEY + "!", KEY[:-2], DEV_KEY + "=", DEV_KEY[1:], RAW):
    results.append(attempt(tok, "uri", key, expiry=1, key_is_base64=True))
results.append(attempt(tok, "uri", [KEY], expiry=1))
results.append(attempt(tok, "uri", {KEY: 1}, expiry=1))
results.append(attempt(tok, "uri", (KEY,), expiry=1))
# The clock paths: no clock, a clock before 2020, overflow.
saved = sys.modules.get("time")


class Clock:
    def __init__(self, v):
        self.v = v

    def time(self):
        if isinstance(self.v, BaseException):
            raise self.v
        return self.v


for clock in (object(), Clock(0), Clock(2**64 - 1), Clock(-1), Clock("x"), Clock(OSError(5, "rtc"))):
    sys.modules["time"] = clock
    for key in (KEY, DEV_KEY):
        results.append(attempt(tok, "uri", key, key_is_base64=key is DEV_KEY))
        results.append(attempt(tok, "uri", key, ttl=2**64 - 1, key_is_base64=key is DEV_KEY))
if saved is None:
    del sys.modules["time"]
else:
    sys.modules["time"] = saved
gc.collect()
print("sas_token", len(results), sorted(set(results)))

# Connection strings holding the key, on every error path.
results = []
EH = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=%s;EntityPath=hub" % KEY
IOT = "HostName=hub.azure-devices.net;DeviceId=dev1;SharedAccessKey=" + DEV_KEY
for cs in (EH, IOT):
    for bad in (
        cs.encode(),
        bytearray(cs.encode()),
        cs + ";garbage",
        cs + ";=x",
        cs.replace("Endpoint=sb://", "Endpoint=https://"),
        cs.replace("HostName=hub", "HostName=h b"),
        cs + ";SharedAccessKey=" + KEY,
        cs.replace("SharedAccessKeyName=send;", "").replace("DeviceId=dev1;", ""),
        cs.replace("Endpoint=", "Endpoit=").replace("HostName=", "HostNam="),
        cs + ";x=" + KEY * 100,
        cs.replace(";", "; ;"),
        "SharedAccessKey=" + KEY,
        KEY,
        KEY + "=" + KEY,
        cs,
    ):
        results.append(attempt(pcs, bad))
print("parse_connection_string", len(results), sorted(set(results)))

# Someone passing the key where the token goes, with a bad value elsewhere.
results = []
for bad in ({"host": "h\r\n"}, {"entity": ""}, {"token": KEY + "\r\n"}, {"token": DEV_KEY + "\x00"},
            {"body_len": 2**40}, {"method": KEY}, {"properties": {KEY: "v"}}, {"properties": {"k": KEY + "\n"}},
            {"partition_key": KEY + "\r"}, {"content_type": KEY + "\n"}, {"query": KEY + " "}):
    a = {"method": "POST", "host": "ns", "entity": "hub", "token": KEY, "body_len": 0, "query": None,
         "content_type": None, "properties": None, "partition_key": None}
    a.update(bad)
    try:
        _azure.frame_head(a["method"], (a["entity"], "messages"), a["host"], a["token"], a["body_len"], a["query"],
                          a["content_type"], a["properties"], None, a["partition_key"])
        results.append("ok")
    except Exception as e:
        watch(e, e.args)
        results.append(type(e).__name__)
results.append(attempt(_azure.frame_batch, [("x", {KEY: "\xff"}, KEY)], False, 10))
results.append(attempt(_azure.frame_batch, [(KEY, None, KEY)], True))
print("frame", len(results), sorted(set(results)))

# The tokens themselves carry the signature, never the key.
for key, b64 in ((KEY, False), (DEV_KEY, True), (RAW, False)):
    watch(tok("hub.azure-devices.net/devices/dev1", key, "n", expiry=1700000000, key_is_base64=b64))
print("checked", checked[0] > 500, "leaks", leaks)
