try:
    import azure

    azure.IoTHubClient
    import receive_harness  # noqa: F401 (tests/lib)
except (ImportError, AttributeError):
    print("SKIP")  # a port without sockets: no clients
    raise SystemExit

from receive_harness import *  # noqa: F401,F403 (reply, reset, line, header, body, err, C, REQS, ...)
# IoT Hub cloud-to-device (azure/receive.py through IoTHubClient): receive,
# the message's fields, complete/reject/abandon on the lock token, 204,
# lock lost (412 and 404), receive_max, wrong kinds of message.
KEY = "ZGV2aWNlLWtleS0wMTIzNDU2Nzg5YWJjZGVm"
IOT = "HostName=hub.azure-devices.net;DeviceId=dev 1;SharedAccessKey=" + KEY
NO = reply(204)
C2D = reply(200, b'{"cmd":"reboot"}',
            b'ETag: "9f2c-lock-token-1"\r\niothub-messageid: msg-1\r\niothub-correlationid: corr-1\r\n'
            b'iothub-to: /devices/dev%201/messages/deviceBound\r\niothub-deliverycount: 3\r\n'
            b'iothub-sequencenumber: 17\r\niothub-enqueuedtime: Mon, 30 Nov 2026 10:00:00 GMT\r\n'
            b'ContentType: application/json\r\nContentEncoding: utf-8\r\n'
            b'iothub-app-Mode: fast\r\niothub-app-level: 5\r\nX-Other: ignored\r\n')

c = azure.IoTHubClient.from_connection_string(IOT, max_retries=1)
print(c.hub, c.device_id, c.receive_max)
import sys

print("azure.receive" in sys.modules)

print("-- 204: nothing waiting")
REPLIES.append(NO)
print(c.receive(), line())
print("azure.receive" in sys.modules)

print("-- 200: one message")
REPLIES.append(C2D)
m = c.receive()
print(line(), header(-1, b"content-length"))
print(type(m) is azure.Message, m.body, m.message_id, m.correlation_id, m.lock_token)
print(sorted(m.properties.items()), m.delivery_count, m.sequence_number, m.content_type, m.location)
print(repr(m))

print("-- complete, reject, abandon: the lock token in the path")
REPLIES.extend([NO, NO, NO])
print(c.complete(m), line())
print(c.reject(m), line())
print(c.abandon(m), line(), header(-1, b"content-length"))

print("-- lock lost: 412 (and 404) raise LockLostError, a SendError, at once")
PF = reply(412, b'{"Message":"ErrorCode:DeviceMessageLockLost;lock expired"}', b"iothub-errorcode: PreconditionFailed\r\n")
for status, resp in ((412, PF), (404, reply(404, b"gone"))):
    reset()
    REPLIES.append(resp)
    try:
        c.complete(m)
    except azure.LockLostError as e:
        print(err(e))
        print(isinstance(e, azure.SendError), e.retried, len(REQS), KEY in str(e))
reset()
REPLIES.append(PF)
try:
    c.abandon(m)
except azure.LockLostError as e:
    print("abandon:", e.status, line())

print("-- a lost answer, then lock lost: retried says the first attempt may have settled it")
reset()
REPLIES.extend([b"HTTP/1.1 2", PF])
try:
    c.reject(m)
except azure.LockLostError as e:
    print(e.status, e.retried, len(REQS), line(0) == line(1), slept)

print("-- other errors are SendError, not LockLostError")
reset()
REPLIES.append(reply(403, b"forbidden"))
try:
    c.complete(m)
except azure.SendError as e:
    print(err(e), isinstance(e, azure.LockLostError))

print("-- what cannot be settled")
for bad in (azure.Message(), "lock", None):
    try:
        c.complete(bad)
    except ValueError as e:
        print("ValueError", e)
sbm = azure.Message()
sbm.lock_token = "x"
sbm.location = "/q/messages/1/x"
try:
    c.reject(sbm)
except ValueError as e:
    print("ValueError", e)
mod = azure.IoTHubClient.from_connection_string(IOT + ";ModuleId=m1")
try:
    mod.receive()
except ValueError as e:
    print("ValueError", e)

print("-- receive_max: a body up to it is whole; a longer one raises, never cut")
c = azure.IoTHubClient.from_connection_string(IOT, max_retries=0, receive_max=16)
reset()
REPLIES.extend([reply(200, b"0123456789abcdef", b'ETag: "L1"\r\n'), reply(200, b"0123456789abcdefX", b'ETag: "L2"\r\n')])
print(c.receive().body)
try:
    c.receive()
except ValueError as e:
    print("ValueError", e)
for v in (0, 1048577, "4096"):
    try:
        azure.IoTHubClient.from_connection_string(IOT, receive_max=v)
    except ValueError as e:
        print("ValueError", e)

print("-- the request core: 503 with Retry-After retried, then the message")
c = azure.IoTHubClient.from_connection_string(IOT, max_retries=2)
reset()
REPLIES.extend([reply(503, b"busy", b"Retry-After: 2\r\n"), C2D])
m = c.receive()
print(m.message_id, len(REQS), slept, c.stats["sent"])
