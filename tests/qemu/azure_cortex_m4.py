# _azure on the Cortex-M4 qemu board (MPS2_AN386, soft float: the WiPy's
# code generation): no clock, 31-bit small ints, the Rust code's stack use.
try:
    import time

    print("SKIP")  # a port with a clock: tests/micropython/unix_time.py covers it
    raise SystemExit
except ImportError:
    pass
import sys
import _azure

print(sys.implementation._machine)

# No time module: the clock-based paths raise OSError, never crash.
try:
    _azure.unix_time()
except OSError:
    print("unix_time: OSError")
try:
    _azure.sas_token("a/b", "k")
except OSError:
    print("sas_token(ttl): OSError")

# An explicit expiry needs no clock; 64-bit expiries are long ints here.
print(_azure.sas_token("endpoint/hub", "keyVal", "keyName", expiry=1))
for se in (2**30, 2**31 - 1, 2**32, 2**64 - 1):
    print(_azure.sas_token("a/b", "k", expiry=se).split("&se=")[1])

# The largest inputs: a 344-character base64 key (258 bytes decoded), a
# long URI and key name, many times over (stack and heap stay sane).
key = "QUJD" * 86
uri = "myns.servicebus.windows.net/" + "q" * 200
t = None
for _ in range(50):
    t = _azure.sas_token(uri, key, "k" * 64, expiry=1700000000, key_is_base64=True)
print(len(t), t.split("&sig=")[1].split("&se=")[0])
