# Benchmark 3 on the MicroPython unix build: events per second to the local
# endpoint (tools/azure_endpoint.py) over TLS on loopback.
#   conn       one TLS connection per event, HTTP/1.0 style: socket, TLS wrap,
#              a hand-written POST with `Connection: close`, read to EOF
#              (the 2015 blog post's way; the token is signed once)
#   keepalive  azure.EventHubClient.send per event, one kept-alive connection
#   batch50    azure.EventHubClient.send_batch, 50 events per request
#   conn_nodelay   conn with TCP_NODELAY set on the socket (diagnostic)
#   keepalive_1w, batch50_1w   the same two with the client's socket wrapped so
#              that each request goes out in ONE write (head + body joined):
#              a diagnostic for requests written as two writes (head, then
#              body), which meet Nagle's algorithm and the server's delayed
#              ACK (see bench/RESULTS.md). Not a change to the client.
# Environment: BENCH_CONNECTION_STRING, BENCH_ENDPOINT (host:port),
# BENCH_CA (CA file), BENCH_MODES (comma-separated), BENCH_EVENTS (as many
# comma-separated counts: events per mode per repetition), BENCH_REPS,
# BENCH_COUNT=1 to count the HTTP bytes the client writes and reads.
# Prints one JSON line: per mode the median events/s over the repetitions
# (modes interleaved in each repetition), events sent (warm-up included) and,
# with BENCH_COUNT, the HTTP bytes written and read.
import json
import os
import socket
import time

import tls

import _azure
import azure
from azure import transport

CS = os.getenv("BENCH_CONNECTION_STRING")
ENDPOINT = os.getenv("BENCH_ENDPOINT")
CA = os.getenv("BENCH_CA")
MODES = (os.getenv("BENCH_MODES") or "conn,keepalive,batch50,conn_nodelay,keepalive_1w,batch50_1w").split(",")
EVENTS = [int(x) for x in (os.getenv("BENCH_EVENTS") or "50,60,500,100,300,2500").split(",")]
REPS = int(os.getenv("BENCH_REPS") or "3")
COUNT = os.getenv("BENCH_COUNT") == "1"
PUBLISHER = "bench-01"

counted = {"out": 0, "in": 0}


class Counting:
    """A socket wrapper that counts the HTTP bytes written and read."""

    def __init__(self, s):
        self._s = s

    def write(self, b):
        n = self._s.write(b)
        counted["out"] += len(b) if n is None else n
        return n

    def readinto(self, *a):
        r = self._s.readinto(*a)
        counted["in"] += r or 0
        return r

    def readline(self, *a):
        r = self._s.readline(*a)
        counted["in"] += len(r or b"")
        return r

    def read(self, n=-1):
        r = self._s.read() if n < 0 else self._s.read(n)
        counted["in"] += len(r or b"")
        return r

    def close(self):
        return self._s.close()


class OneWrite:
    """When the client writes a request head on its own, holds it and sends it
    together with the body, so that every request is one write (one TLS record)."""

    def __init__(self, s):
        self._s = s
        self._head = None

    def write(self, b):
        if self._head is None and b[:5] == b"POST " and b[-4:] == b"\r\n\r\n":
            self._head = bytes(b)
            return len(b)
        if self._head is not None:
            b = self._head + b
            self._head = None
        return self._s.write(b)

    def readinto(self, *a):
        return self._s.readinto(*a)

    def readline(self, *a):
        return self._s.readline(*a)

    def close(self):
        return self._s.close()


_connect = transport.connect
one_write = False


def _wrapped_connect(*a, **kw):
    s = _connect(*a, **kw)
    if COUNT:
        s = Counting(s)
    return OneWrite(s) if one_write else s


transport.connect = _wrapped_connect

seq = int(os.getenv("BENCH_SEQ0") or "0")


def body():
    # A sensor reading as send_telemetry.py encodes it (about 55 bytes); the
    # sequence number is unique across the run, so the endpoint's duplicate
    # count tells whether anything was sent twice.
    global seq
    seq += 1
    return '{"seq":%d,"ts":%d,"temp_c":%s,"rh":%d}' % (seq, 1764000000 + seq, 21.5 + seq % 40 / 10, 40 + seq % 20)


def client():
    return azure.EventHubClient.from_connection_string(
        CS, publisher=PUBLISHER, endpoint=ENDPOINT, ca_certs=CA)


# ---- (a) one connection per event -----------------------------------------------

def per_connection(n, nodelay=False):
    cs = azure.parse_connection_string(CS)
    host = cs["Endpoint"][5:].rstrip("/")
    hub = cs["EntityPath"]
    audience = "https://%s/%s/publishers/%s" % (host, hub, PUBLISHER)
    token = _azure.sas_token(audience, cs["SharedAccessKey"], cs["SharedAccessKeyName"])
    chost, cport = ENDPOINT.rsplit(":", 1)
    addr = socket.getaddrinfo(chost, int(cport))[0][-1]
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = tls.CERT_REQUIRED
    with open(CA, "rb") as f:
        ctx.load_verify_locations(f.read())
    path = "/%s/publishers/%s/messages?timeout=60&api-version=2014-01" % (hub, PUBLISHER)
    t0 = time.ticks_us()
    for _ in range(n):
        data = body()
        s = socket.socket()
        if nodelay:
            s.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY (Linux numbers)
        s.connect(addr)
        ss = ctx.wrap_socket(s, server_hostname=host)
        if COUNT:
            ss = Counting(ss)
        # The whole request in one write, as a script builds it.
        ss.write(("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n"
                  "Content-Type: application/atom+xml;type=entry;charset=utf-8\r\n"
                  "Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                  % (path, host, token, len(data), data)).encode())
        resp = ss.read()  # to EOF: the server closes
        ss.close()
        if resp[9:12] != b"201":
            raise OSError("HTTP status %r" % resp[:40])
    return n, time.ticks_diff(time.ticks_us(), t0), n


# ---- (b) keep-alive, one event per request ------------------------------------
# One event is sent before the clock starts: the connection is open, and the
# figure is the steady state (the handshake is what (a) measures).

def keepalive(n):
    c = client()
    try:
        c.send(body())
        t0 = time.ticks_us()
        for _ in range(n):
            c.send(body())
        dt = time.ticks_diff(time.ticks_us(), t0)
    finally:
        c.close()
    assert c.stats["connects"] == 1, c.stats
    return n, dt, c.stats["sent"]


# ---- (c) keep-alive, 50 events per request --------------------------------------

def batch50(n):
    c = client()
    try:
        c.send(body())
        t0 = time.ticks_us()
        for j in range(0, n, 50):
            c.send_batch([body() for _ in range(min(50, n - j))])
        dt = time.ticks_diff(time.ticks_us(), t0)
    finally:
        c.close()
    assert c.stats["connects"] == 1, c.stats
    return n, dt, c.stats["sent"]


FUNCS = {"conn": per_connection, "conn_nodelay": lambda n: per_connection(n, True),
         "keepalive": keepalive, "batch50": batch50, "keepalive_1w": keepalive, "batch50_1w": batch50}


def median(xs):
    xs = sorted(xs)
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def main():
    global one_write
    eps = {m: [] for m in MODES}
    sent = {m: 0 for m in MODES}
    http = {}
    for _ in range(REPS):
        for m, n in zip(MODES, EVENTS):
            counted["out"] = counted["in"] = 0
            one_write = m.endswith("_1w")
            k, us, total = FUNCS[m](n)
            eps[m].append(k * 1e6 / us)
            sent[m] += total
            http[m] = counted["out"] + counted["in"]
    out = {"eps": {m: median(v) for m, v in eps.items()}, "eps_all": eps, "sent": sent}
    if COUNT:
        out["http_bytes"] = http  # of the last repetition, warm-up event included
    print(json.dumps(out))


main()
