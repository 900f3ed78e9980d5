# The clients as the WiPy runs them: the package from /flash/lib (.mpy),
# no floats, TLS through the cc3200's ssl.wrap_socket on an IPPROTO_SEC
# socket (here the scripted stand-ins in tests/qemu-wipy/lib), the clock
# counting from 2000. Every service, properties with int and bool values,
# batches, token renewal at 80 %, a 401 renewed once, Retry-After honoured,
# the exact number of attempts, Connection: close, and the key in no message.
import socket
import ssl
import time

import azure

try:
    float
    print("floats: yes (not the WiPy's configuration)")
except NameError:
    print("floats: no")

KEY = "c2VjcmV0LWtleS1mb3ItdGhlLXdpcHktdHdpbi0wMTI="
EH = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=DataProducer;SharedAccessKey=%s;EntityPath=hub" % KEY
SB = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Send;SharedAccessKey=%s;EntityPath=orders" % KEY
IOT = "HostName=hub.azure-devices.net;DeviceId=wipy-1;SharedAccessKey=%s" % KEY
CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
BUSY = b"HTTP/1.1 503 Server Busy\r\nRetry-After: 4\r\nContent-Length: 4\r\n\r\nbusy"
EXPIRED = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n\r\nExpiredToken"
CLOSING = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def head(i):
    # Request line and the headers that matter (the token's signature varies).
    lines = socket.requests[i].split(b"\r\n\r\n")[0].split(b"\r\n")
    return [l for l in lines if not l.startswith(b"Authorization")]


def token(i):
    for l in socket.requests[i].split(b"\r\n"):
        if l.startswith(b"Authorization: "):
            return l[15:]


def body(i):
    return socket.requests[i].split(b"\r\n\r\n", 1)[1]


print("-- Event Hubs, publisher, single and batch")
socket.reset()
socket.answer(CREATED, CREATED)
c = azure.EventHubClient.from_connection_string(EH, publisher="wipy-kitchen", ca_certs="/flash/cert/ca.pem")
print(c.send('{"t":2150}', properties={"seq": 5, "ok": True, "unit": "C"}))
print(c.send_batch(['{"seq":1}', ('{"seq":2}', {"n": 7}), ('{"seq":3}', None, "pk")]))
for i in range(2):
    print(head(i))
print(body(1))
t = token(0)
print(t.startswith(b"SharedAccessSignature sr=https%3A%2F%2Fns.servicebus.windows.net%2Fhub%2Fpublishers%2Fwipy-kitchen&sig="),
      t.endswith(b"&skn=DataProducer"), token(1) == t)
# se = the board's clock (2000 epoch) + 946684800 + ttl
print(b"&se=%d&" % (time.time() + 946684800 + 3600) in t)
print(ssl.wrapped[-1], socket.opened, sorted(c.stats.items()))

print("-- Service Bus and IoT Hub")
socket.reset()
socket.answer(CREATED, NO_CONTENT, NO_CONTENT)
s = azure.ServiceBusClient.from_connection_string(SB, ca_certs="/flash/cert/ca.pem")
print(s.send(b"order-1", properties={"Label": "x"}, content_type="text/plain"))
d = azure.IoTHubClient.from_connection_string(IOT, ca_certs="/flash/cert/ca.pem")
print(d.send(b"\x00\x01", properties={"temp": 2150}))
print(d.send_batch([b"a", (b"b", {"k": "v"})]))
for i in range(3):
    print(head(i))
print(body(2))
print(token(1).startswith(b"SharedAccessSignature sr=hub.azure-devices.net%2Fdevices%2Fwipy-1&sig="),
      b"skn" in token(1))

print("-- renewal at 80 % of the token's life, not before")
socket.reset()
socket.answer(CREATED, CREATED, CREATED)
c = azure.EventHubClient.from_connection_string(EH, token_ttl=100, ca_certs="/flash/cert/ca.pem")
c.send("a")
time.sleep(79)
c.send("b")
time.sleep(1)
c.send("c")
print(token(0) == token(1), token(1) == token(2), c.stats["renewals"])

print("-- 401 once: a fresh token, one more request")
socket.reset()
socket.answer(EXPIRED, CREATED)
print(c.send("d"), len(socket.requests), token(0) == token(1), c.stats["renewals"])
socket.reset()
socket.answer(EXPIRED, EXPIRED)
try:
    c.send("e")
except azure.SendError as e:
    print("SendError", e.status, e.text, len(socket.requests), KEY in str(e))

print("-- 503 with Retry-After, then success; then give up after max_retries")
socket.reset()
del time.slept[:]
socket.answer(BUSY, BUSY, CREATED)
print(c.send("f"), len(socket.requests), [ms >= 4000 for ms in time.slept], c.stats["retries"])
socket.reset()
c.max_retries = 2
socket.answer(BUSY, BUSY, BUSY, CREATED)
try:
    c.send("g")
except azure.SendError as e:
    print("SendError", e.status, e.text, len(socket.requests))

print("-- 4xx at once")
socket.reset()
socket.answer(b"HTTP/1.1 413 Too Large\r\nContent-Length: 3\r\n\r\nbig")
try:
    c.send("h")
except azure.SendError as e:
    print("SendError", e.status, e.text, len(socket.requests))

print("-- Connection: close honoured, connection refused retried")
socket.reset()
socket.answer(CLOSING, CREATED)
c.send("i")
c.send("j")
print(socket.opened, socket.closed)
c.close()
socket.reset()
socket.refuse(1)
socket.answer(CREATED)
r0 = c.stats["retries"]
print(c.send("k"), socket.opened, c.stats["retries"] - r0)
c.close()

print("-- a clock that was never set")
socket.reset()
time.set_time(500000000)  # 2015: the RTC after a reset
try:
    azure.EventHubClient.from_connection_string(EH).send("l")
except ValueError as e:
    print("ValueError", e)
