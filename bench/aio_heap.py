# What the azure package holds in the heap of an asyncio board (make
# qemu-aio: armv6m, the Pico W's architecture) once a device is sending over
# HTTPS, blocking or with azure.aio: `import azure` (the armv6m _azure.mpy
# and the package's .mpy loaded from flash into the heap), a client from
# its connection string, one token, one single send and one 3-event batch.
# MODE ("blocking" or "async", set by bench/aio_report.py) picks the client.
# The network is scripted (the twin's socket stand-in for the blocking
# client, a scripted stream under asyncio for the async one), made before
# the baseline, as asyncio is (frozen firmware on the board). Prints
# "HELD <bytes>" after gc.collect().
import gc
import asyncio
import socket
import ssl
from scripted_stream import ScriptedStream

try:
    MODE
except NameError:
    MODE = "async"

CS = ("Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=DataProducer;"
      "SharedAccessKey=c2VjcmV0LWtleS1mb3ItdGhlLWhlYXAtYmVuY2gtMDEyMzQ=;EntityPath=telemetry")
CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
streams = []


async def _connect(c):
    s = ScriptedStream([CREATED, CREATED])
    streams.append(s)
    return asyncio.StreamReader(s)


async def _main(c):
    return [await c.send('{"seq":1,"temp_c":21,"rh":40}'),
            await c.send_batch(['{"seq":2,"temp_c":21}', '{"seq":3,"temp_c":22}', '{"seq":4,"temp_c":22}'])]


gc.collect()
base = gc.mem_alloc()
import azure

if MODE == "async":
    import azure.aio as aio
    import azure.aio_http

    azure.aio_http._connect = _connect
    c = aio.EventHubClient.from_connection_string(CS, publisher="pico-01", ca_certs="/flash/ca.der")
    st = asyncio.run(_main(c))
    streams[0].written = bytearray()  # the stand-in's record is not the package's
    del streams[:]
else:
    c = azure.EventHubClient.from_connection_string(CS, publisher="pico-01", ca_certs="/flash/ca.der")
    socket.answer(CREATED, CREATED)
    st = [c.send('{"seq":1,"temp_c":21,"rh":40}'),
          c.send_batch(['{"seq":2,"temp_c":21}', '{"seq":3,"temp_c":22}', '{"seq":4,"temp_c":22}'])]
    del socket.requests[:]
    del ssl.wrapped[:]
gc.collect()
print("STATUS", MODE, st)
print("HELD", gc.mem_alloc() - base)
