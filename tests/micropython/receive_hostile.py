try:
    import azure

    azure.IoTHubClient
    import receive_harness  # noqa: F401 (tests/lib)
except (ImportError, AttributeError):
    print("SKIP")  # a port without sockets: no clients
    raise SystemExit

from receive_harness import *  # noqa: F401,F403 (reply, reset, line, header, body, err, C, REQS, ...)
# Hostile answers to receive: each a clear exception (SendError "malformed
# answer", ValueError, or the reader's OSError surfaced as a connection
# failure), nothing from the answer reaching a request line, and the heap
# the same after many receives as after the first.
import gc

KEY = "ZGV2aWNlLWtleS0wMTIzNDU2Nzg5YWJjZGVm"
IOT = "HostName=hub.azure-devices.net;DeviceId=dev1;SharedAccessKey=" + KEY
SB = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=%s;EntityPath=q" % KEY
c = azure.IoTHubClient.from_connection_string(IOT, max_retries=0)
s = azure.ServiceBusClient.from_connection_string(SB, max_retries=0)
BP = b'BrokerProperties: {"LockToken":"L-1","SequenceNumber":3,"DeliveryCount":1,"MessageId":"m"}\r\n'
LOC = b"Location: https://ns.servicebus.windows.net/q/messages/3/L-1\r\n"


def iot(headers, body=b"x"):
    c.close()  # each case on a fresh connection (a kept-alive one is retried once at once)
    reset()
    REPLIES.append(reply(200, body, headers))
    try:
        m = c.receive()
        print("  message", m.lock_token, sorted(m.properties.items()))
        return m
    except (azure.SendError, ValueError) as e:
        print(" ", err(e))


def sb(headers, body=b"x", delete=False):
    s.close()
    reset()
    REPLIES.append(reply(200 if delete else 201, body, headers))
    try:
        m = s.receive(timeout=1, delete=delete)
        print("  message", m.lock_token, m.location, sorted(m.properties.items()))
        return m
    except (azure.SendError, ValueError) as e:
        print(" ", err(e))


print("-- IoT Hub: ETag missing, empty, with CR, with a space, unquoted")
iot(b"iothub-messageid: m\r\n")
iot(b'ETag: ""\r\n')
iot(b'ETag: "ab\rcd"\r\n')
iot(b'ETag: "ab cd"\r\n')
m = iot(b"ETag: plain-token\r\n")
print("-- a forged lock token with CR/LF never reaches the request line raw")
m.lock_token = "x\r\nInjected: 1"
reset()
REPLIES.append(reply(412, b"lock"))
try:
    c.complete(m)
except azure.LockLostError as e:
    print(" ", e.status, line())
print(b"Injected: 1" in REQS[0], b"\r\nInjected" in REQS[0])

print("-- Service Bus: BrokerProperties not JSON, not an object, missing; LockToken missing or odd")
sb(b"BrokerProperties: {LockToken: L-1\r\n" + LOC)
sb(b"BrokerProperties: [1,2]\r\n" + LOC)
sb(LOC)
sb(b'BrokerProperties: {"SequenceNumber":3}\r\n' + LOC)
sb(b'BrokerProperties: {"LockToken":7}\r\n' + LOC)
sb(b'BrokerProperties: {"LockToken":"a\\r\\nb"}\r\n' + LOC)
print("-- Location: not a path, with a space; neither Location nor SequenceNumber")
sb(BP + b"Location: https://ns.servicebus.windows.net\r\n")
sb(BP + b"Location: /q/messages/3/L 1\r\n")
sb(b'BrokerProperties: {"LockToken":"L-1"}\r\n')
print("-- a forged Location with CR/LF: the native framer refuses it")
m = sb(BP + LOC)
m.location = "/q/messages/3/L-1\r\nInjected: 1"
reset()
try:
    s.complete(m)
except ValueError as e:
    print("  ValueError", e, len(REQS))
print("-- receive-and-delete needs no lock: BrokerProperties without LockToken is fine")
sb(b'BrokerProperties: {"SequenceNumber":3}\r\n', delete=True)

print("-- huge headers: a kept header over 1,024 bytes fails the answer (a connection failure, retried by policy)")
iot(b"iothub-app-big: " + b"v" * 1100 + b"\r\nETag: \"L\"\r\n")
sb(BP + LOC + b"x-custom: " + b"v" * 1100 + b"\r\n")
print("-- an unkept huge header is skipped (IoT Hub keeps ETag and iothub-* only)")
iot(b"X-Junk: " + b"j" * 5000 + b"\r\nETag: \"L\"\r\n")
print("-- too many headers kept: bounded")
iot(b"ETag: \"L\"\r\n" + b"".join(b"iothub-app-p%d: v\r\n" % i for i in range(60)))
sb(BP + LOC + b"".join(b"p%d: 1\r\n" % i for i in range(60)))
print("-- exactly at the bound")
m = sb(BP + LOC + b"".join(b"p%d: 1\r\n" % i for i in range(46)))
print("-- a status line that is not HTTP, a body cut short")
c.close()
reset()
REPLIES.append(b"SMTP ready\r\n\r\n")
try:
    c.receive()
except azure.SendError as e:
    print(" ", err(e))
c.close()
reset()
REPLIES.append(b'HTTP/1.1 200 OK\r\nETag: "L"\r\nContent-Length: 10\r\n\r\nshort')
try:
    c.receive()
except azure.SendError as e:
    print(" ", err(e))
print("-- and the client still works")
iot(b'ETag: "L-ok"\r\n')

print("-- heap: the same after 100 more receives and completes as after the first")
NO = reply(204)
MSG = reply(200, b'{"cmd":"set","v":42}', b'ETag: "4b1f-lock"\r\niothub-messageid: id-1\r\niothub-app-kind: cmd\r\n')
SBM = reply(201, b"order", BP + LOC + b'kind: "cmd"\r\nn: 5\r\n')


def cycle(n):
    for i in range(n):
        REPLIES.extend([MSG, NO])
        m = c.receive()
        c.complete(m)
        REPLIES.extend([SBM, reply(200)])
        m = s.receive(timeout=1)
        s.complete(m)
        del REQS[:]


cycle(1)
gc.collect()
a = gc.mem_alloc()
cycle(100)
m = None
gc.collect()
b = gc.mem_alloc()
print("heap stable:", b - a < 256)
