"""Tests for the endpoint's IoT Hub MQTT listener (tools/endpoint/mqtt.py).

    .venv/bin/python -m unittest tools/test_endpoint_mqtt.py -v

The endpoint is checked with Azure's own device SDK, azure-iot-device 2.14.0
(IoTHubDeviceClient from a connection string with GatewayHostName=127.0.0.1
and the endpoint's CA): telemetry with properties, twin get and reported
patch, a desired patch, a direct method invoked from the endpoint's CLI, a
cloud-to-device message, a wrong key.  The SDK always dials port 8883: the
endpoint listens there when 8883 is free on this machine; otherwise (another
test run holds it) on a free port, and paho's connect() in this process is
told that port instead of 8883 (nothing else of the SDK is touched).

Hostile and fault cases use paho-mqtt 1.6.1 (the SDK's own MQTT client) and,
for bytes no client library would send, a raw TLS socket."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import queue
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import test_azure_endpoint as base  # noqa: E402  (Endpoint, tokens, certificates)

try:
    import paho.mqtt.client as paho
    from azure.iot.device import IoTHubDeviceClient, Message, MethodResponse
    from azure.iot.device import exceptions as sdk_errors
except ImportError as e:  # pragma: no cover - the venv has them (tools/deps.sh)
    raise unittest.SkipTest(f"azure-iot-device / paho-mqtt not installed ({e}); run tools/deps.sh")

HUB = base.HUB_HOST
KEY = base.DEV_KEY
OTHER_KEY = base64.b64encode(b"some-other-device-key-32-bytes!!").decode()
DEVICES = ["dev1"] + [f"m{i}" for i in range(1, 16)]
ENV = {"AZURE_ENDPOINT_DEVICES": " ".join(f"{d}={KEY}" for d in DEVICES)
       + f" dev1/mod1={base.MOD_KEY}"}
SDK_PORT = 8883
EP: base.Endpoint
PORT_NOTE = ""


def setUpModule():
    global EP, PORT_NOTE
    base.setUpModule()
    port = SDK_PORT if _port_free(SDK_PORT) else 0
    try:
        EP = base.Endpoint("--mqtt-port", str(port), env=ENV)
    except AssertionError:          # 8883 taken between the check and the bind
        EP = base.Endpoint("--mqtt-port", "0", env=ENV)
    EP.mqtt_port = mqtt_port(EP)
    if EP.mqtt_port != SDK_PORT:
        _point_paho_at(EP.mqtt_port)
        PORT_NOTE = f" (8883 busy: paho's connect told port {EP.mqtt_port})"


def tearDownModule():
    EP.stop()
    base.tearDownModule()
    # every hostile case above ended in a handled close, none in the catch-all
    assert "mqtt: connection error" not in EP.stderr_text, EP.stderr_text


def _port_free(port: int) -> bool:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _point_paho_at(port: int) -> None:
    original = paho.Client.connect

    def connect(self, host, port_=1883, *args, **kwargs):
        if "port" in kwargs:
            port_ = kwargs.pop("port")
        return original(self, host, port if port_ == SDK_PORT else port_, *args, **kwargs)

    paho.Client.connect = connect


def mqtt_port(ep: base.Endpoint) -> int:
    line = ep.wait_line(lambda l: l.startswith("MQTT-READY "))
    return int(line.split("=", 1)[1])


def start(*args: str) -> base.Endpoint:
    ep = base.Endpoint("--mqtt-port", "0", *args, env=ENV)
    ep.mqtt_port = mqtt_port(ep)
    return ep


def cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(base.SCRIPT), *args], capture_output=True,
                          text=True, timeout=timeout)


def token(device: str, key: str = KEY, ttl: int = 3600) -> str:
    return base.iot_token(f"{HUB}/devices/{device}", key=key, ttl=ttl)


def username(device: str, hub: str = HUB) -> str:
    return f"{hub}/{device}/?api-version=2021-04-12"


def wait_for(pred, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def db_rows(ep, sql: str, params=()) -> list:
    conn = sqlite3.connect(str(ep.db), timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# clients: paho (the SDK's MQTT library) and a raw TLS socket
# ---------------------------------------------------------------------------


class Paho:
    """paho-mqtt 1.6.1 over TLS against the endpoint; events as queues."""

    def __init__(self, port: int, device: str, *, tok: str | None = None, user: str | None = None,
                 keepalive: int = 60, clean: bool = False, protocol=paho.MQTTv311, will=None):
        self.c = paho.Client(client_id=device, clean_session=clean, protocol=protocol,
                             reconnect_on_failure=False)
        self.c.username_pw_set(user or username(device), tok if tok is not None else token(device))
        self.c.tls_set(ca_certs=str(base.CA_PEM))
        if will:
            self.c.will_set(*will)
        self.connack: queue.Queue = queue.Queue()
        self.messages: queue.Queue = queue.Queue()
        self.disconnected = threading.Event()
        self.published: queue.Queue = queue.Queue()
        self.subacks: queue.Queue = queue.Queue()
        self.c.on_connect = lambda c, u, flags, rc: self.connack.put((rc, flags))
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.on_disconnect = lambda c, u, rc: self.disconnected.set()
        self.c.on_publish = lambda c, u, mid: self.published.put(mid)
        self.c.on_subscribe = lambda c, u, mid, granted: self.subacks.put(granted)
        self.c.connect("127.0.0.1", port, keepalive)
        self.c.loop_start()

    def rc(self, timeout: float = 10) -> int:
        return self.connack.get(timeout=timeout)[0]

    def close(self) -> None:
        try:
            self.c.disconnect()
        finally:
            self.c.loop_stop()


def _s(text) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return len(data).to_bytes(2, "big") + data


def _rl(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = n // 128, n % 128
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _rl(len(body)) + body


def connect_packet(device: str, tok: str, keepalive: int = 60, clean: bool = False,
                   will: tuple | None = None) -> bytes:
    flags = 0xC0 | (0x02 if clean else 0) | (0x04 if will else 0)
    body = _s("MQTT") + bytes([4, flags]) + keepalive.to_bytes(2, "big") + _s(device)
    if will:
        body += _s(will[0]) + _s(will[1])
    return packet(0x10, body + _s(username(device)) + _s(tok))


def subscribe_packet(pid: int, *filters) -> bytes:
    return packet(0x82, pid.to_bytes(2, "big") + b"".join(_s(f) + b"\x01" for f in filters))


def publish_packet(topic: str, payload: bytes, qos: int = 1, pid: int = 1) -> bytes:
    return packet(0x30 | qos << 1, _s(topic) + (pid.to_bytes(2, "big") if qos else b"") + payload)


class Raw:
    """A TLS socket speaking bytes; read() gives (first byte, body) or None at EOF."""

    def __init__(self, port: int, timeout: float = 5):
        sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.s = base.client_context(base.CA_PEM).wrap_socket(sock, server_hostname=HUB)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.s.sendall(data)

    def _fill(self, n: int) -> bool:
        while len(self.buf) < n:
            try:
                chunk = self.s.recv(65536)
            except (ConnectionError, ssl.SSLError):
                chunk = b""
            if not chunk:
                return False
            self.buf += chunk
        return True

    def read(self):
        if not self._fill(2):
            return None
        n, mult, i = 0, 1, 1
        while True:
            if not self._fill(i + 1):
                return None
            byte = self.buf[i]
            n += (byte & 0x7F) * mult
            mult *= 128
            i += 1
            if not byte & 0x80:
                break
        if not self._fill(i + n):
            return None
        first, body = self.buf[0], self.buf[i:i + n]
        self.buf = self.buf[i + n:]
        return first, body

    def connect(self, device: str, tok: str | None = None, **kw) -> int:
        self.send(connect_packet(device, tok if tok is not None else token(device), **kw))
        first, body = self.read()
        assert first == 0x20, hex(first)
        self.session_present = body[0]
        return body[1]

    def closed(self, timeout: float = 5) -> bool:
        """True if the server closes the connection within ``timeout``
        (whatever it sends first is skipped)."""
        self.s.settimeout(timeout)
        try:
            while self.read() is not None:
                pass
            return True
        except (socket.timeout, TimeoutError):
            return False

    def close(self) -> None:
        try:
            self.s.close()
        except OSError:
            pass


def publish_topic(body: bytes) -> tuple:
    n = int.from_bytes(body[:2], "big")
    return body[2:2 + n].decode(), body[2 + n:]


# ---------------------------------------------------------------------------
# property bags and topics (pure functions)
# ---------------------------------------------------------------------------


class TopicTests(unittest.TestCase):
    def test_bags(self):
        from endpoint import iothub_topics as t
        self.assertEqual(t.parse_bag("%24.ct=application%2Fjson&$.ce=utf-8&a+b=c%20d&k&e="),
                         [("$.ct", "application/json"), ("$.ce", "utf-8"), ("a+b", "c d"),
                          ("k", None), ("e", "")])
        self.assertEqual(t.parse_bag("?x=%3D%26"), [("x", "=&")])
        pairs = [("$.mid", "m/1"), ("odd key", "a&b=c+d é"), ("none", None)]
        self.assertEqual(t.parse_bag(t.encode_bag(pairs)), pairs)
        self.assertEqual(t.encode_bag([("$.to", "/devices/d")]), "%24.to=%2Fdevices%2Fd")
        with self.assertRaises(t.BagError):
            t.parse_bag("k=%ff")
        self.assertEqual(t.split_properties([("$.ct", "x"), ("$.zz", "1"), ("a", "b")]),
                         ({"a": "b"}, {"iothub-contenttype": "x", "$.zz": "1"}))

    def test_topics(self):
        from endpoint import iothub_topics as t
        p = t.parse_publish_topic("devices/d1/messages/events/a=1/2")
        self.assertEqual((p.kind, p.device_id, p.module_id, p.bag), ("telemetry", "d1", None, "a=1/2"))
        p = t.parse_publish_topic("devices/d1/modules/m1/messages/events/")
        self.assertEqual((p.kind, p.device_id, p.module_id), ("telemetry", "d1", "m1"))
        self.assertEqual(t.parse_publish_topic("$iothub/twin/GET/?$rid=7").rid, "7")
        p = t.parse_publish_topic("$iothub/methods/res/201/?$rid=3")
        self.assertEqual((p.kind, p.status, p.rid), ("method-res", 201, "3"))
        for bad in ("devices/d1/messages/event/", "devices//messages/events/", "$iothub/twin/GET",
                    "$iothub/methods/res/abc/?$rid=1", "$iothub/twin/PATCH/properties/desired/?$rid=1",
                    "other"):
            self.assertIsNone(t.parse_publish_topic(bad), bad)
        self.assertTrue(t.allowed_filter("devices/+/messages/devicebound/#", "d1", None))
        self.assertFalse(t.allowed_filter("devices/d2/messages/devicebound/#", "d1", None))
        self.assertFalse(t.allowed_filter("devices/d1/messages/devicebound/#", "d1", "m1"))


# ---------------------------------------------------------------------------
# azure-iot-device against the endpoint
# ---------------------------------------------------------------------------


def sdk_client(device: str = "dev1", key: str = KEY) -> IoTHubDeviceClient:
    conn_str = (f"HostName={HUB};DeviceId={device};SharedAccessKey={key};"
                "GatewayHostName=127.0.0.1")
    return IoTHubDeviceClient.create_from_connection_string(
        conn_str, server_verification_cert=base.CA_PEM.read_text(), connection_retry=False)


class SdkTests(unittest.TestCase):
    """azure-iot-device 2.14.0, unmodified, as a device of the endpoint."""

    @classmethod
    def setUpClass(cls):
        cls.client = sdk_client("dev1")
        cls.c2d: queue.Queue = queue.Queue()
        cls.desired: queue.Queue = queue.Queue()
        cls.methods: queue.Queue = queue.Queue()

        def on_method(request):
            cls.methods.put((request.name, request.payload))
            if request.name == "silent":
                return
            cls.client.send_method_response(MethodResponse.create_from_method_request(
                request, 200, {"ok": True, "got": request.payload}))

        cls.client.on_message_received = cls.c2d.put
        cls.client.on_twin_desired_properties_patch_received = cls.desired.put
        cls.client.on_method_request_received = on_method
        cls.client.connect()
        sys.stderr.write(f"[azure-iot-device on port {EP.mqtt_port}{PORT_NOTE}] ")

    @classmethod
    def tearDownClass(cls):
        cls.client.shutdown()

    def test_telemetry_with_properties_is_stored(self):
        msg = Message(b'{"t":21.5}', message_id="mid-7", content_encoding="utf-8",
                      content_type="application/json")
        msg.custom_properties["level"] = "warn"
        msg.custom_properties["odd key"] = "a b&c=d/%é"
        self.client.send_message(msg)          # returns once PUBACKed
        rows = EP.rows("service='iothub' AND device_id='dev1' AND body=?", (b'{"t":21.5}',))
        self.assertEqual(len(rows), 1)
        row = rows[0]
        self.assertEqual(row["entity"], "demo-hub")
        self.assertEqual(json.loads(row["properties"]), {"level": "warn", "odd key": "a b&c=d/%é"})
        broker = json.loads(row["broker_properties"])
        self.assertEqual(broker["iothub-messageid"], "mid-7")
        self.assertEqual(broker["iothub-contenttype"], "application/json")
        self.assertEqual(broker["iothub-contentencoding"], "utf-8")
        self.assertEqual(broker["iothub-connection-device-id"], "dev1")
        EP.wait_line(lambda l: l.startswith("accepted iothub hub=demo-hub device=dev1 events=1 "
                                            "bytes=10 ") and l.endswith("transport=mqtt"))

    def test_twin_get_and_reported_patch(self):
        twin = self.client.get_twin()
        self.assertEqual(set(twin), {"desired", "reported"})
        before = twin["reported"]["$version"]
        self.client.patch_twin_reported_properties({"fw": "1.0.3", "cfg": {"a": 1, "b": 2}})
        twin = self.client.get_twin()
        self.assertEqual(twin["reported"]["$version"], before + 1)
        self.assertEqual(twin["reported"]["fw"], "1.0.3")
        self.client.patch_twin_reported_properties({"cfg": {"a": None}, "fw": None})
        twin = self.client.get_twin()
        self.assertEqual(twin["reported"]["$version"], before + 2)
        self.assertEqual(twin["reported"]["cfg"], {"b": 2})
        self.assertNotIn("fw", twin["reported"])
        # the stored document is the one the CLI shows
        shown = json.loads(cli("twin-get", "--db", str(EP.db), "--device", "dev1").stdout)
        self.assertEqual(shown["reported"], twin["reported"])

    def test_desired_patch_reaches_the_handler(self):
        version = self.client.get_twin()["desired"]["$version"]
        r = cli("twin-desired", "--db", str(EP.db), "--device", "dev1",
                "--json", '{"interval": 60, "mode": {"eco": true}}')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), f"desired device=dev1 version={version + 1}")
        patch = self.desired.get(timeout=10)
        self.assertEqual(patch, {"interval": 60, "mode": {"eco": True}, "$version": version + 1})
        twin = self.client.get_twin()
        self.assertEqual(twin["desired"]["$version"], version + 1)
        self.assertEqual(twin["desired"]["interval"], 60)

    def test_direct_method_invoked_from_the_cli(self):
        r = cli("method-invoke", "--db", str(EP.db), "--device", "dev1", "--name", "reboot",
                "--payload", '{"delay": 5}', "--timeout", "10")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout),
                         {"status": 200, "payload": {"ok": True, "got": {"delay": 5}}})
        self.assertEqual(self.methods.get(timeout=5), ("reboot", {"delay": 5}))

    def test_direct_method_not_answered_times_out(self):
        t0 = time.monotonic()
        r = cli("method-invoke", "--db", str(EP.db), "--device", "dev1", "--name", "silent",
                "--timeout", "1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("error 504 GatewayTimeout", r.stderr)
        self.assertLess(time.monotonic() - t0, 6)
        self.assertEqual(self.methods.get(timeout=5), ("silent", None))

    def test_direct_method_to_a_device_not_connected_is_404(self):
        r = cli("method-invoke", "--db", str(EP.db), "--device", "m15", "--name", "reboot")
        self.assertEqual(r.returncode, 1)
        self.assertIn("error 404 DeviceNotOnline", r.stderr)

    def test_cloud_to_device_message(self):
        r = cli("c2d-send", "--db", str(EP.db), "--device", "dev1", "--body", "reboot now",
                "--property", "cmd=re boot", "--property", "n=1&2", "--message-id", "c2d-1",
                "--correlation-id", "corr-1", "--content-type", "text/plain")
        self.assertEqual(r.returncode, 0, r.stderr)
        msg = self.c2d.get(timeout=10)
        self.assertEqual(msg.data, b"reboot now")
        self.assertEqual(msg.message_id, "c2d-1")
        self.assertEqual(msg.correlation_id, "corr-1")
        self.assertEqual(msg.content_type, "text/plain")
        self.assertEqual(msg.custom_properties, {"cmd": "re boot", "n": "1&2"})
        wait_for(lambda: db_rows(EP, "SELECT state FROM c2d_messages WHERE message_id='c2d-1'")
                 == [("completed",)], what="the PUBACK to complete the message")

    def test_wrong_key_is_a_credential_error(self):
        client = sdk_client("m14", key=OTHER_KEY)
        try:
            with self.assertRaises(sdk_errors.CredentialError):
                client.connect()
        finally:
            client.shutdown()
        EP.wait_line(lambda l: l.startswith("mqtt refused code=5 device=m14: InvalidSignature"))


# ---------------------------------------------------------------------------
# IoT Hub's rules, with paho and raw bytes
# ---------------------------------------------------------------------------


def sas_at(device: str, se: int, key: str = KEY) -> str:
    """A token with a chosen expiry (HMAC over 'sr\\nse' with the decoded key)."""
    sr = quote(f"{HUB}/devices/{device}", safe="")
    sig = base64.b64encode(hmac.new(base64.b64decode(key), f"{sr}\n{se}".encode(),
                                    hashlib.sha256).digest()).decode()
    return f"SharedAccessSignature sr={sr}&sig={quote(sig, safe='')}&se={se}"


class RulesTests(unittest.TestCase):
    def setUp(self):
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()

    def paho(self, device, **kw) -> Paho:
        c = Paho(EP.mqtt_port, device, **kw)
        self.clients.append(c)
        return c

    def raw(self) -> Raw:
        r = Raw(EP.mqtt_port)
        self.clients.append(r)
        return r

    def test_connack_codes(self):
        self.assertEqual(self.paho("m1").rc(), 0)
        self.assertEqual(self.paho("m2", tok=token("m2", key=OTHER_KEY)).rc(), 5)
        self.assertEqual(self.paho("m2", tok=sas_at("m2", int(time.time()) - 5)).rc(), 5)
        self.assertEqual(self.paho("nobody", tok=token("nobody")).rc(), 5)
        self.assertEqual(self.paho("m2", user=username("m2", "other-hub.azure-devices.net")).rc(), 4)
        self.assertEqual(self.paho("m2", user=username("m3")).rc(), 4)
        self.assertEqual(self.paho("m2", protocol=paho.MQTTv31).rc(), 1)
        # a hub policy token (skn) for a registered device is accepted
        policy = base.iot_token(HUB, key=base.HUB_POLICY_KEY, key_name="device")
        self.assertEqual(self.paho("m3", tok=policy).rc(), 0)
        # extra username parameters (as the SDKs send) are fine
        user = username("m4") + "&DeviceClientType=azsdk-c%2F1.5.0&model-id=dtmi%3Aa%3Ab%3B1"
        self.assertEqual(self.paho("m4", user=user).rc(), 0)
        r = self.raw()
        self.assertEqual(r.connect("", token("m5")), 2)

    def test_qos2_publish_closes_the_connection(self):
        c = self.paho("m1")
        self.assertEqual(c.rc(), 0)
        c.c.publish("devices/m1/messages/events/", b"x", qos=2)
        self.assertTrue(c.disconnected.wait(5))
        self.assertEqual(db_rows(EP, "SELECT COUNT(*) FROM events WHERE device_id='m1' AND"
                                     " body=x'78'"), [(0,)])

    def test_undocumented_filter_closes_the_connection(self):
        for bad in ("#", "devices/m2/messages/events/#", "devices/other/messages/devicebound/#",
                    "$iothub/twin/#"):
            c = self.paho("m2")
            self.assertEqual(c.rc(), 0)
            c.c.subscribe(bad, 1)
            self.assertTrue(c.disconnected.wait(5), bad)

    def test_documented_filters_granted_qos_1_at_most(self):
        c = self.paho("m3")
        self.assertEqual(c.rc(), 0)
        c.c.subscribe([("devices/m3/messages/devicebound/#", 2), ("$iothub/twin/res/#", 0),
                       ("$iothub/twin/PATCH/properties/desired/#", 1),
                       ("$iothub/methods/POST/#", 1), ("devices/+/messages/devicebound/#", 1)])
        self.assertEqual(c.subacks.get(timeout=5), (1, 0, 1, 1, 1))

    def test_publish_on_another_devices_topic_closes(self):
        c = self.paho("m4")
        self.assertEqual(c.rc(), 0)
        c.c.publish("devices/m5/messages/events/", b"spoof", qos=1)
        self.assertTrue(c.disconnected.wait(5))
        self.assertEqual(db_rows(EP, "SELECT COUNT(*) FROM events WHERE body=?", (b"spoof",)),
                         [(0,)])

    def test_second_connection_of_a_device_drops_the_first(self):
        first = self.paho("m5")
        self.assertEqual(first.rc(), 0)
        second = self.paho("m5")
        self.assertEqual(second.rc(), 0)
        self.assertTrue(first.disconnected.wait(5))
        self.assertFalse(second.disconnected.is_set())
        second.c.publish("devices/m5/messages/events/", b"still here", qos=1)
        self.assertEqual(second.published.get(timeout=5), 1)

    def test_twin_over_paho_and_a_bad_patch(self):
        c = self.paho("m6")
        self.assertEqual(c.rc(), 0)
        c.c.subscribe("$iothub/twin/res/#", 0)
        c.subacks.get(timeout=5)
        c.c.publish("$iothub/twin/GET/?$rid=1", b"")
        m = c.messages.get(timeout=5)
        self.assertEqual(m.topic, "$iothub/twin/res/200/?$rid=1")
        self.assertEqual(json.loads(m.payload), {"desired": {"$version": 1},
                                                 "reported": {"$version": 1}})
        c.c.publish("$iothub/twin/PATCH/properties/reported/?$rid=2", b'{"fw":"1.0.2"}')
        self.assertEqual(c.messages.get(timeout=5).topic, "$iothub/twin/res/204/?$rid=2&$version=2")
        c.c.publish("$iothub/twin/PATCH/properties/reported/?$rid=3", b"not json")
        m = c.messages.get(timeout=5)
        self.assertEqual(m.topic, "$iothub/twin/res/400/?$rid=3")
        c.c.publish("$iothub/twin/PATCH/properties/reported/?$rid=4", b'{"$bad": 1}')
        self.assertEqual(c.messages.get(timeout=5).topic, "$iothub/twin/res/400/?$rid=4")
        c.c.publish("$iothub/twin/GET/?$rid=5", b" ")
        m = c.messages.get(timeout=5)
        self.assertEqual(json.loads(m.payload)["reported"], {"fw": "1.0.2", "$version": 2})

    def test_malformed_packets_close_the_connection(self):
        cases = {
            "5-byte remaining length": b"\x30\xff\xff\xff\xff\x7f",
            "SUBSCRIBE with flags 0000": b"\x80\x06\x00\x01\x00\x01#\x01",
            "topic longer than the packet": b"\x32\x06\x00\x40devi",
            "packet type 0": b"\x00\x00",
            "PUBLISH with QoS 3": b"\x36\x05\x00\x01a\x00\x01",
            "PUBACK with remaining length 3": b"\x40\x03\x00\x01\x00",
            "topic not UTF-8": b"\x30\x05\x00\x03\xff\xfeA",
            "undecodable bag": publish_packet("devices/m7/messages/events/k=%ff", b"x"),
            "unknown topic": publish_packet("devices/m7/twin", b"x"),
            "second CONNECT": connect_packet("m7", token("m7")),
        }
        for name, data in cases.items():
            r = self.raw()
            self.assertEqual(r.connect("m7"), 0, name)
            r.send(data)
            self.assertTrue(r.closed(), name)
        r = self.raw()                  # a first packet that is not CONNECT
        r.send(b"\xc0\x00")
        self.assertTrue(r.closed())
        r = self.raw()                  # the server is still fine
        self.assertEqual(r.connect("m7"), 0)
        r.send(b"\xc0\x00")
        self.assertEqual(r.read(), (0xD0, b""))

    def test_keepalive_is_enforced(self):
        r = self.raw()
        self.assertEqual(r.connect("m8", keepalive=1), 0)
        t0 = time.monotonic()
        self.assertTrue(r.closed(timeout=5))
        self.assertGreater(time.monotonic() - t0, 1.3)
        EP.wait_line(lambda l: l.startswith("mqtt closed device=m8 reason=keep-alive"))

    def test_c2d_redelivered_after_a_drop_then_completed(self):
        sent = base_c2d_send(EP, "m9", "open valve", "--property", "valve=3")
        r = self.raw()
        self.assertEqual(r.connect("m9"), 0)
        r.send(subscribe_packet(1, "devices/m9/messages/devicebound/#"))
        self.assertEqual(r.read(), (0x90, b"\x00\x01\x01"))
        first, body = r.read()
        self.assertEqual(first, 0x32)                   # PUBLISH QoS 1
        topic, rest = publish_topic(body)
        self.assertTrue(topic.startswith(f"devices/m9/messages/devicebound/%24.mid={sent}"
                                         "&%24.to=%2Fdevices%2Fm9%2Fmessages%2FdeviceBound"), topic)
        self.assertTrue(topic.endswith("&valve=3"), topic)
        self.assertEqual(rest[2:], b"open valve")
        r.close()                                       # no PUBACK
        r = self.raw()
        self.assertEqual(r.connect("m9"), 0)
        self.assertEqual(r.session_present, 1)          # clean session 0: subscription kept
        first, body = r.read()
        self.assertEqual(first, 0x3A)                   # PUBLISH QoS 1, DUP: delivered before
        topic, rest = publish_topic(body)
        self.assertIn(f"%24.mid={sent}", topic)
        r.send(b"\x40\x02" + rest[:2])                  # PUBACK
        wait_for(lambda: db_rows(EP, "SELECT state, delivery_count FROM c2d_messages WHERE"
                                     " message_id=?", (sent,)) == [("completed", 2)],
                 what="completion after redelivery")

    def test_c2d_queue_is_shared_with_https(self):
        sent = base_c2d_send(EP, "m10", "over https")
        conn = EP.connect(HUB)
        conn.request("GET", f"/devices/m10/messages/deviceBound?api-version=2021-04-12",
                     headers={"Host": HUB, "Authorization": token("m10")})
        resp = conn.getresponse()
        self.assertEqual((resp.status, resp.read()), (200, b"over https"))
        self.assertEqual(resp.getheader("iothub-messageid"), sent)
        conn.close()

    def test_will_is_emitted_on_a_drop_not_on_disconnect(self):
        r = self.raw()
        will = ("devices/m11/messages/events/kind=lost", b"gone")
        self.assertEqual(r.connect("m11", will=will), 0)
        r.s.shutdown(socket.SHUT_RDWR)
        r.close()
        rows = wait_for(lambda: EP.rows("device_id='m11' AND body=?", (b"gone",)),
                        what="the will")
        self.assertEqual(json.loads(rows[0]["properties"]),
                         {"kind": "lost", "iothub-MessageType": "Will"})
        r = self.raw()
        self.assertEqual(r.connect("m11", will=("devices/m11/messages/events/", b"clean")), 0)
        r.send(b"\xe0\x00")
        self.assertTrue(r.closed())
        time.sleep(0.2)
        self.assertEqual(EP.rows("device_id='m11' AND body=?", (b"clean",)), [])

    def test_module_identity_sends_telemetry(self):
        c = Paho(EP.mqtt_port, "dev1/mod1", tok=base.iot_token(f"{HUB}/devices/dev1/modules/mod1",
                                                              key=base.MOD_KEY))
        self.clients.append(c)
        self.assertEqual(c.rc(), 0)
        c.c.publish("devices/dev1/modules/mod1/messages/events/%24.ct=text%2Fplain", b"from mod", 1)
        c.published.get(timeout=5)
        row = EP.rows("body=?", (b"from mod",))[0]
        broker = json.loads(row["broker_properties"])
        self.assertEqual((broker["iothub-connection-module-id"], broker["iothub-contenttype"]),
                         ("mod1", "text/plain"))

    def test_mqtt_drop_then_refuse_then_back(self):
        c = self.paho("m12")
        self.assertEqual(c.rc(), 0)
        r = cli("mqtt-drop", "--db", str(EP.db), "--device", "m12", "--refuse-seconds", "1.5")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "dropped mqtt connections=1 refuse-seconds=1.5")
        self.assertTrue(c.disconnected.wait(5))
        self.assertEqual(self.paho("m12").rc(), 3)
        time.sleep(1.6)
        self.assertEqual(self.paho("m12").rc(), 0)


def base_c2d_send(ep, device: str, body: str, *extra: str) -> str:
    r = cli("c2d-send", "--db", str(ep.db), "--device", device, "--body", body, *extra)
    assert r.returncode == 0, r.stderr
    return r.stdout.split("message-id=", 1)[1].strip()


# ---------------------------------------------------------------------------
# fault injection
# ---------------------------------------------------------------------------


class FaultTests(unittest.TestCase):
    eps: list = []

    @classmethod
    def tearDownClass(cls):
        for ep in cls.eps:
            ep.stop()

    @classmethod
    def ep(cls, *args) -> base.Endpoint:
        ep = start(*args)
        cls.eps.append(ep)
        return ep

    def raw(self, ep) -> Raw:
        r = Raw(ep.mqtt_port)
        self.addCleanup(r.close)
        return r

    def test_drop_puback_twin_fail_refuse_seconds(self):
        ep = self.ep("--mqtt-drop-puback", "3", "--mqtt-refuse-seconds", "1",
                     "--mqtt-twin-fail", "2", "--mqtt-twin-fail-status", "500")
        r = self.raw(ep)
        self.assertEqual(r.connect("m1"), 0)
        r.send(subscribe_packet(1, "$iothub/twin/res/#"))
        r.read()
        statuses = []
        for rid in range(1, 4):
            r.send(publish_packet(f"$iothub/twin/GET/?$rid={rid}", b"", qos=0))
            statuses.append(publish_topic(r.read()[1])[0])
        self.assertEqual(statuses, ["$iothub/twin/res/200/?$rid=1", "$iothub/twin/res/500/?$rid=2",
                                    "$iothub/twin/res/200/?$rid=3"])
        for pid in (1, 2):
            r.send(publish_packet("devices/m1/messages/events/", b"e%d" % pid, pid=pid))
            self.assertEqual(r.read(), (0x40, pid.to_bytes(2, "big")))
        r.send(publish_packet("devices/m1/messages/events/", b"e3", pid=3))
        self.assertTrue(r.closed())                        # stored, never PUBACKed
        self.assertEqual(len(ep.rows("body=?", (b"e3",))), 1)
        r = self.raw(ep)
        self.assertEqual(r.connect("m1"), 3)                # refused for a second
        time.sleep(1.1)
        r = self.raw(ep)
        self.assertEqual(r.connect("m1"), 0)
        ep.wait_line(lambda l: l.startswith("fault mqtt-drop-puback device=m1 publish=3"))

    def test_drop_publish_delay_puback_token_expiry(self):
        ep = self.ep("--mqtt-drop-publish", "2", "--mqtt-delay-puback", "300",
                     "--mqtt-token-expiry-disconnect")
        r = self.raw(ep)
        self.assertEqual(r.connect("m2"), 0)
        t0 = time.monotonic()
        r.send(publish_packet("devices/m2/messages/events/", b"d1", pid=1))
        r.send(b"\xc0\x00")                                  # reading goes on meanwhile
        self.assertEqual(r.read(), (0xD0, b""))
        self.assertEqual(r.read(), (0x40, b"\x00\x01"))
        self.assertGreaterEqual(time.monotonic() - t0, 0.28)
        r.send(publish_packet("devices/m2/messages/events/", b"d2", pid=2))
        self.assertTrue(r.closed())
        self.assertEqual(ep.rows("body=?", (b"d2",)), [])   # not stored
        # a token that expires in 2 s: the connection is closed then
        r = self.raw(ep)
        se = int(time.time()) + 2
        self.assertEqual(r.connect("m3", sas_at("m3", se)), 0)
        self.assertTrue(r.closed(timeout=5))
        self.assertGreaterEqual(time.time(), se - 0.05)
        ep.wait_line(lambda l: l.startswith(f"fault mqtt-token-expired device=m3 se={se}"))

    def test_refuse_connect(self):
        ep = self.ep("--mqtt-refuse-connect")
        r = self.raw(ep)
        self.assertEqual(r.connect("m1"), 3)
        self.assertTrue(r.closed())


if __name__ == "__main__":
    unittest.main()
