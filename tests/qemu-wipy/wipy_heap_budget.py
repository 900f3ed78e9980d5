# A device's life in no more heap than the WiPy has. The twin's heap is
# about three times the board's, so a ballast takes the difference first;
# what is left is at most the WiPy's heap (47,512 bytes by make wipy; 47,000
# here, a margin for _azure growing within its footprint budget); the
# stand-ins for the cc3200's socket/ssl/time (firmware on the board) are
# left out of it. Then, with the package loaded into that heap from
# /flash/lib as on the board: a client from its connection string, 200
# single sends with properties, 20 batches of 10, a 401 answered by a fresh
# token, a 503 retried after its Retry-After, and an IoT Hub client that
# receives and completes a cloud-to-device message. A MemoryError anywhere
# fails the test.
import gc

gc.collect()
boot = gc.mem_alloc()  # what the twin holds at boot (and this script's code)
import socket  # noqa: E402 (the stand-ins: firmware on the WiPy, so outside its budget)
import ssl  # noqa: E402
import time  # noqa: E402

WIPY_HEAP = 47000
gc.collect()
ballast = bytearray(gc.mem_free() - (WIPY_HEAP - boot))
gc.collect()
print("room at most the WiPy's:", boot + gc.mem_free() <= WIPY_HEAP)

import azure

KEY = "c2VjcmV0LWtleS1mb3ItdGhlLXdpcHktdHdpbi0wMTI="
EH = ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=DataProducer;SharedAccessKey=%s;"
      "EntityPath=telemetry" % KEY)
IOT = "HostName=hub.azure-devices.net;DeviceId=wipy-1;SharedAccessKey=%s" % KEY
CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"
BUSY = b"HTTP/1.1 503 Server Busy\r\nRetry-After: 2\r\nContent-Length: 4\r\n\r\nbusy"
EXPIRED = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n\r\nExpiredToken"
C2D = (b'HTTP/1.1 200 OK\r\nETag: "lock-1"\r\niothub-messageid: m-1\r\niothub-deliverycount: 1\r\n'
       b'iothub-app-mode: fast\r\nContent-Length: 16\r\n\r\n{"cmd":"reboot"}')


def forget():
    # The stand-ins keep every request; the board keeps none.
    del socket.requests[:]
    del ssl.wrapped[:]


c = azure.EventHubClient.from_connection_string(EH, publisher="wipy-01", ca_certs="/flash/cert/ca.pem")
sent = 0
for i in range(200):
    socket.answer(CREATED)
    sent += c.send('{"seq":%d,"temp_c":21,"rh":40}' % i, properties={"seq": i, "ok": True}) == 201
    forget()
for b in range(20):
    socket.answer(CREATED)
    sent += 10 * (c.send_batch(['{"seq":%d}' % (1000 + 10 * b + j) for j in range(10)]) == 201)
    forget()
print("sent", sent, c.stats["sent"])
socket.answer(EXPIRED, CREATED, BUSY, CREATED)
print("401 then 201:", c.send("renewed"), "503 then 201:", c.send("retried"))
print("requests", len(socket.requests), "retries", c.stats["retries"], "renewals", c.stats["renewals"])
forget()

d = azure.IoTHubClient.from_connection_string(IOT, ca_certs="/flash/cert/ca.pem")
socket.answer(C2D, NO_CONTENT)
m = d.receive()
print(m.message_id, bytes(m.body), m.properties, d.complete(m))
forget()
c.close()
d.close()
gc.collect()
print("still free:", gc.mem_free() > 4096)
