# azure.aio.IoTHubMQTTClient (the asyncio driver over the same session core as
# azure.IoTHubMQTTClient) against the scripted broker (tests/lib/mqtt_broker.py)
# behind asyncio streams, on the real clock. Skipped where there is no asyncio
# (the WiPy and its twins).
try:
    import asyncio
    import azure

    azure.IoTHubMQTTClient
    import azure.aio_mqtt
    import mqtt_broker as B
except (ImportError, AttributeError):
    print("SKIP")
    raise SystemExit

from mqtt_broker import publish, sorted_repr, pkt
import time


async def call(aw):
    try:
        r = await aw
        print("  ->", sorted_repr(r))
    except Exception as e:
        print("  raised", type(e).__name__, e)


async def resynced(c):
    # After a reconnect the client reads the twin again: until it is answered.
    while c._core.reqs or not c.connected:
        await asyncio.sleep_ms(5)


async def main():
    print("-- connect, send, send_batch, twin")
    c = B.aio_client()
    print(" ", c, c.connected)
    await call(c.connect())
    print("  connected", c.connected)
    await call(c.send('{"t":21}', properties={"a": 1}, content_type="application/json"))
    B.QUIET = True
    await call(c.send_batch(["b%d" % i for i in range(30)]))
    B.QUIET = False
    print("  telemetry", len(B.BROKER.telemetry))
    await call(c.get_twin())
    await call(c.patch_twin_reported({"interval": 7}))

    print("-- 4 tasks sending at once beside a ticker: distinct ids, window <= 16, the loop never blocked")
    B.QUIET = True
    n0 = len(B.BROKER.telemetry)
    most = [0]
    gaps = [0]
    stop = [False]

    async def ticker():
        t = asyncio.ticks() if hasattr(asyncio, "ticks") else None
        import time

        last = time.ticks_ms()
        while not stop[0]:
            await asyncio.sleep_ms(5)
            now = time.ticks_ms()
            gaps[0] = max(gaps[0], time.ticks_diff(now, last))
            last = now
            most[0] = max(most[0], len(c._core.inflight))

    async def sender(k):
        for i in range(25):
            await c.send("%d-%d" % (k, i))

    tk = asyncio.create_task(ticker())
    await asyncio.gather(*[sender(k) for k in range(4)])
    stop[0] = True
    await tk
    B.QUIET = False
    bodies = [t[1] for t in B.BROKER.telemetry[n0:]]
    print("  stored", len(bodies), "distinct", len(set(bodies)), "most in flight <= 16:", most[0] <= 16,
          "ticker gap < 200 ms:", gaps[0] < 200)

    print("-- handlers: coroutines or functions; a handler that awaits the client; one that raises")

    async def on_method(name, payload):
        await asyncio.sleep_ms(1)
        print("  on_method", name, sorted_repr(payload))
        if name == "boom":
            raise RuntimeError("kaput")
        if name == "shape":
            return "not a (status, payload) pair"
        return 200, {"ok": name}

    async def on_twin_patch(p):
        print("  on_twin_patch", sorted_repr(p))
        v = await c.patch_twin_reported({"interval": p["interval"]})
        print("  reported $version", v)

    def on_message(m):
        print("  on_message", m.body, m.message_id, sorted_repr(m.properties))
        if m.body == b"raise":
            raise ValueError("handler failed")

    c.on_method = on_method
    c.on_twin_patch = on_twin_patch
    c.on_message = on_message
    B.BROKER.push(publish("$iothub/methods/POST/reboot/?$rid=q1", '{"delay":1}'))
    await asyncio.sleep_ms(50)
    B.BROKER.push(publish("$iothub/methods/POST/boom/?$rid=q2", ''))
    await asyncio.sleep_ms(50)
    B.BROKER.push(publish("$iothub/methods/POST/shape/?$rid=q3", ''))
    await asyncio.sleep_ms(50)
    B.BROKER.push(publish("$iothub/twin/PATCH/properties/desired/?$version=9", '{"interval":3,"$version":9}'))
    await asyncio.sleep_ms(50)
    B.BROKER.push(publish("devices/dev1/messages/devicebound/%24.mid=m7&x=y", "hi", 1, 41))
    await asyncio.sleep_ms(50)
    B.BROKER.push(publish("devices/dev1/messages/devicebound/", "raise", 1, 42))
    await asyncio.sleep_ms(50)
    print("-- hostile input: reported, the reader goes on")
    B.BROKER.push(publish("$iothub/twin/res/200/?$rid=777", "{}"))
    B.BROKER.push(publish("not/mine", "x"))
    B.BROKER.push(pkt(0x82, b"\x00\x01\x00\x01a\x00"))
    await asyncio.sleep_ms(50)
    await call(c.send("after hostile"))

    print("-- the connection drops before the PUBACK: resent with DUP, send returns")
    B.BROKER.drop_on_publish = B.BROKER.n_pub + 1
    B.QUIET = True  # (the twin GET after the reconnect goes when the client's task runs: its line would wander)
    await call(c.send("precious"))
    await resynced(c)
    B.QUIET = False
    print("  telemetry", [(t[1], t[2]) for t in B.BROKER.telemetry[-2:]], "connects", c.stats["connects"])

    print("-- a task cancelled while awaiting send: the client still sends")
    B.BROKER.no_puback = True
    t = asyncio.create_task(c.send("cancelled"))
    await asyncio.sleep_ms(20)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        print("  cancelled")
    B.BROKER.no_puback = False
    await call(c.send("after cancel"))

    print("-- a task cancelled while its frame waits half-written: the connection goes, the event is resent")
    n0, k0 = len(B.BROKER.telemetry), c.stats["connects"]
    B.STALL = True
    t = asyncio.create_task(c.send("stalled"))
    await asyncio.sleep_ms(20)
    print("  waiting to be written:", len(c._w.out_buf) > 0)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        print("  cancelled; connection dropped:", c._w is None)
    B.STALL = False
    B.QUIET = True
    await call(c.send("after stall"))
    await resynced(c)
    B.QUIET = False
    print("  telemetry", [(t[1], t[2]) for t in B.BROKER.telemetry[n0:]], "reconnected", c.stats["connects"] - k0)

    print("-- send(timeout=1) with no PUBACK: SendError")
    B.BROKER.no_puback = True
    await call(c.send("lost?", timeout=1))
    print("-- send_batch(timeout=1) with no PUBACK: SendError for the batch; a send waiting for room in the full window")
    B.QUIET = True
    t0 = time.ticks_ms()
    t = asyncio.create_task(c.send_batch(["w%d" % i for i in range(20)], timeout=1))
    await asyncio.sleep_ms(100)
    print("  in flight", len(c._core.inflight))
    await call(c.send("no room", timeout=3 / 10))  # (not 0.3: the float-less twins compile this file, then skip it)
    await call(t)
    print("  within about a second:", time.ticks_diff(time.ticks_ms(), t0) < 2500)
    for bad in (0, -1, "5"):
        await call(c.send("x", timeout=bad))
        await call(c.send_batch(["x"], timeout=bad))
    B.QUIET = False
    B.BROKER.no_puback = False
    while c._core.inflight:  # (the window's entries fail at their deadlines)
        await asyncio.sleep_ms(50)

    print("-- a malformed remaining length: reconnect, and sending goes on")
    B.BROKER.push(b"\x30\xff\xff\xff\xff\x01")
    await asyncio.sleep_ms(20)
    while not c.connected or c._core.reqs:  # reconnected (after the backoff) and the twin read again
        await asyncio.sleep_ms(10)
    await call(c.send("after reconnect"))
    print("  connects", c.stats["connects"])
    await c.close()
    print("  closed, connected", c.connected)

    print("-- writes that never drain (a connect the network swallows): connect() gives up at its timeout,")
    print("   the connection task's CONNACK deadline ends the connection and it tries again")
    c = B.aio_client(timeout=2)
    B.STALL = True
    t0 = time.ticks_ms()
    try:
        await c.connect()
    except azure.SendError as e:  # (": no CONNACK in 2 s" follows when the deadline ran first)
        print("  raised", type(e).__name__, str(e).startswith("connection: not connected within 2 s"))
    print("  after about 2 s:", 1900 <= time.ticks_diff(time.ticks_ms(), t0) < 3500)
    while len(B.BROKER.conns) < 2:  # (no CONNACK in 2 s: dropped, and after the backoff a new connection)
        await asyncio.sleep_ms(50)
    print("  connections tried", len(B.BROKER.conns), "first closed:", B.BROKER.conns[0].closed)
    B.STALL = False
    await call(c.connect())
    await c.close()

    print("-- CONNACK 5: ConnectRefused at once, not retried")
    c = B.aio_client()
    B.BROKER.connack = [5]
    await call(c.connect())
    print("  connects tried", len(B.BROKER.conns))
    await c.close()

    print("-- the device clock is not set: ValueError at once")
    B.T0 = 1000
    c = B.aio_client()
    await call(c.connect())
    print("  connects tried", len(B.BROKER.conns))
    B.T0 = 1700000000
    await c.close()

    print("-- async with")
    async with B.aio_client() as c:
        await call(c.send("in a with"))
    print("  connected", c.connected)


asyncio.run(main())
