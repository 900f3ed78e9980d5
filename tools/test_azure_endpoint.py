"""Tests for tools/azure_endpoint.py.

Run from the repository root with the project's venv (it has the Azure SDKs
that serve as the token oracles)::

    .venv/bin/python -m unittest tools/test_azure_endpoint.py -v

The servers run as subprocesses on free ports with a temporary database and
certificates; clients are http.client over TLS with certificate verification
ON against the generated CA.  Tokens are made by the official SDK helpers
(azure-eventhub's ``_generate_sas_token`` / ``generate_sas_token`` and
azure-iot-device's ``RenewableSasToken`` + ``SymmetricKeySigningMechanism``)
so the validator is checked against the SDKs, not against itself.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "azure_endpoint.py"
sys.path.insert(0, str(HERE))
import azure_endpoint as ae  # noqa: E402  (the module under test, for validator unit tests)

try:
    from azure.eventhub._client_base import _generate_sas_token
    from azure.eventhub._pyamqp.utils import generate_sas_token as eh_generate_sas_token
    from azure.iot.device.common.auth import sastoken, signing_mechanism
except ImportError as e:  # pragma: no cover - the venv has them (tools/deps.sh)
    raise unittest.SkipTest(f"Azure SDKs not installed ({e}); run tools/deps.sh") from e

NS = "demo-ns.servicebus.windows.net"
HUB_HOST = "demo-hub.azure-devices.net"
POLICY = "DataProducer"
KEY = "AexamplekeyAEXAMPLEKEYAexamplekeyAEXAMPLEKEY="   # EH/SB key text (signed as is)
KEY2 = "SecondaryKeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx="
DEV_KEY = base64.b64encode(b"device-one-secret-key-32-bytes!!").decode()
MOD_KEY = base64.b64encode(b"module-secret-key-bytes-32......").decode()
HUB_POLICY_KEY = base64.b64encode(b"hub-policy-key-material-32-bytes").decode()

TMP: Path
CERTS: Path
CA_PEM: Path


def setUpModule():
    global TMP, CERTS, CA_PEM
    TMP = Path(tempfile.mkdtemp(prefix="azure_endpoint_test_"))
    CERTS = TMP / "certs"
    subprocess.run([sys.executable, str(SCRIPT), "--gen-certs-only", "--certs", str(CERTS)],
                   check=True, capture_output=True, timeout=60)
    CA_PEM = CERTS / "ca.pem"


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


class Endpoint:
    """The server as a subprocess; collects its stdout lines."""

    def __init__(self, *args: str, env: dict | None = None, certs: Path | None = None):
        self.dir = Path(tempfile.mkdtemp(dir=TMP))
        self.db = self.dir / "events.sqlite3"
        full_env = dict(os.environ)
        full_env.update({
            "AZURE_ENDPOINT_KEY": KEY,
            "AZURE_ENDPOINT_DEVICES": f"dev1={DEV_KEY} dev1/mod1={MOD_KEY}",
            "AZURE_ENDPOINT_IOTHUB_POLICIES": f"device={HUB_POLICY_KEY}",
        })
        full_env.update(env or {})
        cmd = [sys.executable, str(SCRIPT), "--certs", str(certs or CERTS), "--db", str(self.db),
               *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=full_env, text=True)
        self.lines: list[str] = []
        self.stderr_text = ""
        self._cond = threading.Condition()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        first = self.wait_line(lambda l: l.startswith("READY "), timeout=30)
        m = re.fullmatch(r"READY port=(\d+)", first)
        assert m, first
        self.port = int(m.group(1))

    def _read_stdout(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_text += line

    def wait_line(self, pred, timeout=10.0) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if pred(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not left:
                    raise AssertionError(f"no such line; stdout={self.lines} stderr={self.stderr_text}")
                self._cond.wait(min(left, 0.2))

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            time.sleep(0.05)          # let the reader threads see EOF
            self.proc.stdout.close()
            self.proc.stderr.close()

    def rows(self, where: str = "1", params=()) -> list[dict]:
        conn = sqlite3.connect(str(self.db), timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(
                f"SELECT * FROM events WHERE {where} ORDER BY id", params)]
        finally:
            conn.close()

    def rows_with_prefix(self, prefix: bytes) -> list[dict]:
        return [r for r in self.rows() if bytes(r["body"]).startswith(prefix)]

    def connect(self, host: str = NS, ca: Path | None = None, timeout: float = 10):
        return connect(self.port, host, ca or CA_PEM, timeout)


class _Conn(http.client.HTTPSConnection):
    """Connects to 127.0.0.1 but verifies the certificate for (and sends SNI of)
    the Azure host name, exactly like a device pointed at the fake endpoint."""

    def __init__(self, host, port, ctx, timeout):
        super().__init__(host, port, context=ctx, timeout=timeout)
        self._ctx = ctx

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self.host)


def client_context(ca: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    return ctx


OPEN_CONNECTIONS: list = []


def connect(port: int, host: str = NS, ca: Path | None = None, timeout: float = 10) -> _Conn:
    conn = _Conn(host, port, client_context(ca or CA_PEM), timeout)
    OPEN_CONNECTIONS.append(conn)
    return conn


def close_connections() -> None:
    while OPEN_CONNECTIONS:
        OPEN_CONNECTIONS.pop().close()


def eh_token(uri: str, key: str = KEY, policy: str = POLICY, ttl: int = 3600) -> str:
    """Token from azure-eventhub's own helper."""
    return _generate_sas_token(uri, policy, key, datetime.timedelta(seconds=ttl)).token


def eh_token_at(uri: str, se: int, key: str = KEY, policy: str = POLICY) -> str:
    return eh_generate_sas_token(uri, policy, key, se)


def iot_token(uri: str, key: str = DEV_KEY, ttl: int = 3600, key_name=None) -> str:
    """Token from azure-iot-device's own helper."""
    mech = signing_mechanism.SymmetricKeySigningMechanism(key)
    return str(sastoken.RenewableSasToken(uri, mech, key_name=key_name, ttl=ttl))


def post(conn, path, body=b"", headers=None, host=None):
    h = {"Host": host or conn.host}
    h.update(headers or {})
    conn.request("POST", path, body=body, headers=h)
    resp = conn.getresponse()
    return resp, resp.read()


def marker() -> str:
    return uuid.uuid4().hex[:12]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ---------------------------------------------------------------------------
# validator unit tests (no server)
# ---------------------------------------------------------------------------


class ValidatorTests(unittest.TestCase):
    def verify(self, token, resource, keys, *, now=0, require=True, iot=False):
        return ae.verify_sas(token, resource=resource, now=now, keys_by_name=keys,
                             require_key_name=require, iot=iot)

    def test_published_vector_raw_key(self):
        tok = ("SharedAccessSignature sr=endpoint%2Fhub&sig=EGsjmHg%2FOKM5bYk5pU7ZpN5ExQRuT3VCwXuCf"
               "trmUZw%3D&se=1&skn=keyName")
        self.verify(tok, "endpoint/hub/messages", {"keyName": [ae.raw_key("keyVal")]})

    def test_published_vector_event_hubs(self):
        tok = ("SharedAccessSignature sr=https%3A%2F%2Fmysvc.servicebus.windows.net%2Fmyentity&sig="
               "VH%2BZh14eoSrYBPLec5Qshqg7wEupmXtavqQ9hLWiz7M%3D&se=1476065410&skn=mykey")
        info = self.verify(tok, "https://mysvc.servicebus.windows.net/myentity/messages",
                           {"mykey": [ae.raw_key(KEY)]}, now=1476065409)
        self.assertEqual(info["sr"], "https://mysvc.servicebus.windows.net/myentity")
        with self.assertRaises(ae.AuthError) as cm:
            self.verify(tok, "https://mysvc.servicebus.windows.net/myentity/messages",
                        {"mykey": [ae.raw_key(KEY)]}, now=1476065410)
        self.assertEqual(cm.exception.code, "ExpiredToken")

    def test_published_vector_iothub(self):
        tok = ("SharedAccessSignature sr=iot-hub-for-test.azure-devices.net%2Fdevices%2Fiot-device-"
               "for-test&sig=SIumZ1ACqqPJZ2okHDlW9MSYKykEpqsQY3z6FMOICd4%3D&se=1471940363")
        key = ae.decoded_key("+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw=")
        self.verify(tok, "iot-hub-for-test.azure-devices.net/devices/iot-device-for-test/messages/"
                    "events", {None: [key]}, require=False, iot=True)
        # the same token checked with the key used as raw text fails, with a hint
        with self.assertRaises(ae.AuthError) as cm:
            self.verify(tok, "iot-hub-for-test.azure-devices.net/devices/iot-device-for-test",
                        {None: [ae.raw_key("+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw=")]},
                        require=False)
        self.assertEqual(cm.exception.code, "InvalidSignature")
        self.assertIn("base64-decoded", cm.exception.message)

    def test_fields_any_order_and_large_expiry(self):
        for se in (2**31, 2**32, 2**40):
            tok = eh_token_at(f"https://{NS}/hub", se)
            fields = tok.split(" ", 1)[1].split("&")
            random.Random(se).shuffle(fields)
            shuffled = "SharedAccessSignature " + "&".join(reversed(fields))
            self.verify(shuffled, f"https://{NS}/hub/messages", {POLICY: [ae.raw_key(KEY)]},
                        now=time.time())

    def test_long_hmac_key(self):
        long_key = "k" * 100          # > 64 bytes: hashed first (RFC 2104)
        tok = eh_token_at("https://x.servicebus.windows.net/h", 2**33, key=long_key)
        self.verify(tok, "https://x.servicebus.windows.net/h/messages",
                    {POLICY: [ae.raw_key(long_key)]})

    def test_sdks_agree_generatively(self):
        rng = random.Random(1234)
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-._~ äé/:@+"
        for i in range(300):
            key = b64(rng.randbytes(rng.choice((16, 32, 64, 80))))
            name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 20))).strip("/") or "e"
            se = rng.randint(int(time.time()) + 100, 2**33)
            if i % 2:
                uri = f"https://ns{i}.servicebus.windows.net/{name}"
                tok = eh_token_at(uri, se, key=key, policy="pol" + str(i))
                self.verify(tok, uri + "/messages", {"pol" + str(i): [ae.raw_key(key)]})
            else:
                uri = f"hub{i}.azure-devices.net/devices/{name}"
                mech = signing_mechanism.SymmetricKeySigningMechanism(key)
                tok = sastoken.RenewableSasToken(uri, mech, ttl=se - int(time.time()))
                self.verify(str(tok), uri + "/messages/events",
                            {None: [ae.decoded_key(key)]}, require=False, now=time.time())

    def test_sig_with_raw_plus_is_refused(self):
        for se in range(1000, 2000):
            mac = hmac.new(KEY.encode(), f"{quote_plus('https://' + NS + '/hub')}\n{se}".encode(),
                           hashlib.sha256).digest()
            sig = base64.b64encode(mac).decode()
            if "+" in sig:
                break
        sr = quote_plus(f"https://{NS}/hub")
        good = f"SharedAccessSignature sr={sr}&sig={quote(sig, safe='')}&se={se}&skn={POLICY}"
        bad = f"SharedAccessSignature sr={sr}&sig={sig}&se={se}&skn={POLICY}"
        keys = {POLICY: [ae.raw_key(KEY)]}
        self.verify(good, f"https://{NS}/hub", keys)
        with self.assertRaises(ae.AuthError) as cm:
            self.verify(bad, f"https://{NS}/hub", keys)
        self.assertEqual(cm.exception.code, "InvalidSignature")
        self.assertIn("raw '+'", cm.exception.message)

    def test_sr_signed_in_other_encoding(self):
        uri = f"https://{NS}/hub"
        se = 2**33
        signed = quote(uri, safe="").lower()           # lower-case hex signed ...
        sent = quote(uri, safe="")                     # ... upper-case hex sent
        mac = hmac.new(KEY.encode(), f"{signed}\n{se}".encode(), hashlib.sha256).digest()
        tok = f"SharedAccessSignature sr={sent}&sig={quote(b64(mac), safe='')}&se={se}&skn={POLICY}"
        with self.assertRaises(ae.AuthError) as cm:
            self.verify(tok, uri, {POLICY: [ae.raw_key(KEY)]})
        self.assertIn("different encoding of sr", cm.exception.message)

    def test_audience(self):
        m = ae.audience_matches
        self.assertTrue(m(f"https://{NS}/hub", f"https://{NS}/hub/messages"))
        self.assertTrue(m(f"{NS}/hub", f"https://{NS}/hub/messages"))
        self.assertTrue(m(f"https://{NS}/", f"https://{NS}/hub/messages"))
        self.assertTrue(m(f"https://{NS}/HUB/", f"https://{NS}/hub/messages"))
        self.assertFalse(m(f"https://{NS}/hu", f"https://{NS}/hub/messages"))
        self.assertFalse(m(f"https://{NS}/hub/publishers/a", f"https://{NS}/hub/publishers/ab/messages"))
        self.assertFalse(m("", f"https://{NS}/hub"))

    def test_malformed(self):
        keys = {POLICY: [ae.raw_key(KEY)]}
        for tok, code in [
            (None, "MissingToken"),
            ("", "MissingToken"),
            ("Bearer abc", "MalformedToken"),
            ("SharedAccessSignature sr=a&sig=b", "MalformedToken"),
            ("SharedAccessSignature sr=a&sig=b&se=12x&skn=DataProducer", "MalformedToken"),
            ("SharedAccessSignature sr=a&sr=a&sig=b&se=1", "MalformedToken"),
            ("SharedAccessSignature sr=a&sig=b&se=1", "MissingKeyName"),
        ]:
            with self.assertRaises(ae.AuthError, msg=tok) as cm:
                self.verify(tok, "a/b", keys)
            self.assertEqual(cm.exception.code, code, tok)


# ---------------------------------------------------------------------------
# the server, normal behaviour
# ---------------------------------------------------------------------------


class EndpointTests(unittest.TestCase):
    ep: Endpoint

    @classmethod
    def setUpClass(cls):
        cls.ep = Endpoint("--eventhub", "telemetry", "--queue", "orders", "--topic", "alerts",
                          "--partitions", "4", "--secondary-key", KEY2)

    @classmethod
    def tearDownClass(cls):
        rc = cls.ep.stop()
        assert rc == 0, (rc, cls.ep.stderr_text)

    def setUp(self):
        self.conn = self.ep.connect()
        self.hub_tok = eh_token(f"https://{NS}/telemetry")

    def tearDown(self):
        close_connections()

    # -- Event Hubs -------------------------------------------------------
    def test_eventhub_single(self):
        body = b"temp=21.5 " + marker().encode()
        resp, data = post(self.conn, "/telemetry/messages?timeout=60&api-version=2014-01", body, {
            "Authorization": self.hub_tok,
            "Content-Type": "application/atom+xml;type=entry;charset=utf-8",
            "Alert": "Strong Wind",
            "BrokerProperties": json.dumps({"PartitionKey": "room-7", "Label": "L"}),
        })
        self.assertEqual(resp.status, 201)
        self.assertEqual(resp.reason, "Created")
        self.assertEqual(resp.getheader("Content-Length"), "0")
        self.assertEqual(data, b"")
        (row,) = self.ep.rows("body = ?", (body,))
        self.assertEqual((row["service"], row["entity"], row["partition_key"]),
                         ("eventhub", "telemetry", "room-7"))
        self.assertIsNone(row["publisher"])
        self.assertEqual(json.loads(row["properties"]), {"Alert": "Strong Wind"})
        self.assertEqual(json.loads(row["broker_properties"])["Label"], "L")
        self.assertEqual(row["batch_index"], 0)

    def test_publisher_and_scoped_token(self):
        pub = "dev-" + marker()
        tok = eh_token(f"https://{NS}/telemetry/publishers/{pub}")   # per-device token
        resp, _ = post(self.conn, f"/telemetry/publishers/{pub}/messages", b"p1",
                       {"Authorization": tok})
        self.assertEqual(resp.status, 201)
        (row,) = self.ep.rows("publisher = ?", (pub,))
        self.assertEqual(row["body"], b"p1")
        line = self.ep.wait_line(lambda l: f"publisher={pub} " in l)
        self.assertRegex(line, rf"^accepted eventhub hub=telemetry publisher={pub} events=1 "
                               r"bytes=2 request=\d+$")
        # the device's token does not let it post as another publisher
        resp, data = post(self.conn, f"/telemetry/publishers/{pub}x/messages", b"p2",
                          {"Authorization": tok})
        self.assertEqual(resp.status, 401)
        self.assertIn(b"InvalidAudience", data)

    def test_partition(self):
        body = marker().encode()
        resp, _ = post(self.conn, "/telemetry/partitions/3/messages", body,
                       {"Authorization": self.hub_tok})
        self.assertEqual(resp.status, 201)
        (row,) = self.ep.rows("body = ?", (body,))
        self.assertEqual(row["partition_id"], "3")
        resp, _ = post(self.conn, "/telemetry/partitions/4/messages", body,
                       {"Authorization": self.hub_tok})
        self.assertEqual(resp.status, 400)

    def test_eventhub_batch(self):
        pub = "batch-" + marker()
        items = [{"Body": f"m{i} \"quoted\" é\n", "UserProperties": {"n": i, "Alert": "x"},
                  "BrokerProperties": {"PartitionKey": f"k{i % 3}"}} for i in range(50)]
        body = json.dumps(items).encode()
        resp, _ = post(self.conn, f"/telemetry/publishers/{pub}/messages", body, {
            "Authorization": self.hub_tok,
            "Content-Type": "application/vnd.microsoft.servicebus.json"})
        self.assertEqual(resp.status, 201)
        rows = self.ep.rows("publisher = ?", (pub,))
        self.assertEqual(len(rows), 50)
        self.assertEqual([r["batch_index"] for r in rows], list(range(50)))
        self.assertEqual(len({r["request_id"] for r in rows}), 1)
        self.assertEqual(rows[7]["body"], 'm7 "quoted" é\n'.encode())
        self.assertEqual(json.loads(rows[7]["properties"]), {"n": 7, "Alert": "x"})
        self.assertEqual(rows[7]["partition_key"], "k1")
        self.ep.wait_line(lambda l: l.startswith(
            f"accepted eventhub hub=telemetry publisher={pub} events=50 bytes={len(body)} "))

    def test_batch_with_other_content_type_is_one_event(self):
        body = json.dumps([{"Body": marker()}, {"Body": "b"}]).encode()
        resp, _ = post(self.conn, "/telemetry/messages", body,
                       {"Authorization": self.hub_tok, "Content-Type": "application/json"})
        self.assertEqual(resp.status, 201)
        self.assertEqual(len(self.ep.rows("body = ?", (body,))), 1)

    def test_malformed_batches(self):
        before = len(self.ep.rows())
        for body in (b"[{\"Body\": \"a\"", b"{}", b"[]", b"[1]", b"[{\"Body\": 5}]",
                     b"[{\"Body\": \"a\", \"UserProperties\": []}]", b"\xff\xfe"):
            resp, data = post(self.conn, "/telemetry/messages", body, {
                "Authorization": self.hub_tok,
                "Content-Type": "application/vnd.microsoft.servicebus.json"})
            self.assertEqual(resp.status, 400, body)
            self.assertTrue(data.startswith(b"<Error><Code>400</Code>"), data)
        self.assertEqual(len(self.ep.rows()), before)
        # a half-bad batch stores nothing either (all or nothing)
        resp, _ = post(self.conn, "/telemetry/messages",
                       json.dumps([{"Body": "ok"}, {"Nobody": 1}]).encode(),
                       {"Authorization": self.hub_tok,
                        "Content-Type": "application/vnd.microsoft.servicebus.json"})
        self.assertEqual(resp.status, 400)
        self.assertEqual(len(self.ep.rows()), before)

    def test_bad_broker_properties(self):
        resp, data = post(self.conn, "/telemetry/messages", b"x",
                          {"Authorization": self.hub_tok, "BrokerProperties": "{nope"})
        self.assertEqual(resp.status, 400)

    # -- Service Bus ------------------------------------------------------
    def test_servicebus_queue(self):
        tok = eh_token(f"https://{NS}/orders")
        body = marker().encode()
        resp, _ = post(self.conn, "/orders/messages", body, {
            "Authorization": tok, "Priority": "High",
            "BrokerProperties": '{"MessageId":"m-1","Label":"order"}'})
        self.assertEqual(resp.status, 201)
        (row,) = self.ep.rows("body = ?", (body,))
        self.assertEqual((row["service"], row["entity"]), ("servicebus", "orders"))
        self.assertEqual(json.loads(row["properties"]), {"Priority": "High"})
        self.assertEqual(json.loads(row["broker_properties"])["MessageId"], "m-1")
        self.ep.wait_line(lambda l: l.startswith("accepted servicebus queue=orders events=1 "))

    def test_servicebus_topic_batch_with_namespace_token(self):
        tok = eh_token(f"https://{NS}/")                     # namespace-wide token
        m = marker()
        body = json.dumps([{"Body": m + "-1"}, {"Body": m + "-2",
                                                "UserProperties": {"Alert": "Strong Wind"}}])
        resp, _ = post(self.conn, "/alerts/messages", body.encode(), {
            "Authorization": tok, "Content-Type": "application/vnd.microsoft.servicebus.json"})
        self.assertEqual(resp.status, 201)
        rows = self.ep.rows_with_prefix(m.encode())
        self.assertEqual([(r["service"], r["entity"]) for r in rows], [("servicebus", "alerts")] * 2)

    def test_publisher_path_on_queue_is_404(self):
        tok = eh_token(f"https://{NS}/orders")
        resp, _ = post(self.conn, "/orders/publishers/x/messages", b"x", {"Authorization": tok})
        self.assertEqual(resp.status, 404)

    # -- IoT Hub ------------------------------------------------------------
    def test_iothub_single(self):
        conn = self.ep.connect(HUB_HOST)
        tok = iot_token(f"{HUB_HOST}/devices/dev1")
        body = b'{"t":21} ' + marker().encode()
        resp, data = post(conn, "/devices/dev1/messages/events?api-version=2021-04-12", body, {
            "Authorization": tok, "iothub-app-temperatureAlert": "true",
            "iothub-messageid": "msg-1", "iothub-contenttype": "application/json",
            "X-Other": "ignored"})
        self.assertEqual(resp.status, 204)
        self.assertEqual(data, b"")
        (row,) = self.ep.rows("body = ?", (body,))
        self.assertEqual((row["service"], row["entity"], row["device_id"]),
                         ("iothub", "demo-hub", "dev1"))
        self.assertEqual(json.loads(row["properties"]), {"temperatureAlert": "true"})
        system = json.loads(row["broker_properties"])
        self.assertEqual(system["iothub-messageid"], "msg-1")
        self.assertEqual(system["iothub-connection-device-id"], "dev1")
        self.ep.wait_line(lambda l: l.startswith("accepted iothub hub=demo-hub device=dev1 "))
        conn.close()

    def test_iothub_module_and_policy(self):
        conn = self.ep.connect(HUB_HOST)
        m = marker().encode()
        tok = iot_token(f"{HUB_HOST}/devices/dev1/modules/mod1", key=MOD_KEY)
        resp, _ = post(conn, "/devices/dev1/modules/mod1/messages/events", m, {"Authorization": tok})
        self.assertEqual(resp.status, 204)
        (row,) = self.ep.rows("body = ?", (m,))
        self.assertEqual(json.loads(row["broker_properties"])["iothub-connection-module-id"], "mod1")
        # the device key does not open the module identity
        resp, data = post(conn, "/devices/dev1/modules/mod1/messages/events", m,
                          {"Authorization": iot_token(f"{HUB_HOST}/devices/dev1/modules/mod1")})
        self.assertEqual(resp.status, 401)
        # a hub-level policy token (with skn) works for any registered device
        ptok = iot_token(HUB_HOST, key=HUB_POLICY_KEY, key_name="device")
        resp, _ = post(conn, "/devices/dev1/messages/events", m + b"p", {"Authorization": ptok})
        self.assertEqual(resp.status, 204)
        resp, data = post(conn, "/devices/ghost/messages/events", m, {"Authorization": ptok})
        self.assertEqual(resp.status, 404)
        conn.close()

    def test_iothub_batch(self):
        conn = self.ep.connect(HUB_HOST)
        m = marker()
        payloads = [f"{m}-{i}".encode() + bytes([0, 255, i]) for i in range(5)]
        body = json.dumps([{"body": b64(p), "properties": {"iothub-app-k": str(i),
                                                           "iothub-messageid": f"id{i}"}}
                           for i, p in enumerate(payloads)]).encode()
        resp, _ = post(conn, "/devices/dev1/messages/events?api-version=2021-04-12", body, {
            "Authorization": iot_token(f"{HUB_HOST}/devices/dev1"),
            "Content-Type": "application/vnd.microsoft.iothub.json"})
        self.assertEqual(resp.status, 204)
        rows = self.ep.rows_with_prefix(m.encode())
        self.assertEqual({r["device_id"] for r in rows}, {"dev1"})
        self.assertEqual([r["body"] for r in rows], payloads)
        self.assertEqual(json.loads(rows[2]["properties"]), {"k": "2"})
        self.assertEqual(json.loads(rows[2]["broker_properties"])["iothub-messageid"], "id2")
        resp, data = post(conn, "/devices/dev1/messages/events", b'[{"body":"not base64!"}]', {
            "Authorization": iot_token(f"{HUB_HOST}/devices/dev1"),
            "Content-Type": "application/vnd.microsoft.iothub.json"})
        self.assertEqual(resp.status, 400)
        self.assertIn(b"ArgumentInvalid", data)
        conn.close()

    # -- authentication failures --------------------------------------------
    def assert_401(self, conn, path, token, expect, host=None):
        headers = {} if token is None else {"Authorization": token}
        resp, data = post(conn, path, b"should-not-store-" + marker().encode(), headers, host=host)
        self.assertEqual(resp.status, 401, data)
        self.assertIn(expect.encode(), data)
        return data

    def test_wrong_key(self):
        data = self.assert_401(self.conn, "/telemetry/messages",
                               eh_token(f"https://{NS}/telemetry", key=KEY[::-1]), "InvalidSignature")
        self.assertTrue(data.startswith(b"<Error><Code>401</Code><Detail>InvalidSignature: "), data)
        self.assertNotIn(KEY.encode(), data)

    def test_decoded_key_for_event_hubs(self):
        uri = f"https://{NS}/telemetry"
        tok = iot_token(uri, key=KEY, key_name=POLICY)   # IoT SDK decodes the key: wrong for EH
        data = self.assert_401(self.conn, "/telemetry/messages", tok, "InvalidSignature")
        self.assertIn(b"base64-decoded", data)

    def test_secondary_key(self):
        resp, _ = post(self.conn, "/telemetry/messages", marker().encode(),
                       {"Authorization": eh_token(f"https://{NS}/telemetry", key=KEY2)})
        self.assertEqual(resp.status, 201)

    def test_expired(self):
        data = self.assert_401(self.conn, "/telemetry/messages",
                               eh_token_at(f"https://{NS}/telemetry", int(time.time()) - 5),
                               "ExpiredToken")
        self.assertTrue(data.startswith(b"<Error><Code>401</Code><Detail>ExpiredToken: "), data)
        conn = self.ep.connect(HUB_HOST)
        self.assert_401(conn, "/devices/dev1/messages/events",
                        iot_token(f"{HUB_HOST}/devices/dev1", ttl=-10), "ExpiredToken")
        conn.close()

    def test_wrong_audience(self):
        self.assert_401(self.conn, "/telemetry/messages", eh_token(f"https://{NS}/other"),
                        "InvalidAudience")
        self.assert_401(self.conn, "/telemetry/messages",
                        eh_token("https://elsewhere.servicebus.windows.net/telemetry"),
                        "InvalidAudience")
        conn = self.ep.connect(HUB_HOST)
        self.assert_401(conn, "/devices/dev1/messages/events",
                        iot_token(f"{HUB_HOST}/devices/dev2", key=DEV_KEY), "InvalidAudience")
        conn.close()

    def test_scheme_less_sr(self):
        resp, _ = post(self.conn, "/telemetry/messages", b"x",
                       {"Authorization": eh_token(f"{NS}/telemetry")})
        self.assertEqual(resp.status, 201)

    def test_key_name(self):
        self.assert_401(self.conn, "/telemetry/messages",
                        eh_token(f"https://{NS}/telemetry", policy="Primary"), "UnknownKeyName")
        self.assert_401(self.conn, "/telemetry/messages",
                        eh_token(f"https://{NS}/telemetry", policy=""), "MissingKeyName")
        self.assert_401(self.conn, "/telemetry/messages", None, "MissingToken")
        conn = self.ep.connect(HUB_HOST)
        # a device token must not carry skn
        self.assert_401(conn, "/devices/dev1/messages/events",
                        iot_token(f"{HUB_HOST}/devices/dev1", key_name="dev1"), "UnknownKeyName")
        self.assert_401(conn, "/devices/nobody/messages/events",
                        iot_token(f"{HUB_HOST}/devices/nobody"), "UnknownDevice")
        # IoT Hub signs with the decoded key: the raw text as key is refused, with a hint
        raw = eh_token_at(f"{HUB_HOST}/devices/dev1", int(time.time()) + 600, key=DEV_KEY,
                          policy="")
        data = self.assert_401(conn, "/devices/dev1/messages/events", raw, "InvalidSignature")
        self.assertIn(b"base64-DECODED", data)
        self.assertIn(b"IotHubUnauthorizedAccess", data)
        conn.close()

    def test_fields_in_any_order(self):
        fields = self.hub_tok.split(" ", 1)[1].split("&")
        tok = "SharedAccessSignature " + "&".join(sorted(fields, reverse=True))
        resp, _ = post(self.conn, "/telemetry/messages", b"x", {"Authorization": tok})
        self.assertEqual(resp.status, 201)

    def test_nothing_stored_on_401(self):
        self.test_wrong_key()
        self.test_expired()
        self.assertEqual(self.ep.rows_with_prefix(b"should-not-store-"), [])

    # -- routing -------------------------------------------------------------
    def test_unknown_host_entity_path_method(self):
        resp, _ = post(self.conn, "/telemetry/messages", b"x", {"Authorization": self.hub_tok},
                       host="other-ns.servicebus.windows.net")
        self.assertEqual(resp.status, 404)
        tok = eh_token(f"https://{NS}/nohub")
        resp, data = post(self.conn, "/nohub/messages", b"x", {"Authorization": tok})
        self.assertEqual(resp.status, 404)
        self.assertIn(b"MessagingEntityNotFound", data)
        resp, _ = post(self.conn, "/telemetry/wrong", b"x", {"Authorization": self.hub_tok})
        self.assertEqual(resp.status, 404)
        self.conn.request("GET", "/telemetry/messages", headers={"Host": NS})
        resp = self.conn.getresponse()
        resp.read()
        self.assertEqual(resp.status, 405)
        # Host with a port is fine
        resp, _ = post(self.conn, "/telemetry/messages", b"x", {"Authorization": self.hub_tok},
                       host=f"{NS}:443")
        self.assertEqual(resp.status, 201)

    # -- HTTP framing ------------------------------------------------------------
    def test_keep_alive(self):
        self.conn.connect()
        sock = self.conn.sock
        for i in range(8):
            resp, _ = post(self.conn, "/telemetry/messages", b"ka%d" % i,
                           {"Authorization": self.hub_tok})
            self.assertEqual(resp.status, 201)
            self.assertIs(self.conn.sock, sock, "the server closed a keep-alive connection")
        # error responses keep the connection too
        resp, _ = post(self.conn, "/telemetry/messages", b"x", {})
        self.assertEqual(resp.status, 401)
        resp, _ = post(self.conn, "/telemetry/messages", b"y", {"Authorization": self.hub_tok})
        self.assertEqual(resp.status, 201)
        self.assertIs(self.conn.sock, sock)

    def test_connection_close(self):
        ctx = client_context(CA_PEM)
        with socket.create_connection(("127.0.0.1", self.ep.port), 10) as raw:
            with ctx.wrap_socket(raw, server_hostname=NS) as s:
                req = (f"POST /telemetry/messages HTTP/1.1\r\nHost: {NS}\r\n"
                       f"Authorization: {self.hub_tok}\r\nContent-Length: 2\r\n"
                       f"Connection: close\r\n\r\nhi").encode()
                s.sendall(req)
                data = b""
                while True:
                    try:
                        got = s.recv(4096)
                    except ssl.SSLEOFError:
                        break
                    if not got:
                        break
                    data += got
        self.assertTrue(data.startswith(b"HTTP/1.1 201 Created\r\n"), data)
        self.assertIn(b"\r\nConnection: close\r\n", data)

    def test_chunked_request_body(self):
        m = marker().encode()
        parts = [m, b"-", b"x" * 5000, b"-end"]
        self.conn.request("POST", "/telemetry/messages", body=iter(parts), encode_chunked=True,
                          headers={"Host": NS, "Authorization": self.hub_tok,
                                   "Transfer-Encoding": "chunked"})
        resp = self.conn.getresponse()
        resp.read()
        self.assertEqual(resp.status, 201)
        (row,) = self.ep.rows("body = ?", (b"".join(parts),))
        # keep-alive survives a chunked upload
        resp, _ = post(self.conn, "/telemetry/messages", b"after", {"Authorization": self.hub_tok})
        self.assertEqual(resp.status, 201)

    def test_too_large(self):
        big = b"z" * (256 * 1024 + 1)
        resp, data = post(self.conn, "/telemetry/messages", big, {"Authorization": self.hub_tok})
        self.assertEqual(resp.status, 413)
        self.assertEqual(resp.reason, "Request Entity Too Large")
        self.assertIn(b"exceeds the limit (262144 bytes)", data)
        # exactly the limit is fine, on the same connection
        ok = b"z" * (256 * 1024)
        resp, _ = post(self.conn, "/telemetry/messages", ok, {"Authorization": self.hub_tok})
        self.assertEqual(resp.status, 201)
        # chunked oversize, IoT Hub oversize
        self.conn.request("POST", "/telemetry/messages", body=iter([big[:200000], big[200000:]]),
                          encode_chunked=True, headers={"Host": NS, "Authorization": self.hub_tok,
                                                        "Transfer-Encoding": "chunked"})
        resp = self.conn.getresponse()
        resp.read()
        self.assertEqual(resp.status, 413)
        conn = self.ep.connect(HUB_HOST)
        resp, data = post(conn, "/devices/dev1/messages/events", big,
                          {"Authorization": iot_token(f"{HUB_HOST}/devices/dev1")})
        self.assertEqual(resp.status, 413)
        self.assertIn(b"MessageTooLarge", data)
        conn.close()
        self.assertEqual(len(self.ep.rows("length(body) > 262144")), 0)

    def test_length_required(self):
        ctx = client_context(CA_PEM)
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.ep.port), 10),
                             server_hostname=NS) as s:
            s.sendall(f"POST /telemetry/messages HTTP/1.1\r\nHost: {NS}\r\n\r\n".encode())
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 411 "))

    # -- certificates ------------------------------------------------------------------
    def test_certificate_checks(self):
        self.assertEqual((CERTS / "ca.der").read_bytes(),
                         ssl.PEM_cert_to_DER_cert(CA_PEM.read_text()))
        for host in (NS, HUB_HOST, "localhost", "127.0.0.1"):
            conn = self.ep.connect(host)
            conn.connect()
            conn.close()
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.ep.connect("evil.example.com").connect()
        other = TMP / "certs-other"
        subprocess.run([sys.executable, str(SCRIPT), "--gen-certs-only", "--certs", str(other),
                        "--ca-name", "Other CA"], check=True, capture_output=True, timeout=60)
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.ep.connect(NS, ca=other / "ca.pem").connect()

    def test_certificates_are_reused(self):
        before = {p.name: p.read_bytes() for p in CERTS.iterdir()}
        r = subprocess.run([sys.executable, str(SCRIPT), "--gen-certs-only", "--certs", str(CERTS)],
                           check=True, capture_output=True, text=True, timeout=60)
        self.assertNotIn("created", r.stderr)
        self.assertEqual({p.name: p.read_bytes() for p in CERTS.iterdir()}, before)
        # a new name re-issues only the server certificate, the CA stays
        copy = TMP / "certs-copy"
        shutil.copytree(CERTS, copy)
        r = subprocess.run([sys.executable, str(SCRIPT), "--gen-certs-only", "--certs", str(copy),
                            "--san", "192.0.2.7"], check=True, capture_output=True, text=True,
                           timeout=60)
        self.assertIn("created server certificate", r.stderr)
        self.assertNotIn("created CA", r.stderr)
        self.assertEqual((copy / "ca.pem").read_bytes(), before["ca.pem"])
        self.assertNotEqual((copy / "server.pem").read_bytes(), before["server.pem"])

    # -- dump / count -----------------------------------------------------------------------
    def test_dump_and_count(self):
        resp, _ = post(self.conn, "/telemetry/publishers/dumper/messages", b"dump me",
                       {"Authorization": self.hub_tok, "Alert": "x"})
        self.assertEqual(resp.status, 201)
        out = subprocess.run([sys.executable, str(SCRIPT), "dump", "--db", str(self.ep.db)],
                             check=True, capture_output=True, text=True, timeout=30).stdout
        self.assertRegex(out, r"\d+\s+eventhub\s+telemetry\s+dumper\s+dump me\s+\{\"Alert\":\"x\"\}")
        self.assertTrue(out.splitlines()[0].startswith("id  service"))
        out = subprocess.run([sys.executable, str(SCRIPT), "count", "--db", str(self.ep.db),
                              "--json"], check=True, capture_output=True, text=True,
                             timeout=30).stdout
        summary = json.loads(out)
        self.assertEqual(summary["events"], len(self.ep.rows()))
        self.assertIn({"service": "eventhub", "entity": "telemetry",
                       "events": len(self.ep.rows("entity='telemetry'"))}, summary["by_entity"])
        out = subprocess.run([sys.executable, str(SCRIPT), "count", "--db", str(self.ep.db)],
                             check=True, capture_output=True, text=True, timeout=30).stdout
        self.assertRegex(out, r"(?m)^events \d+$")

    def test_keys_not_printed(self):
        self.assertNotIn(KEY, self.ep.stderr_text)
        self.assertFalse(any(KEY in l or DEV_KEY in l for l in self.ep.lines))


# ---------------------------------------------------------------------------
# fault injection and process behaviour (one small server each)
# ---------------------------------------------------------------------------


def read_raw_response(s: ssl.SSLSocket) -> tuple[bytes, bytes]:
    """Read one HTTP response from a TLS socket; return (head, rest-so-far)."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = s.recv(4096)
        if not got:
            break
        data += got
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def decode_chunked(s: ssl.SSLSocket, rest: bytes) -> bytes:
    """Strictly parse a chunked body (no extensions, CRLF everywhere)."""
    buf, out = rest, b""
    def need(n):
        nonlocal buf
        while len(buf) < n:
            got = s.recv(4096)
            if not got:
                raise AssertionError("EOF inside chunked body")
            buf += got
    while True:
        while b"\r\n" not in buf:
            need(len(buf) + 1)
        line, _, buf = buf.partition(b"\r\n")
        assert re.fullmatch(rb"[0-9a-f]+", line), line
        size = int(line, 16)
        if size == 0:
            need(2)
            assert buf[:2] == b"\r\n", buf
            assert buf[2:] == b"", buf
            return out
        need(size + 2)
        out += buf[:size]
        assert buf[size:size + 2] == b"\r\n"
        buf = buf[size + 2:]


class FaultTests(unittest.TestCase):
    def setUp(self):
        self.eps = []

    def tearDown(self):
        close_connections()
        for ep in self.eps:
            ep.stop()

    def start(self, *args) -> Endpoint:
        ep = Endpoint(*args)
        self.eps.append(ep)
        return ep

    def test_503_with_retry_after(self):
        ep = self.start("--fail-503", "1", "--retry-after", "3")
        conn = ep.connect()
        resp, data = post(conn, "/hub/messages", b"x", {"Authorization": eh_token(f"https://{NS}/hub")})
        self.assertEqual(resp.status, 503)
        self.assertEqual(resp.getheader("Retry-After"), "3")
        self.assertIn(b"50002", data)
        self.assertTrue(data.startswith(b"<Error><Code>503</Code>"))
        self.assertEqual(ep.rows(), [])
        ep.wait_line(lambda l: l.startswith("fault 503 eventhub hub=hub"))

    def test_429_for_iothub(self):
        ep = self.start("--fail-429", "1")
        conn = ep.connect(HUB_HOST)
        resp, data = post(conn, "/devices/dev1/messages/events", b"x",
                          {"Authorization": iot_token(f"{HUB_HOST}/devices/dev1")})
        self.assertEqual(resp.status, 429)
        self.assertEqual(resp.getheader("Retry-After"), "1")
        self.assertIn(b"ThrottlingException", data)
        self.assertEqual(ep.rows(), [])

    def test_faults_are_deterministic(self):
        def run():
            ep = self.start("--seed", "42", "--fail-503", "0.5")
            conn = ep.connect()
            tok = eh_token(f"https://{NS}/hub")
            statuses = [post(conn, "/hub/messages", b"%d" % i, {"Authorization": tok})[0].status
                        for i in range(16)]
            close_connections()
            return statuses, [r["body"] for r in ep.rows()]
        first, second = run(), run()
        self.assertEqual(first, second)
        self.assertEqual(set(first[0]), {201, 503})

    def test_drop_request(self):
        ep = self.start("--drop-request", "1")
        conn = ep.connect()
        with self.assertRaises((http.client.HTTPException, OSError)):
            post(conn, "/hub/messages", b"q" * 4000, {"Authorization": eh_token(f"https://{NS}/hub")})
        ep.wait_line(lambda l: l.startswith("fault drop-request"))
        self.assertEqual(ep.rows(), [])

    def test_drop_response_stores_then_closes(self):
        ep = self.start("--drop-response", "1", "--seed", "7")
        tok = eh_token(f"https://{NS}/hub")
        for i in range(3):
            conn = ep.connect()
            with self.assertRaises((http.client.HTTPException, OSError)):
                post(conn, "/hub/messages", b"dup", {"Authorization": tok})
            conn.close()
        self.assertEqual([r["body"] for r in ep.rows()], [b"dup"] * 3)   # retries -> duplicates
        out = subprocess.run([sys.executable, str(SCRIPT), "count", "--db", str(ep.db), "--json"],
                             check=True, capture_output=True, text=True, timeout=30).stdout
        self.assertEqual(json.loads(out)["duplicates"], 2)

    def test_chunked_and_slow_responses(self):
        ep = self.start("--chunked", "--slow", "0.2", "--chunk-size", "16")
        ctx = client_context(CA_PEM)
        tok = eh_token(f"https://{NS}/hub")
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", ep.port), 10),
                             server_hostname=NS) as s:
            # success, then an error with a body, on one connection
            t0 = time.monotonic()
            s.sendall((f"POST /hub/messages HTTP/1.1\r\nHost: {NS}\r\nAuthorization: {tok}\r\n"
                       f"Content-Length: 3\r\n\r\nabc").encode())
            head, rest = read_raw_response(s)
            self.assertGreaterEqual(time.monotonic() - t0, 0.2)
            self.assertTrue(head.startswith(b"HTTP/1.1 201 Created\r\n"), head)
            self.assertIn(b"\r\nTransfer-Encoding: chunked", head)
            self.assertNotIn(b"Content-Length", head)
            self.assertEqual(decode_chunked(s, rest), b"")
            s.sendall((f"POST /hub/messages HTTP/1.1\r\nHost: {NS}\r\n"
                       f"Content-Length: 3\r\n\r\nabc").encode())
            head, rest = read_raw_response(s)
            self.assertTrue(head.startswith(b"HTTP/1.1 401 Unauthorized\r\n"), head)
            self.assertIn(b"\r\nTransfer-Encoding: chunked", head)
            body = decode_chunked(s, rest)
            self.assertTrue(body.startswith(b"<Error><Code>401</Code><Detail>MissingToken: "), body)
            self.assertTrue(body.endswith(b"</Detail></Error>"), body)
        # http.client copes too, with keep-alive, and IoT 204 is never chunked
        conn = ep.connect()
        for _ in range(2):
            resp, data = post(conn, "/hub/messages", b"x", {})
            self.assertEqual(resp.status, 401)
            self.assertIn(b"MissingToken", data)
        iot = ep.connect(HUB_HOST)
        resp, data = post(iot, "/devices/dev1/messages/events", b"x",
                          {"Authorization": iot_token(f"{HUB_HOST}/devices/dev1")})
        self.assertEqual((resp.status, resp.getheader("Transfer-Encoding"), data), (204, None, b""))

    def test_clock_offset(self):
        ep = self.start("--clock-offset", "7200")
        conn = ep.connect()
        resp, data = post(conn, "/hub/messages", b"x",
                          {"Authorization": eh_token(f"https://{NS}/hub", ttl=3600)})
        self.assertEqual(resp.status, 401)
        self.assertIn(b"ExpiredToken", data)
        resp, _ = post(conn, "/hub/messages", b"x",
                       {"Authorization": eh_token(f"https://{NS}/hub", ttl=3 * 3600)})
        self.assertEqual(resp.status, 201)

    def test_max_size_option_and_signals(self):
        ep = self.start("--max-size", "100")
        conn = ep.connect()
        tok = eh_token(f"https://{NS}/hub")
        self.assertEqual(post(conn, "/hub/messages", b"a" * 100, {"Authorization": tok})[0].status, 201)
        self.assertEqual(post(conn, "/hub/messages", b"a" * 101, {"Authorization": tok})[0].status, 413)
        # a batch counts as a whole
        batch = json.dumps([{"Body": "a" * 40}] * 3).encode()
        resp, _ = post(conn, "/hub/messages", batch, {
            "Authorization": tok, "Content-Type": "application/vnd.microsoft.servicebus.json"})
        self.assertEqual(resp.status, 413)
        conn.close()
        self.assertEqual(ep.stop(signal.SIGINT), 0)
        self.assertIn("stopped", ep.stderr_text)
        ep2 = self.start()
        self.assertEqual(ep2.stop(signal.SIGTERM), 0)

    def test_bad_options(self):
        for args in (["--max-size", "2000000"], ["--fail-503", "1.5"], ["--device", "dev1=***"]):
            r = subprocess.run([sys.executable, str(SCRIPT), "--certs", str(CERTS), *args],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, args)
            self.assertNotIn("***", r.stderr)


if __name__ == "__main__":
    unittest.main()
