# What the azure package holds in the heap of the WiPy's firmware once a
# device is sending: `import azure`, EventHubClient.from_connection_string,
# one token, one framed and sent single event, one framed and sent 3-event
# batch. Runs on the qemu twin (make qemu-wipy), the package loaded from
# /flash/lib as on the board; the cc3200's socket/ssl/time are scripted
# stand-ins, imported before the baseline (on the WiPy they are firmware).
# Prints "HELD <bytes>" (after gc.collect()).
import gc
import socket
import ssl
import time

CS = ("Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=DataProducer;"
      "SharedAccessKey=c2VjcmV0LWtleS1mb3ItdGhlLWhlYXAtYmVuY2gtMDEyMzQ=;EntityPath=telemetry")
CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"

gc.collect()
base = gc.mem_alloc()
import azure

c = azure.EventHubClient.from_connection_string(CS, publisher="wipy-01", ca_certs="/flash/cert/ca.pem")
socket.answer(CREATED, CREATED)
s1 = c.send('{"seq":1,"temp_c":21,"rh":40}')
s2 = c.send_batch(['{"seq":2,"temp_c":21}', '{"seq":3,"temp_c":22}', '{"seq":4,"temp_c":22}'])
# The stand-ins' own records are not the package's.
del socket.requests[:]
del ssl.wrapped[:]
gc.collect()
print("STATUS", s1, s2)
print("HELD", gc.mem_alloc() - base)
