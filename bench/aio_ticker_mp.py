# MicroPython side of bench/aio_bench.py: how long the event loop is held
# while azure.aio.IoTHubMQTTClient works, seen by a task that asks to wake
# every 10 ms (the "ticker"). Its gaps (time between two wakeups, ideally
# 10 ms) are recorded per phase:
#   idle       the ticker alone, the client connected and idle (the machine's own noise)
#   steady     4 tasks sending concurrently for BENCH_STEADY_MS
#   reconnect  one task sending while the host drops the connection and has
#              the endpoint refuse new ones for a while (the line "DROP" asks
#              for it); the phase ends once the client connected again and
#              50 more events were acknowledged
# Also: what one pass of asyncio's scheduler costs (sleep_ms(0)) before the
# client connects and once its reader waits on the TLS stream; and a plain blocking TLS handshake to the same endpoint (socket + tls
# wrap, the same CA), timed, for comparison with the largest gaps.
# Prints one JSON line. Environment: BENCH_CS, BENCH_MQTT, BENCH_CA, BENCH_STEADY_MS, BENCH_SEQ0.
import json
import os
import socket
import sys
import time

import asyncio
import azure
import azure.aio

CS = os.getenv("BENCH_CS")
EP = os.getenv("BENCH_MQTT")
CA = os.getenv("BENCH_CA")
STEADY_MS = int(os.getenv("BENCH_STEADY_MS") or "3000")
FMT = '{"seq":%09d,"temp_c":21.5,"rh":40.5,"ok":1}'
seq = [int(os.getenv("BENCH_SEQ0") or "0")]

phase = [None]
gaps = {"idle": [], "steady": [], "reconnect": []}
stop = [False]


def body():
    seq[0] += 1
    return FMT % seq[0]


async def ticker():
    last = time.ticks_us()
    while not stop[0]:
        await asyncio.sleep_ms(10)
        now = time.ticks_us()
        p = phase[0]
        if p is not None:
            gaps[p].append(time.ticks_diff(now, last))
        last = now


async def yield_us(n=100):
    # What one pass of the scheduler costs: n awaits of sleep_ms(0).
    t0 = time.ticks_us()
    for _ in range(n):
        await asyncio.sleep_ms(0)
    return time.ticks_diff(time.ticks_us(), t0) / n


def handshake_ms():
    import tls

    host, port = EP.rsplit(":", 1)
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = tls.CERT_REQUIRED
    with open(CA, "rb") as f:
        ctx.load_verify_locations(f.read())
    best = None
    for _ in range(5):
        s = socket.socket()
        s.connect(socket.getaddrinfo(host, int(port))[0][-1])
        t0 = time.ticks_us()
        ss = ctx.wrap_socket(s, server_hostname="demo-hub.azure-devices.net")
        dt = time.ticks_diff(time.ticks_us(), t0)
        ss.close()
        best = dt if best is None or dt < best else best
    return best / 1000


async def main():
    c = azure.aio.IoTHubMQTTClient.from_connection_string(CS, endpoint=EP, ca_certs=CA, backoff_base_ms=200)
    y0 = await yield_us()
    t = asyncio.create_task(ticker())
    await c.connect()
    await c.send(body())
    sent = [1]

    phase[0] = "idle"
    await asyncio.sleep_ms(1000)
    phase[0] = None
    y1 = await yield_us()

    async def sender():
        while time.ticks_diff(time.ticks_us(), t0) < STEADY_MS * 1000:
            await c.send(body())
            sent[0] += 1

    phase[0] = "steady"
    n0 = sent[0]
    t0 = time.ticks_us()
    await asyncio.gather(*[sender() for _ in range(4)])
    steady_s = time.ticks_diff(time.ticks_us(), t0) / 1e6
    steady_n = sent[0] - n0
    phase[0] = None

    # reconnect: keep sending; the host drops the link when it sees DROP
    connects = c.stats["connects"]
    phase[0] = "reconnect"
    t0 = time.ticks_us()
    print("DROP")
    sys.stdout.flush() if hasattr(sys.stdout, "flush") else None
    after = 0
    while after < 50:
        await c.send(body(), timeout=30)
        sent[0] += 1
        if c.stats["connects"] > connects:
            after += 1
        if time.ticks_diff(time.ticks_us(), t0) > 60_000_000:
            break
    reconnect_s = time.ticks_diff(time.ticks_us(), t0) / 1e6
    phase[0] = None
    stop[0] = True
    await t
    stats = dict(c.stats)
    await c.close()
    return steady_s, steady_n, reconnect_s, sent[0], stats, y0, y1


steady_s, steady_n, reconnect_s, sent, stats, y0, y1 = asyncio.run(main())
hs = handshake_ms()
out = {"steady_s": steady_s, "steady_events": steady_n, "reconnect_s": reconnect_s, "sent": sent, "stats": stats,
       "handshake_ms": hs, "last_seq": seq[0],
       "yield_us_no_stream": y0, "yield_us_connected": y1}
for p, g in gaps.items():
    g.sort()
    out[p] = {"n": len(g), "max_ms": g[-1] / 1000 if g else None,
              "p99_ms": g[min(len(g) - 1, (len(g) * 99) // 100)] / 1000 if g else None,
              "median_ms": g[len(g) // 2] / 1000 if g else None}
print(json.dumps(out))
