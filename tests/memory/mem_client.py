# (c) and (d): a client sending events in one process, singles and batches;
# the heap does not grow and nothing fails from fragmentation.
#   MEM_ENDPOINT=host:port  the local endpoint over TLS (MEM_CA, MEM_CS set)
#   MEM_ENDPOINT=fake       an in-process fake socket instead of TLS (a 48 KB
#                           heap cannot hold mbedTLS on the unix port; the
#                           WiPy's TLS runs in its network processor): every
#                           request answered 201, with a 503 + Retry-After, a
#                           401 and a Connection: close mixed in, so retries,
#                           token renewal and reconnects run too.
# MEM_N events (default 2000); MEM_PYTHON_HTTP=1 frames and reads in Python
# (azure/_http.py, the WiPy's path). Configuration comes from run_memory.py.
import os

import azure
from azure import transport
from heap import ByteStream, Heap

N = int(os.getenv("MEM_N") or "2000")
EVERY = max(N // 20, 50)
BATCH = 10
ENDPOINT = os.getenv("MEM_ENDPOINT")
CS = os.getenv("MEM_CS") or ("Endpoint=sb://demo-ns.servicebus.windows.net/;SharedAccessKeyName=DataProducer;"
                             "SharedAccessKey=c2VjcmV0LWtleS1mb3ItZTJlLXRlc3RzLTAxMjM0NTY3ODk=;EntityPath=telemetry")

CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nStrict-Transport-Security: max-age=31536000\r\n\r\n"
CLOSE = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
BUSY = (b"HTTP/1.1 503 Server Busy\r\nRetry-After: 0\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"1a\r\n<Error>Server busy</Error>\r\n0\r\n\r\n")
UNAUTHORIZED = (b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/xml\r\nContent-Length: 60\r\n\r\n"
                b"<Error><Code>401</Code><Detail>ExpiredToken</Detail></Error>")


class FakeSocket(ByteStream):
    requests = 0

    def __init__(self):
        super().__init__()
        self.closed = False

    def write(self, b):
        if self.closed:
            raise OSError(9)
        if b[:5] == b"POST ":
            n = FakeSocket.requests = FakeSocket.requests + 1
            self.data = BUSY if n % 53 == 0 else UNAUTHORIZED if n % 97 == 0 else CLOSE if n % 31 == 0 else CREATED
            self.pos = 0
        return len(b)

    def close(self):
        self.closed = True


kw = {}
if ENDPOINT == "fake":
    transport.connect = lambda *a: FakeSocket()
    ENDPOINT = "127.0.0.1:9"  # never reached
    kw = {"backoff_base_ms": 1, "backoff_cap_ms": 2}
c = azure.EventHubClient.from_connection_string(CS, endpoint=ENDPOINT, ca_certs=os.getenv("MEM_CA"),
                                                publisher="memory", **kw)
h = Heap("client")
failed = 0
i = 0
last = None
events = [None] * BATCH
# Larger bodies are slices of one buffer, as a device would send them: a new
# 4 KB object per send would test the GC's fragmentation, not the client.
BIG = memoryview(b"x" * 4000)
while i < N:
    if i % EVERY == 0:
        h.sample()
        if os.getenv("MEM_VERBOSE"):
            print("progress", i, c.stats)
    try:
        if (i // BATCH) % 4 == 3:
            # a batch of BATCH events, as (body, properties) tuples
            for j in range(BATCH):
                events[j] = ('{"seq":%d}' % (i + j), {"seq": i + j})
            last = c.send_batch(events)
            i += BATCH
        elif i % 100 == 1:
            # now and then a larger body (head and body written separately)
            last = c.send(BIG[:1000 + i % 3000], properties={"seq": i})
            i += 1
        else:
            last = c.send('{"seq":%d,"t":21.5,"pad":"%s"}' % (i, "p" * (i % 200)), properties={"seq": i, "unit": "C"})
            i += 1
    except OSError as e:
        failed += 1
        print("send failed:", e)
        i += 1
for j in range(BATCH):
    events[j] = None
h.sample()
c.close()
h.result(N, 512, failed=failed, last_status=last, stats=c.stats,
         transport=("fake" if kw else "tls") + ("/py" if os.getenv("MEM_PYTHON_HTTP") else ""))
