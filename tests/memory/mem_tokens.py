# (a) 100,000 SAS tokens in one process: the heap does not grow.
# Raw keys with a key name (Event Hubs), base64 keys (IoT Hub), a long URI.
import gc
import sys

import _azure
from heap import Heap

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
EVERY = N // 20
EH_URI = "https://myns.servicebus.windows.net/hub/publishers/device-0001"
IOT_URI = "myhub.azure-devices.net/devices/device-0001"
LONG_URI = "myns.servicebus.windows.net/" + "q" * 200
EH_KEY = "AexamplekeyAEXAMPLEKEYAexamplekeyAEXAMPLEKEY="
IOT_KEY = "+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw="
KEY_BYTES = bytearray(EH_KEY.encode())

h = Heap("tokens")
t = None
for i in range(N):
    if i % EVERY == 0:
        t = None
        h.sample()
    m = i % 4
    if m == 0:
        t = _azure.sas_token(EH_URI, EH_KEY, "DataProducer", expiry=1700000000 + i)
    elif m == 1:
        t = _azure.sas_token(IOT_URI, IOT_KEY, expiry=1700000000 + i, key_is_base64=True)
    elif m == 2:
        t = _azure.sas_token(LONG_URI, KEY_BYTES, "k" * 32, expiry=2**40 + i)
    else:
        t = _azure.sas_token(EH_URI, memoryview(KEY_BYTES), "DataProducer", expiry=2**64 - 1 - i)
t = None
h.sample()
h.result(N, 256)
