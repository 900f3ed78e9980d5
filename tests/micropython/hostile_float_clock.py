# A port whose time.time() returns a float (unix): a float clock reading is
# taken as whole seconds; negative, NaN, infinite and huge readings are a
# clear ValueError. Float-less ports (the WiPy) have no such clock: SKIP.
import sys
import _azure

try:
    NAN = float("nan")
except NameError:
    print("SKIP")
    raise SystemExit


class Clock:
    def __init__(self, v):
        self.v = v

    def time(self):
        return self.v


saved = sys.modules.get("time")
sys.modules["time"] = Clock(1000000000)
EPOCH = _azure.unix_time() - 1000000000
NOW = 1700000000
sys.modules["time"] = Clock(float(NOW - EPOCH))
print("float clock", _azure.unix_time() == NOW)
sys.modules["time"] = Clock(float(NOW - EPOCH) + 3 / 4)
print("fraction dropped", _azure.unix_time() == NOW)
for v in (-float(1), NAN, float("inf"), float("-inf"), float("1e30")):
    sys.modules["time"] = Clock(v)
    try:
        _azure.unix_time()
        print("ok")
    except ValueError as e:
        print("ValueError", e)
if saved is None:
    del sys.modules["time"]
else:
    sys.modules["time"] = saved
print(saved is None or _azure.unix_time() > NOW)  # (qemu has no time module)
