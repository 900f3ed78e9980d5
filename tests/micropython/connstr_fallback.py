# azure/_connstr.py (the WiPy's connection-string parser, in Python) against
# the native parse_connection_string: same dicts, same errors and messages.
import _azure

try:
    from azure._connstr import parse_connection_string as py_parse
except ImportError:
    print("SKIP")
    raise SystemExit

seed = 777


def rnd(n):
    global seed
    seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
    return seed % n


PARTS = ["Endpoint=sb://ns.servicebus.windows.net/", "Endpoint=sb://ns", "Endpoint=https://x/",
         "Endpoint=sb://", "Endpoint=sb://bad host/", "HostName=h.azure-devices.net", "HostName=h/x",
         "HostName=", "SharedAccessKeyName=DataProducer", "SharedAccessKeyName=", "SharedAccessKey=a2V5==",
         "SharedAccessKey=", "EntityPath=hub", "DeviceId=dev1", "DeviceId=", "ModuleId=m", "Other=1",
         "x", "=v", " ", "", "Key==v=", "é=ü"]


def run(f, s):
    try:
        return sorted(f(s).items())
    except (TypeError, ValueError) as e:
        return (type(e).__name__, str(e))


same = differ = ok = 0
for i in range(1500):
    if i % 2:
        s = ";".join(PARTS[rnd(len(PARTS))] for _ in range(rnd(6)))
    else:
        # A valid string of either kind, with one part maybe replaced or dropped.
        parts = ([PARTS[0], PARTS[8], PARTS[10], PARTS[12]] if rnd(2)
                 else [PARTS[5], PARTS[13], PARTS[10]] + ([PARTS[15]] if rnd(2) else []))
        if rnd(3) == 0:
            parts[rnd(len(parts))] = PARTS[rnd(len(PARTS))]
        s = ";".join(parts) + (";" if rnd(4) == 0 else "")
    a, b = run(_azure.parse_connection_string, s), run(py_parse, s)
    if a == b:
        same += 1
        ok += isinstance(a, list)
    else:
        differ += 1
        print("differs:", repr(s), a, b)
for s in (None, b"HostName=h;DeviceId=d;SharedAccessKey=k", 5):
    print(run(_azure.parse_connection_string, s)[0], run(py_parse, s)[0])
print(same, "same,", differ, "differ,", ok, "parsed")
