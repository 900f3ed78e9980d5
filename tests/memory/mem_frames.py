# (b) 10,000 framed sends in one process, without a network: token,
# frame_head, frame_batch, and a canned response fed to the Response
# reader (azure.response) the way the client does (line by line, then body pieces through a
# memoryview of a fixed buffer). The heap does not grow.
import sys

import _azure
from azure.response import Response, classify
from heap import ByteStream, Heap

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
EVERY = N // 20
HOST = "myns.servicebus.windows.net"
KEY = "AexamplekeyAEXAMPLEKEYAexamplekeyAEXAMPLEKEY="
CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
BUSY = (b"HTTP/1.1 503 Server Busy\r\nRetry-After: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"1a\r\n<Error>Server busy</Error>\r\n0\r\n\r\n")
IOT_OK = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
EVENTS = ['{"seq":1,"t":21.5}', ('{"seq":2}', {"unit": "C", "n": "7"}, "pk-1"), b"\x00binary"]

resp = Response()
QUERY = ("timeout=60&api-version=2014-01", "timeout=60&api-version=2014-01", "api-version=2021-04-12")
PATH = (("hub", "messages"), ("queue", "messages"), ("devices", "dev1", "messages", "events"))
CT = ("application/atom+xml;type=entry;charset=utf-8", None, "application/octet-stream")
CT_BATCH = ("application/vnd.microsoft.servicebus.json",) * 2 + ("application/vnd.microsoft.iothub.json",)
buf = bytearray(64)
mv = memoryview(buf)


def read_response(s):
    resp.reset()
    while not resp.complete:
        want = resp.want
        if want:
            n = s.readinto(buf, min(want, len(buf)))
            data = mv[:n] if n else b""
        else:
            data = s.readline(len(buf))
        if not data:
            resp.eof()
            break
        resp.feed(data)
    return resp.status


s = ByteStream()
h = Heap("frames")
statuses = {}
head = body = None
for i in range(N):
    if i % EVERY == 0:
        head = body = None
        h.sample()
    kind = i % 3
    token = _azure.sas_token("https://%s/hub" % HOST, KEY, "DataProducer", expiry=1700000000 + i)
    iot = kind == 2
    if i % 2:
        body = _azure.frame_batch(EVENTS if not iot else [b"a", (b"b", {"p": "q"})], iot)
        head = _azure.frame_head("POST", PATH[kind], HOST, token, len(body), QUERY[kind], CT_BATCH[kind])
    else:
        body = b'{"seq":%d}' % i
        head = _azure.frame_head("POST", PATH[kind], HOST, token, len(body), QUERY[kind], CT[kind],
                                 {"seq": "%d" % i}, "iothub-app-" if iot else None,
                                 "pk" if not iot else None)
    s.load(IOT_OK if iot else (BUSY if i % 5 == 0 else CREATED))
    st = read_response(s)
    verdict = classify(st)
    if verdict == 3:
        _azure.backoff_ms(i % 8, i * 2654435761 % 2**30, resp.retry_after)
        resp.error_text
    statuses[st] = statuses.get(st, 0) + 1
head = body = token = None
h.sample()
h.result(N, 256, statuses=statuses)
