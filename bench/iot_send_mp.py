# MicroPython side of bench/mqtt_bench.py and bench/aio_bench.py: one IoT
# Hub client sends BENCH_N events of 48 bytes to the local endpoint over TLS
# and prints one JSON line (events/s over the timed events, the client's stats).
#   mqtt            azure.IoTHubMQTTClient.send per event (QoS 1, PUBACK awaited)
#   mqtt_batch50    azure.IoTHubMQTTClient.send_batch of 50
#   https           azure.IoTHubClient.send per event, kept alive
#   https_batch50   azure.IoTHubClient.send_batch of 50, kept alive
#   aio_mqtt        azure.aio.IoTHubMQTTClient: await send per event
#   aio_mqtt_batch50  azure.aio.IoTHubMQTTClient: await send_batch of 50
# One event is sent before the clock starts (the connection is open: the
# figure is the steady state), and the client is closed at the end.
# Environment: BENCH_MODE, BENCH_N, BENCH_SEQ0, BENCH_CS (device connection
# string), BENCH_MQTT (host:port), BENCH_HTTPS (host:port), BENCH_CA.
import json
import os
import time

import azure

MODE = os.getenv("BENCH_MODE")
N = int(os.getenv("BENCH_N"))
CS = os.getenv("BENCH_CS")
CA = os.getenv("BENCH_CA")
FMT = '{"seq":%09d,"temp_c":21.5,"rh":40.5,"ok":1}'
seq = int(os.getenv("BENCH_SEQ0") or "0")


def body():
    global seq
    seq += 1
    return FMT % seq


def batches(n, size=50):
    out = []
    for j in range(0, n, size):
        out.append([body() for _ in range(min(size, n - j))])
    return out


def blocking():
    if MODE.startswith("mqtt"):
        c = azure.IoTHubMQTTClient.from_connection_string(CS, endpoint=os.getenv("BENCH_MQTT"), ca_certs=CA)
        c.connect()
    else:
        c = azure.IoTHubClient.from_connection_string(CS, endpoint=os.getenv("BENCH_HTTPS"), ca_certs=CA)
    c.send(body())
    if MODE.endswith("batch50"):
        bs = batches(N)  # bodies made before the clock starts
        t0 = time.ticks_us()
        for b in bs:
            c.send_batch(b)
    else:
        bs = [body() for _ in range(N)]
        t0 = time.ticks_us()
        for b in bs:
            c.send(b)
    dt = time.ticks_diff(time.ticks_us(), t0)
    c.close()
    return dt, c.stats


def aio():
    import asyncio

    import azure.aio

    async def main():
        c = azure.aio.IoTHubMQTTClient.from_connection_string(CS, endpoint=os.getenv("BENCH_MQTT"), ca_certs=CA)
        await c.connect()
        await c.send(body())
        if MODE.endswith("batch50"):
            bs = batches(N)
            t0 = time.ticks_us()
            for b in bs:
                await c.send_batch(b)
        else:
            bs = [body() for _ in range(N)]
            t0 = time.ticks_us()
            for b in bs:
                await c.send(b)
        dt = time.ticks_diff(time.ticks_us(), t0)
        await c.close()
        return dt, c.stats

    return asyncio.run(main())


dt, stats = aio() if MODE.startswith("aio_") else blocking()
print(json.dumps({"mode": MODE, "n": N, "us": dt, "eps": N * 1e6 / dt, "stats": stats, "last_seq": seq}))
