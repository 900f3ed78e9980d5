# azure.IoTHubMQTTClient against a scripted IoT Hub broker (tests/lib/mqtt_broker.py,
# whose packets are written and read by hand, not by the native codec): every
# packet both ways is printed. Runs on the full unix build and the float-less
# WiPy twin alike.
try:
    import azure

    azure.IoTHubMQTTClient
    import mqtt_broker as B
except (ImportError, AttributeError):
    print("SKIP")  # a port without sockets or without the codec
    raise SystemExit

import gc

from mqtt_broker import client, call, stats, publish, pkt, sorted_repr, at

TW = "$iothub/twin/res/"

print("-- connect: CONNECT (clean session 0, keep-alive, api-version), then one SUBSCRIBE")
c = client()
print(" ", c, c.connected)
call(c.connect)
print("  connected", c.connected, "token expires +%d" % (c.token_expires - B.T0))

print("-- send: QoS 1, returns once PUBACKed")
call(c.send, '{"t":21}')
call(c.send, b"x", properties={"level": "warn", "n": 3, "ok": True}, content_type="application/json")
call(c.send, "y", properties={"a b": "c&d=e/%"})
call(c.send, 5)
call(c.send, "z", properties={"bad": None})
call(c.send, "z", properties=["no"])
stats(c)

print("-- send_batch: 40 events, 16 in flight at most, PUBACKs 300 ms late")
B.QUIET = True
B.BROKER.puback_delay = 300
start = B.now_ms
n0 = B.BROKER.n_pub
r = c.send_batch(["e%d" % i for i in range(38)] + [("p", {"k": "v"}), (b"q",)])
B.QUIET = False
print("  returned", r, "published", B.BROKER.n_pub - n0, "in %d ms" % (B.now_ms - start), "max in flight",
      B.BROKER.max_inflight,
      "bodies in order", [t[1] for t in B.BROKER.telemetry[n0:n0 + 3]], B.BROKER.telemetry[-2][0][-3:])
B.BROKER.puback_delay = 0
call(c.send_batch, [])
call(c.send_batch, "x")
stats(c)

print("-- get_twin and patch_twin_reported: $rid correlation")
call(c.get_twin)
call(c.patch_twin_reported, {"interval": 60, "fw": None})
call(c.patch_twin_reported, "no")

print("-- a desired patch: on_twin_patch, older versions ignored")
c.on_twin_patch = lambda p: print("  on_twin_patch", sorted_repr(p))
B.BROKER.push(publish("$iothub/twin/PATCH/properties/desired/?$version=7", '{"interval":5,"$version":7}'))
B.BROKER.push(publish("$iothub/twin/PATCH/properties/desired/?$version=3", '{"interval":9,"$version":3}'))
print("  poll ->", c.poll())

print("-- a direct method, answered; an exception in the handler -> 500; no handler -> 501")


def method(name, payload):
    print("  on_method", name, sorted_repr(payload))
    if name == "boom":
        raise RuntimeError("kaput")
    if name == "shape":
        return "not a (status, payload) pair"
    return 200, {"ok": True, "name": name}


c.on_method = method
B.BROKER.push(publish("$iothub/methods/POST/reboot/?$rid=a1", '{"delay":5}'))
B.BROKER.push(publish("$iothub/methods/POST/boom/?$rid=a2", ""))
B.BROKER.push(publish("$iothub/methods/POST/shape/?$rid=a4", ""))
print("  poll ->", c.poll())
c.on_method = None
B.BROKER.push(publish("$iothub/methods/POST/x/?$rid=a3", "{}"))
print("  poll ->", c.poll())

print("-- cloud-to-device with properties (QoS 1: PUBACKed once the handler returned)")


def message(m):
    print("  on_message", m, m.body, m.message_id, m.content_type, sorted_repr(m.properties))


c.on_message = message
B.BROKER.push(publish("devices/dev1/messages/devicebound/%24.mid=m-1&%24.to=%2Fdevices%2Fdev1%2Fmessages%2FdeviceBound"
                      "&%24.ct=text%2Fplain&iothub-ack=full&prop1&prop2=&prop3=a%20string%2Bplus", "hello", 1, 77))
print("  poll ->", c.poll())


def failing(m):
    raise ValueError("handler failed")


c.on_message = failing
B.BROKER.push(publish("devices/dev1/messages/devicebound/", "again", 1, 78))
print("  poll ->", c.poll(), "(no PUBACK: delivered again later)")
c.on_message = message
stats(c)

print("-- keep-alive: PINGREQ after keepalive s without sending; no PINGRESP -> reconnect")
c = client(keepalive=60)
call(c.connect)
print("  poll(59 s) ->", c.poll(59000), "t=%d" % (B.now_ms // 1000))
print("  poll(2 s) ->", c.poll(2000), "t=%d" % (B.now_ms // 1000))
B.BROKER.pingresp = False
print("  poll(100 s) ->", c.poll(100000), "t=%d" % (B.now_ms // 1000))
print("  poll(2 s) ->", c.poll(2000), "connected", c.connected)
stats(c)

print("-- token renewal: a fresh token by reconnecting at 80 % of token_ttl")
c = client(token_ttl=100, keepalive=1000)
call(c.connect)
call(c.send, "before")
print("  poll(79 s) ->", c.poll(79000))
print("  poll(2 s) ->", c.poll(2000), "connected", c.connected)
call(c.send, "after")
stats(c)

print("-- CONNACK 5 (not authorized): a clear error, not retried")
c = client()
B.BROKER.connack = [5, 5]
call(c.connect)
call(c.send, "x")
print("  connects", len(B.BROKER.conns), "(one per call)")
print("-- CONNACK 4: the same; CONNACK 3 (server unavailable) is retried")
c = client()
B.BROKER.connack = [4]
call(c.connect)
c = client()
B.BROKER.connack = [3, 3]
B.BROKER.refuse = [111]
call(c.connect)
stats(c)

print("-- the connection drops before the PUBACK: resent with DUP after reconnecting")
c = client()
call(c.connect)
B.BROKER.drop_on_publish = 1
call(c.send, "precious")
print("  telemetry", [(t[1], t[2]) for t in B.BROKER.telemetry])
stats(c)

print("-- no PUBACK within the timeout: SendError, the slot freed")
c = client(timeout=5)
call(c.connect)
B.BROKER.no_puback = True
call(c.send, "lost?")
print("  in flight", len(c._core.inflight))
B.BROKER.no_puback = False
call(c.send, "next", timeout=3)

print("-- twin: 429 and 503 are retried with backoff; 400 is not")
c = client()
call(c.connect)
B.BROKER.twin_status = [429, 503]
call(c.get_twin)
B.BROKER.twin_status = [400]
call(c.patch_twin_reported, {"x": 1})
B.BROKER.twin_status = [429] * 10
call(c.get_twin)
stats(c)

print("-- twin: no answer -> TwinError after the timeout")
c = client(timeout=4)
call(c.connect)
B.BROKER.twin_silent = True
call(c.get_twin)
print("  t=%d pending %d" % (B.now_ms // 1000, len(c._core.reqs)))

print("-- the network is down: send raises SendError at its deadline, no hang; then it comes back")
c = client(timeout=5)
call(c.connect)
B.BROKER.conns[-1].dead = True
B.BROKER.refuse = [111] * 40
B.QUIET = True
t0 = B.now_ms
call(c.send, "offline")
B.QUIET = False
print("  after %d s, %d connection attempts" % ((B.now_ms - t0) // 1000, 40 - len(B.BROKER.refuse)))
B.BROKER.refuse = []
print("  poll ->", c.poll(2000), "connected", c.connected)
call(c.send, "online")

print("-- after a reconnect the twin is read again: desired changes made offline reach on_twin_patch")
c = client()
c.on_twin_patch = lambda p: print("  on_twin_patch", sorted_repr(p))
call(c.connect)
B.QUIET = True
c.get_twin()
B.QUIET = False
B.BROKER.twin["desired"] = {"interval": 99, "$version": 12}
B.BROKER.conns[-1].dead = True
print("  poll ->", c.poll(2000))
B.BROKER.conns[-1].dead = True
print("  poll ->", c.poll(2000), "(unchanged: nothing handed on)")

print("-- hostile input: clear errors, no crash, no hang")
c = client(receive_max=256)
c.on_message = message
c.on_twin_patch = lambda p: print("  on_twin_patch", sorted_repr(p))
call(c.connect)
print(" a twin document that is not JSON")
B.BROKER.twin_raw = "{not json"
call(c.get_twin)
B.BROKER.twin_raw = '["a list"]'
call(c.get_twin)
B.BROKER.twin_raw = None
print(" a $rid nobody asked for; a non-numeric status")
B.BROKER.push(publish(TW + "200/?$rid=999", "{}"))
B.BROKER.push(publish(TW + "abc/?$rid=1", "{}"))
print("  poll ->", c.poll())
print(" a PUBLISH on a topic not subscribed to (QoS 1: PUBACKed, dropped)")
B.BROKER.push(publish("some/other/topic", "x", 1, 5))
print("  poll ->", c.poll())
print(" a desired patch that is not JSON; a method payload that is not JSON")
B.BROKER.push(publish("$iothub/twin/PATCH/properties/desired/?$version=99", "nope"))
B.BROKER.push(publish("$iothub/methods/POST/m/?$rid=r9", "nope"))
print("  poll ->", c.poll())
print(" a malformed property bag")
B.BROKER.push(publish("devices/dev1/messages/devicebound/a=%zz", "x", 1, 6))
print("  poll ->", c.poll())
print(" a topic longer than receive_max: skipped whole, the next packet still read")
B.BROKER.push(publish("devices/dev1/messages/devicebound/" + "k" * 300, "x", 1, 7))
B.BROKER.push(publish("devices/dev1/messages/devicebound/", "after the long one", 1, 8))
print("  poll ->", c.poll())
print(" unexpected packet types (SUBSCRIBE, PINGREQ from the broker): skipped")
B.BROKER.push(pkt(0x82, b"\x00\x01\x00\x01a\x00"))
B.BROKER.push(pkt(0xC0))
B.BROKER.push(pkt(0x20, b"\x00\x00"))
print("  poll ->", c.poll())
print(" a PUBACK for an id never sent; a SUBACK nobody asked for")
B.BROKER.push(pkt(0x40, b"\x12\x34"))
B.BROKER.push(pkt(0x90, b"\x00\x63\x00"))
print("  poll ->", c.poll())
call(c.send, "still works")
print(" a malformed remaining length: the stream cannot be trusted, reconnect")
B.BROKER.push(b"\x30\xff\xff\xff\xff\x01")
print("  poll ->", c.poll(), "connected", c.connected)
print("  poll ->", c.poll(1000), "connected", c.connected)
print(" the broker closes in the middle of a packet")
B.BROKER.push(b"\x30\x10\x00")
B.BROKER.conns[-1].dead = True
print("  poll ->", c.poll(), "connected", c.connected)
print("  poll ->", c.poll(1000), "connected", c.connected)
call(c.send, "still works")
stats(c)

print("-- heap flat over 2,000 messages (C2D, methods, desired patches, hostile ones)")
c = client()
count = [0]


def count_msg(m):
    count[0] += 1


c.on_message = count_msg
c.on_method = lambda n, p: (200, None)
c.on_twin_patch = lambda p: None
c.on_error = lambda e: None
call(c.connect)
B.QUIET = True


def burst(k, base):
    for i in range(k):
        j = base + i
        r = j % 5
        if r == 0:
            B.BROKER.push(publish("devices/dev1/messages/devicebound/%24.mid=" + str(j), b"m", 1, j % 60000 + 1))
        elif r == 1:
            B.BROKER.push(publish("$iothub/methods/POST/m/?$rid=" + str(j), b"{}"))
        elif r == 2:
            B.BROKER.push(publish("$iothub/twin/PATCH/properties/desired/?$version=%d" % (j + 10), b'{"a":1}'))
        elif r == 3:
            B.BROKER.push(publish("elsewhere/" + str(j), b"x", 1, 9))
        else:
            B.BROKER.push(publish(TW + "200/?$rid=x" + str(j), b"{}"))
        c.poll()


burst(200, 0)
gc.collect()
before = gc.mem_free()
burst(1800, 200)
gc.collect()
after = gc.mem_free()
B.QUIET = False
print("  handled", count[0], "C2D;", "methods answered", B.BROKER.n_methods, "; heap change small:",
      abs(before - after) < 512, "errors", c.stats["errors"])

print("-- given token: sent as given; expired by the device clock: final SendError(401), no connect")
tok = "SharedAccessSignature sr=hub.azure-devices.net%2Fdevices%2Fdev1&sig=abc%3D&se=" + str(B.T0 + 50)
c = client("HostName=hub.azure-devices.net;DeviceId=dev1;SharedAccessSignature=" + tok)
call(c.connect)
call(c.send, "x")
at(60)
B.QUIET = True
c.poll(1000)  # (the hub drops an expired token's connection)
B.BROKER.conns[-1].dead = True
B.QUIET = False
call(c.poll, 1000)
print("  connects", len(B.BROKER.conns))

print("-- the device clock is not set: ValueError at once, nothing retried")
c = client()
B.T0 = 1000
call(c.connect)
print("  connects", len(B.BROKER.conns))
B.T0 = 1700000000

print("-- close: DISCONNECT; a send after close reconnects")
c = client()
call(c.connect)
c.close()
print("  connected", c.connected)
call(c.send, "again")
c.close()
stats(c)
