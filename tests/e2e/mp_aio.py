# MicroPython side of tests/e2e/test_aio_e2e.py: azure.aio's HTTPS clients
# over TLS against the local endpoint, with a 10 ms ticker task beside them.
# Prints one JSON result line. Configuration from the environment (as
# tests/e2e/mp_client.py).
import asyncio
import json
import os
import sys
import time

import azure
import azure.aio as aio
import azure.aio_http as aio_http

ENDPOINT = os.getenv("E2E_ENDPOINT")
CA = os.getenv("E2E_CA")
EH = os.getenv("E2E_EH_CS")
SB = os.getenv("E2E_SB_CS")
IOT = os.getenv("E2E_IOT_CS")
N = int(os.getenv("E2E_N") or "0")
OUTBOX = os.getenv("E2E_OUTBOX")

# The ticker's gaps, and the windows in which a TLS handshake ran (from a
# connection's opening to its first bytes read): the handshake's computation
# is the one thing allowed to hold the loop.
gaps = []  # (start, end) of every tick interval, ms
windows = []  # [start, end] per connection
clients = []
_connect = aio_http._connect


async def _timed_connect(c):
    now = time.ticks_ms()
    prev = getattr(c, "_hs", None)
    if prev is not None and prev[1] is None:  # that connection never read: over now
        prev[1] = now
    c._fresh = True  # (the driver sets it too, once connected)
    c._hs = w = [now, None]
    windows.append(w)
    try:
        return await _connect(c)
    except BaseException:
        w[1] = time.ticks_ms()
        raise


aio_http._connect = _timed_connect


async def ticker(stop):
    last = time.ticks_ms()
    while not stop:
        await asyncio.sleep_ms(10)
        now = time.ticks_ms()
        gaps.append((last, now))
        for c in clients:  # a handshake is over once its connection has read
            w = getattr(c, "_hs", None)
            if w is not None and w[1] is None and not c._fresh:
                w[1] = now
        last = now


def gap_figures():
    def in_handshake(a, b):
        for s, e in windows:
            if time.ticks_diff(b, s) >= 0 and (e is None or time.ticks_diff(e, a) >= 0):
                return True
        return False

    d = [time.ticks_diff(b, a) for a, b in gaps]
    outside = [time.ticks_diff(b, a) for a, b in gaps if not in_handshake(a, b)]
    d.sort()
    return {"ticks": len(d), "max_gap_ms": d[-1] if d else None, "p99_gap_ms": d[len(d) * 99 // 100] if d else None,
            "max_gap_outside_handshakes_ms": max(outside) if outside else None, "handshakes": len(windows)}


def result(**kw):
    print("RESULT " + json.dumps(kw))


def client(cls, cs, **kw):
    c = cls.from_connection_string(cs, endpoint=ENDPOINT, ca_certs=CA, **kw)
    clients.append(c)
    return c


async def with_ticker(coro):
    stop = []
    t = asyncio.create_task(ticker(stop))
    try:
        return await coro
    finally:
        stop.append(1)
        await t


async def basic():
    out = {}
    async with client(aio.EventHubClient, EH, publisher="aio") as c:
        out["eh_single"] = await c.send("aio-single", properties={"n": 7})
        out["eh_batch"] = await c.send_batch(["aio-b1", ("aio-b2", {"k": "v"})])

        async def task(k):
            for i in range(N):
                await c.send('{"task":%d,"seq":%d}' % (k, i))

        await asyncio.gather(*[task(k) for k in range(4)])
        out["eh_connects"] = c.stats["connects"]
        if OUTBOX:  # the outbox drains through the async client
            box = azure.Outbox(OUTBOX)
            for i in range(25):  # a reading at a time, as a sensor task puts them
                box.put('{"outbox":%d}' % i)
                await asyncio.sleep_ms(0)
            out["outbox_flushed"] = await box.flush(c, batch=10)
            out["outbox_left"] = len(box)
            out["outbox_empty"] = await box.flush(c)  # (an awaitable with nothing queued too)
    s = client(aio.ServiceBusClient, SB)
    out["sb_send"] = await s.send("aio-sb", properties={"Label": "x"})
    m = await s.receive(timeout=5)
    out["sb_received"] = str(m.body, "utf-8") if m else None
    out["sb_complete"] = await s.complete(m) if m else None
    out["sb_empty"] = await s.receive(timeout=1) is None
    await s.close()
    i = client(aio.IoTHubClient, IOT)
    out["iot_send"] = await i.send(b"aio-iot", properties={"temp": "21.5"})
    m = await i.receive()
    out["c2d"] = str(m.body, "utf-8") if m else None
    out["c2d_complete"] = await i.complete(m) if m else None
    await i.close()
    return out


async def stream():
    # N events from 4 tasks through faults: none given up.
    c = client(aio.EventHubClient, EH, publisher="aio-stream", backoff_base_ms=100, backoff_cap_ms=2000)
    failed = []

    async def task(k):
        for i in range(k, N, 4):
            try:
                await c.send('{"seq":%d}' % i)
            except azure.SendError as e:
                failed.append([i, str(e)])

    await asyncio.gather(*[task(k) for k in range(4)])
    await c.close()
    return {"failed": failed, "stats": c.stats}


async def other_ca():
    c = client(aio.EventHubClient, EH)
    try:
        await c.send("never stored")
        return {"raised": False}
    except azure.TLSError as e:
        return {"raised": True, "message": str(e), "requests": c.stats["requests"]}


async def rate():
    # Events/s, one send at a time, blocking and async (make bench: the
    # same protocol, so the same bytes; the driver's cost shows here).
    out = {}
    b = azure.EventHubClient.from_connection_string(EH, endpoint=ENDPOINT, ca_certs=CA, publisher="rate-b")
    b.send("warm-up")
    t = time.ticks_ms()
    for i in range(N):
        b.send('{"seq":%d}' % i)
    out["blocking_events_per_s"] = N * 1000 // max(1, time.ticks_diff(time.ticks_ms(), t))
    b.close()
    c = client(aio.EventHubClient, EH, publisher="rate-a")
    await c.send("warm-up")
    t = time.ticks_ms()
    for i in range(N):
        await c.send('{"seq":%d}' % i)
    out["async_events_per_s"] = N * 1000 // max(1, time.ticks_diff(time.ticks_ms(), t))
    await c.close()
    return out


async def refused():
    # Nothing listens at ENDPOINT: both drivers give up alike (the same
    # error, the same stats: no connection, no request).
    out = {}
    b = azure.EventHubClient.from_connection_string(EH, endpoint=ENDPOINT, ca_certs=CA, max_retries=2,
                                                    backoff_base_ms=10)
    c = client(aio.EventHubClient, EH, max_retries=2, backoff_base_ms=10)
    for k, f in (("blocking", lambda: b.send("x")), ("async", None)):
        try:
            if f:
                f()
            else:
                await c.send("x")
        except azure.SendError as e:
            out[k] = [e.status, e.text, (c if f is None else b).stats]
    return out


SCENARIOS = {"basic": basic, "stream": stream, "other_ca": other_ca, "rate": rate, "refused": refused}

r = asyncio.run(with_ticker(SCENARIOS[sys.argv[1]]()))
r.update(gap_figures())
result(**r)
