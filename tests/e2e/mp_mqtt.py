# MicroPython side of the MQTT end-to-end tests (tests/e2e/test_mqtt_*.py):
# runs one scenario with azure.IoTHubMQTTClient (or, for the aio_* ones,
# azure.aio.IoTHubMQTTClient) and prints one JSON result line. "READY" lines
# tell the host when to act (invoke a method, send a message, drop the link).
# Configuration from the environment.
import json
import os
import sys
import time

import azure

ENDPOINT = os.getenv("E2E_ENDPOINT")
CA = os.getenv("E2E_CA")
CS = os.getenv("E2E_IOT_CS")
N = int(os.getenv("E2E_N") or "0")


def result(**kw):
    print("RESULT " + json.dumps(kw))


def ready(what=""):
    print("READY " + what)
    try:
        sys.stdout.flush()
    except AttributeError:
        pass


def client(**kw):
    return azure.IoTHubMQTTClient.from_connection_string(CS, endpoint=ENDPOINT, ca_certs=CA, **kw)


def poll_until(c, cond, ms):
    t0 = time.ticks_ms()
    while not cond() and time.ticks_diff(time.ticks_ms(), t0) < ms:
        c.poll(200)


def _handlers(c, got):
    def on_message(m):
        got["c2d"].append([str(m.body, "utf-8"), m.message_id, m.properties])

    def on_method(name, payload):
        got["methods"].append([name, payload])
        return 200, {"echo": payload, "name": name}

    def on_twin_patch(p):
        got["patches"].append(p)

    c.on_message = on_message
    c.on_method = on_method
    c.on_twin_patch = on_twin_patch
    c.on_error = lambda e: got["errors"].append(str(e))


def mosquitto():
    # Plain MQTT 3.1.1 against a stock broker: QoS 1 acked, keep-alive pings
    # keep an idle connection open, subscriptions deliver.
    got = {"c2d": [], "methods": [], "patches": [], "errors": []}
    c = client(keepalive=2)
    _handlers(c, got)
    c.connect()
    c.send("hello", properties={"k": "v"})
    n = c.send_batch(["b%d" % i for i in range(20)])
    ready("sent")
    poll_until(c, lambda: got["c2d"] and got["methods"], 15000)
    pings = c.stats["pings"]
    poll_until(c, lambda: False, 5000)  # idle: keep-alive 2 s (the broker drops after 3 s of silence)
    c.send("after idle")
    s = c.stats
    result(batch=n, c2d=got["c2d"], methods=got["methods"], errors=got["errors"], pings=s["pings"] - pings,
           connects=s["connects"], sent=s["sent"])
    c.close()


def flows():
    # Every flow against the local endpoint: telemetry (single, properties,
    # batch), twin get and reported patch, then the host sends a desired
    # patch, invokes a method and sends a cloud-to-device message.
    got = {"c2d": [], "methods": [], "patches": [], "errors": []}
    c = client()
    _handlers(c, got)
    c.connect()
    out = {}
    c.send("mqtt-single")
    c.send(b"mqtt-props", properties={"level": "warn", "n": 3}, content_type="application/json")
    out["batch"] = c.send_batch(["mqtt-b%d" % i for i in range(50)] + [("mqtt-bp", {"k": "v"})])
    twin = c.get_twin()
    out["twin_desired"] = twin["desired"]
    out["reported_version"] = c.patch_twin_reported({"fw": "1.2.3", "interval": 30})
    out["twin_reported"] = c.get_twin()["reported"]
    ready("flows")
    poll_until(c, lambda: got["c2d"] and got["methods"] and got["patches"], 20000)
    out.update(got)
    out["stats"] = c.stats
    result(**out)
    c.close()


def many():
    # N events one by one, then as batches, all acknowledged.
    c = client()
    c.connect()
    for i in range(N):
        c.send("many-%d" % i)
    k = 0
    while k < N:
        k += c.send_batch(["manyb-%d" % j for j in range(k, min(N, k + 50))])
    result(stats=c.stats)
    c.close()


def faults():
    # Sends through what the endpoint injects (dropped publishes, late
    # PUBACKs, a dropped link): every send returns or raises; count them.
    c = client(timeout=10)
    c.connect()
    ok = failed = 0
    errs = []
    for i in range(N):
        try:
            c.send("fault-%d" % i)
            ok += 1
        except azure.SendError as e:
            failed += 1
            errs.append(str(e))
    result(ok=ok, failed=failed, errors=errs[:5], stats=c.stats)
    c.close()


def refused():
    c = client()
    try:
        c.connect()
        result(refused=None)
    except azure.ConnectRefused as e:
        result(refused=e.code, final=e.final, text=str(e), connects=c.stats["connects"])


def renewal():
    # A short token: the client reconnects with a fresh one before it expires.
    c = client(token_ttl=N)
    c.connect()
    t0 = time.ticks_ms()
    i = 0
    while time.ticks_diff(time.ticks_ms(), t0) < N * 2500:
        c.send("renew-%d" % i)
        i += 1
        c.poll(500)
    result(sent=i, stats=c.stats)
    c.close()


def twin_fail():
    c = client(backoff_base_ms=100)
    c.connect()
    try:
        c.get_twin()
        result(twin=c.get_twin(), stats=c.stats)
    except azure.TwinError as e:
        result(error=str(e), status=e.status, stats=c.stats)
    c.close()


def provision_mqtt():
    # DPS over HTTPS (the endpoint's HTTPS port), then the assigned hub over MQTT.
    c = azure.provision(os.getenv("E2E_ID_SCOPE"), os.getenv("E2E_REGID"), os.getenv("E2E_GROUP_KEY"),
                        group_key=True, endpoint=os.getenv("E2E_HTTPS"), ca_certs=CA, transport="mqtt",
                        mqtt_endpoint=ENDPOINT)
    c.connect()
    c.send("provisioned-over-mqtt")
    result(cls=type(c).__name__, device=c.device_id, hub=c.host, sent=c.stats["sent"])
    c.close()


def aio_flows():
    import asyncio
    from azure.aio import IoTHubMQTTClient

    async def main():
        got = {"c2d": [], "methods": [], "patches": [], "errors": []}
        c = IoTHubMQTTClient.from_connection_string(CS, endpoint=ENDPOINT, ca_certs=CA)
        _handlers(c, got)
        await c.connect()
        out = {}

        async def sender(k):
            for i in range(N):
                await c.send("aio-%d-%d" % (k, i))

        await asyncio.gather(*[sender(k) for k in range(4)])
        out["batch"] = await c.send_batch(["aio-b%d" % i for i in range(20)])
        out["twin_desired"] = (await c.get_twin())["desired"]
        out["reported_version"] = await c.patch_twin_reported({"aio": True})
        ready("flows")
        t0 = time.ticks_ms()
        while not (got["c2d"] and got["methods"] and got["patches"]) and time.ticks_diff(time.ticks_ms(), t0) < 20000:
            await asyncio.sleep_ms(100)
        out.update(got)
        out["stats"] = c.stats
        result(**out)
        await c.close()

    asyncio.run(main())


def aio_tls():
    # The asyncio client's TLS context and handshake failures, as the
    # blocking client's: a CA file that cannot be read, a server certificate
    # from another CA (E2E_OTHER_CA); both TLSError, final (not retried).
    import asyncio
    from azure.aio import IoTHubMQTTClient

    async def one(ca):
        c = IoTHubMQTTClient.from_connection_string(CS, endpoint=ENDPOINT, ca_certs=ca, timeout=10)
        try:
            await c.connect()
            return ["connected"]
        except Exception as e:
            return [type(e).__name__, str(e), c.stats["connects"]]
        finally:
            await c.close()

    def blocking(ca):
        c = azure.IoTHubMQTTClient.from_connection_string(CS, endpoint=ENDPOINT, ca_certs=ca, timeout=10)
        try:
            c.connect()
            return ["connected"]
        except Exception as e:
            return [type(e).__name__, str(e), c.stats["connects"]]
        finally:
            c.close()

    async def main():
        other = os.getenv("E2E_OTHER_CA")
        result(missing=await one("/nonexistent/ca.der"), other=await one(other), ok=await one(CA),
               blocking_missing=blocking("/nonexistent/ca.der"), blocking_other=blocking(other))

    asyncio.run(main())


def aio_storm():
    # Issue #21: 4 tasks send N events each beside a 10 ms ticker; the host
    # drops the connection and refuses new ones for a while meanwhile.
    import asyncio
    from azure.aio import IoTHubMQTTClient

    gaps = []

    async def main():
        c = IoTHubMQTTClient.from_connection_string(CS, endpoint=ENDPOINT, ca_certs=CA, backoff_cap_ms=2000)
        errs = []
        c.on_error = lambda e: errs.append(str(e))
        await c.connect()
        stop = [False]

        async def ticker():
            last = time.ticks_ms()
            while not stop[0]:
                await asyncio.sleep_ms(10)
                now = time.ticks_ms()
                gaps.append(time.ticks_diff(now, last))
                last = now

        failed = []

        async def sender(k):
            for i in range(N):
                if k == 0 and i == N // 4:
                    ready("storm")
                if i == N * 9 // 10:
                    # The last tenth only once the drop happened (the host's
                    # command may take a while to start on a busy machine).
                    t0 = time.ticks_ms()
                    while c.stats["connects"] < 2 and time.ticks_diff(time.ticks_ms(), t0) < 15000:
                        await asyncio.sleep_ms(50)
                try:
                    await c.send("storm-%d-%d" % (k, i))
                except azure.SendError as e:
                    failed.append("storm-%d-%d: %s" % (k, i, e))

        t = asyncio.create_task(ticker())
        await asyncio.gather(*[sender(k) for k in range(4)])
        stop[0] = True
        await t
        s = c.stats
        await c.close()
        g = sorted(gaps)
        result(failed=failed, connects=s["connects"], sent=s["sent"], resent=s["resent"], errors=errs,
               gap_max=g[-1], gap_p99=g[len(g) * 99 // 100], gap_max_besides_handshakes=g[-1 - s["connects"]])

    asyncio.run(main())


globals()[sys.argv[1] if len(sys.argv) > 1 else os.getenv("E2E_SCENARIO")]()
