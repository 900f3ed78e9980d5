# SAS tokens: the public known-answer vectors, both key modes, 64-bit expiries.
import _azure
import azure

# 1. Raw key, uppercase hex.
print(_azure.sas_token("endpoint/hub", "keyVal", "keyName", expiry=1))
# 2. Event Hubs style raw key.
print(
    _azure.sas_token(
        "https://mysvc.servicebus.windows.net/myentity",
        "AexamplekeyAEXAMPLEKEYAexamplekeyAEXAMPLEKEY=",
        "mykey",
        expiry=1476065410,
    )
)
# 3. IoT Hub: base64-decoded key, no skn.
IOT_URI = "iot-hub-for-test.azure-devices.net/devices/iot-device-for-test"
IOT_KEY = "+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw="
print(_azure.sas_token(IOT_URI, IOT_KEY, expiry=1471940363, key_is_base64=True))

# The key may be str, bytes, bytearray or memoryview: same token.
t = _azure.sas_token("endpoint/hub", "keyVal", "keyName", expiry=1)
for k in (b"keyVal", bytearray(b"keyVal"), memoryview(b"xkeyVal")[1:]):
    print(type(k).__name__, _azure.sas_token("endpoint/hub", k, "keyName", expiry=1) == t)
print("base64 key as bytes", _azure.sas_token(IOT_URI, IOT_KEY.encode(), expiry=1471940363, key_is_base64=True)
      == _azure.sas_token(IOT_URI, IOT_KEY, expiry=1471940363, key_is_base64=True))

# Expiries past 2038 and 2106 and the 64-bit maximum, on 32-bit ports too.
for se in (2**31, 2**32, 2**32 + 1, 2**63, 2**64 - 1):
    print(_azure.sas_token("a/b", "k", expiry=se))

# Non-ASCII and reserved characters in the URI and the key name.
print(_azure.sas_token("https://ns/hub/publishers/dévice 1?x=1&y=#", "k", "a-b.c_d~e", expiry=5))

# Keys longer than the 64-byte HMAC block are hashed first.
print(_azure.sas_token("a", "k" * 100, expiry=1))
print(_azure.sas_token("a", "a" * 340 + "AA==", expiry=1, key_is_base64=True))

# The Python layer re-exports the native functions.
print(azure.sas_token is _azure.sas_token, azure.derive_device_key is _azure.derive_device_key,
      azure.unix_time is _azure.unix_time, azure.crc32 is _azure.crc32)
