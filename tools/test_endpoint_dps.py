"""Tests for the endpoint's Device Provisioning Service routes (tools/endpoint/dps.py).

Run with the other endpoint tests (``make endpoint-test``) or alone::

    .venv/bin/python -m unittest tools/test_endpoint_dps.py -v

Tokens and derived keys come from azure-iot-device's own signing helpers
(``SymmetricKeySigningMechanism`` signs the registration id with the group
key exactly as DPS derives a device key; ``RenewableSasToken`` makes the
token), so the endpoint is checked against the SDK, not against itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import random
import sys
import time
import unittest
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import test_azure_endpoint as base  # noqa: E402  (helpers: Endpoint, connect, tokens)
from endpoint.auth import derive_device_key  # noqa: E402

from azure.iot.device.common.auth import sastoken, signing_mechanism  # noqa: E402

DPS = "global.azure-devices-provisioning.net"
SCOPE = "0ne0000TEST"
API = "api-version=2021-06-01"
# Microsoft's enrollment-group how-to: this group key and registration id give this device key.
GROUP_KEY = "8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw=="
GROUP_REG = "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6"
GROUP_DEVICE_KEY = "Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc="
IND_KEY = base64.b64encode(b"individual-enrollment-key-32byte").decode()
OTHER_KEY = base64.b64encode(b"another-enrollment-key-32-bytes!").decode()


def setUpModule():
    base.setUpModule()


def tearDownModule():
    base.tearDownModule()


def sdk_token(registration_id: str, key: str, ttl: int = 3600, key_name="registration",
              scope: str = SCOPE) -> str:
    """The token azure-iot-device's provisioning client would send."""
    mech = signing_mechanism.SymmetricKeySigningMechanism(key)
    return str(sastoken.RenewableSasToken(f"{scope}/registrations/{registration_id}", mech,
                                          key_name=key_name, ttl=ttl))


def lower_hex_token(registration_id: str, key: str, se: int) -> str:
    """What the Azure IoT C SDK sends: sr with lower-case percent hex, signed as sent."""
    sr = quote(f"{SCOPE}/registrations/{registration_id}", safe="").lower()
    mac = hmac.new(base64.b64decode(key), f"{sr}\n{se}".encode(), hashlib.sha256).digest()
    sig = quote(base64.b64encode(mac).decode(), safe="")
    return f"SharedAccessSignature sr={sr}&sig={sig}&se={se}&skn=registration"


def call(conn, method, path, body=None, token=None, headers=None):
    h = {"Host": DPS}
    if body is not None:
        body = json.dumps(body).encode() if not isinstance(body, bytes) else body
        h.update({"Content-Type": "application/json", "Content-Encoding": "utf-8"})
    if token is not None:
        h["Authorization"] = token
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    resp = conn.getresponse()
    data = resp.read()
    return resp, (json.loads(data) if data else None)


def register(conn, reg, token, payload=None, model_id=None):
    body = {"registrationId": reg}
    if payload is not None:
        body["payload"] = payload
    if model_id is not None:
        body["modelId"] = model_id
    return call(conn, "PUT", f"/{SCOPE}/registrations/{reg}/register?{API}", body, token)


def poll(conn, reg, operation_id, token):
    return call(conn, "GET", f"/{SCOPE}/registrations/{reg}/operations/{operation_id}?{API}",
                token=token)


class DerivationTests(unittest.TestCase):
    def test_public_vector(self):
        self.assertEqual(derive_device_key(GROUP_KEY, GROUP_REG), GROUP_DEVICE_KEY)

    def test_same_as_sdk_signing(self):
        rng = random.Random(13)
        for _ in range(200):
            group = base64.b64encode(rng.randbytes(rng.choice((16, 32, 64, 80)))).decode()
            reg = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-.")
                          for _ in range(rng.randint(1, 40)))
            sdk = signing_mechanism.SymmetricKeySigningMechanism(group).sign(reg)
            self.assertEqual(derive_device_key(group, reg), sdk)


class DpsTests(unittest.TestCase):
    ep: base.Endpoint

    @classmethod
    def setUpClass(cls):
        cls.ep = base.Endpoint(
            "--id-scope", SCOPE, "--dps-polls", "1", "--dps-retry-after", "2",
            "--dps-disabled", "dev-off", "--dps-failed", "dev-bad",
            "--dps-never-assign", "dev-forever", "--dps-failed", "broken-fleet",
            env={"AZURE_ENDPOINT_DPS_ENROLLMENTS":
                 f"dev-ind={IND_KEY} dev-off={OTHER_KEY} dev-bad={OTHER_KEY} "
                 f"dev-forever={OTHER_KEY}",
                 "AZURE_ENDPOINT_DPS_GROUPS": f"fleet={GROUP_KEY} broken-fleet={OTHER_KEY}"})

    @classmethod
    def tearDownClass(cls):
        assert cls.ep.stop() == 0, cls.ep.stderr_text

    def setUp(self):
        self.conn = self.ep.connect(DPS)

    def tearDown(self):
        base.close_connections()

    def provision(self, reg, token, payload=None):
        resp, doc = register(self.conn, reg, token, payload=payload)
        self.assertEqual(resp.status, 202, doc)
        self.assertEqual(doc["status"], "assigning")
        self.assertEqual(resp.getheader("Retry-After"), "2")
        op = doc["operationId"]
        resp, doc = poll(self.conn, reg, op, token)            # --dps-polls 1: still assigning
        self.assertEqual((resp.status, doc), (202, {"operationId": op, "status": "assigning"}))
        self.assertEqual(resp.getheader("Retry-After"), "2")
        resp, doc = poll(self.conn, reg, op, token)
        self.assertEqual(resp.status, 200, doc)
        self.assertEqual(doc["operationId"], op)
        return doc

    def assert_hub_accepts(self, device_id, key):
        hub = self.ep.connect(base.HUB_HOST)
        tok = base.iot_token(f"{base.HUB_HOST}/devices/{device_id}", key=key)
        resp, _ = base.post(hub, f"/devices/{device_id}/messages/events", b"hello", {"Authorization": tok})
        self.assertEqual(resp.status, 204)
        hub.request("GET", f"/devices/{device_id}/messages/deviceBound?api-version=2021-04-12",
                    headers={"Host": base.HUB_HOST, "Authorization": tok})
        resp = hub.getresponse()
        resp.read()
        self.assertEqual(resp.status, 204)

    def test_individual_enrollment_with_sdk_token(self):
        tok = sdk_token("dev-ind", IND_KEY)
        self.assertIn("sr=0ne0000TEST%2Fregistrations%2Fdev-ind&", tok)
        doc = self.provision("dev-ind", tok, payload={"site": "kitchen"})
        self.assertEqual(doc["status"], "assigned")
        state = doc["registrationState"]
        self.assertEqual((state["registrationId"], state["deviceId"], state["assignedHub"],
                          state["status"]), ("dev-ind", "dev-ind", base.HUB_HOST, "assigned"))
        self.assertEqual(state["payload"], {"site": "kitchen"})
        self.ep.wait_line(lambda l: l.startswith("assigned dps scope=0ne0000TEST registration="
                                                 "dev-ind "))
        self.assert_hub_accepts("dev-ind", IND_KEY)
        # polling again after the assignment gives the same answer
        resp, again = poll(self.conn, "dev-ind", doc["operationId"], tok)
        self.assertEqual((resp.status, again["status"]), (200, "assigned"))

    def test_group_enrollment_public_vector_lower_hex(self):
        device_key = signing_mechanism.SymmetricKeySigningMechanism(GROUP_KEY).sign(GROUP_REG)
        self.assertEqual(device_key, GROUP_DEVICE_KEY)
        tok = lower_hex_token(GROUP_REG, device_key, int(time.time()) + 600)
        self.assertIn("%2fregistrations%2f", tok)
        doc = self.provision(GROUP_REG, tok)
        self.assertEqual(doc["registrationState"]["deviceId"], GROUP_REG)
        self.assertNotIn("payload", doc["registrationState"])
        self.assert_hub_accepts(GROUP_REG, GROUP_DEVICE_KEY)
        # the group key itself does not open the registration
        resp, err = register(self.conn, GROUP_REG, sdk_token(GROUP_REG, GROUP_KEY))
        self.assertEqual(resp.status, 401)

    def test_group_enrollment_sdk_token_any_device(self):
        reg = "sensor-%d" % random.randrange(10**6)
        key = signing_mechanism.SymmetricKeySigningMechanism(GROUP_KEY).sign(reg)
        doc = self.provision(reg, sdk_token(reg, key), payload=[1, 2])
        self.assertEqual(doc["registrationState"]["payload"], [1, 2])
        self.assert_hub_accepts(reg, key)

    def test_failed_and_disabled(self):
        for reg, key, status in (("dev-bad", OTHER_KEY, "failed"), ("dev-off", OTHER_KEY, "disabled"),
                                 ("member-of-broken", None, "failed")):
            if key is None:
                key = derive_device_key(OTHER_KEY, reg)
            doc = self.provision(reg, sdk_token(reg, key))
            self.assertEqual(doc["status"], status)
            state = doc["registrationState"]
            self.assertEqual(state["status"], status)
            self.assertIsInstance(state["errorCode"], int)
            self.assertIn(status, state["errorMessage"])
            self.assertNotIn("assignedHub", state)
            # not in the hub
            hub = self.ep.connect(base.HUB_HOST)
            resp, data = base.post(hub, f"/devices/{reg}/messages/events", b"x", {
                "Authorization": base.iot_token(f"{base.HUB_HOST}/devices/{reg}", key=key)})
            self.assertEqual(resp.status, 401)
            self.assertIn(b"UnknownDevice", data)

    def test_never_ending_202(self):
        tok = sdk_token("dev-forever", OTHER_KEY)
        resp, doc = register(self.conn, "dev-forever", tok)
        self.assertEqual(resp.status, 202)
        for _ in range(6):
            resp, again = poll(self.conn, "dev-forever", doc["operationId"], tok)
            self.assertEqual((resp.status, again["status"]), (202, "assigning"))
            self.assertEqual(resp.getheader("Retry-After"), "2")

    def assert_error(self, resp, doc, status, text):
        self.assertEqual(resp.status, status, doc)
        self.assertEqual(resp.getheader("x-ms-error-code"), str(doc["errorCode"]))
        self.assertEqual(doc["errorCode"] // 1000, status)
        self.assertIn(text, doc["message"])

    def test_401(self):
        resp, doc = register(self.conn, "dev-ind", sdk_token("dev-ind", OTHER_KEY))
        self.assert_error(resp, doc, 401, "InvalidSignature")
        resp, doc = register(self.conn, "dev-ind", sdk_token("dev-ind", IND_KEY, ttl=-5))
        self.assert_error(resp, doc, 401, "ExpiredToken")
        resp, doc = register(self.conn, "dev-ind", sdk_token("dev-ind", IND_KEY, key_name="dev-ind"))
        self.assert_error(resp, doc, 401, "UnknownKeyName")
        resp, doc = register(self.conn, "dev-ind", sdk_token("dev-ind", IND_KEY, key_name=None))
        self.assert_error(resp, doc, 401, "MissingKeyName")
        resp, doc = register(self.conn, "dev-ind", None)
        self.assert_error(resp, doc, 401, "MissingToken")
        # a group member's expired token says so, although another group's key was tried first
        member_key = derive_device_key(GROUP_KEY, "member-7")
        resp, doc = register(self.conn, "member-7", sdk_token("member-7", member_key, ttl=-5))
        self.assert_error(resp, doc, 401, "ExpiredToken")
        # a token for the right key but another scope
        resp, doc = register(self.conn, "dev-ind", sdk_token("dev-ind", IND_KEY, scope="0neOTHER"))
        self.assert_error(resp, doc, 401, "InvalidAudience")
        self.assertNotIn(IND_KEY, self.ep.stderr_text + "\n".join(self.ep.lines))

    def test_404(self):
        tok = sdk_token("dev-ind", IND_KEY)
        resp, doc = poll(self.conn, "dev-ind", "5.0000000000000000.nope", tok)
        self.assert_error(resp, doc, 404, "OperationNotFound")
        # an operation of another registration is not visible
        other = sdk_token("dev-forever", OTHER_KEY)
        _, op = register(self.conn, "dev-forever", other)
        resp, doc = poll(self.conn, "dev-ind", op["operationId"], tok)
        self.assert_error(resp, doc, 404, "OperationNotFound")
        resp, doc = call(self.conn, "PUT", f"/0neWRONG00/registrations/dev-ind/register?{API}",
                         {"registrationId": "dev-ind"}, tok)
        self.assert_error(resp, doc, 404, "IdScopeNotFound")

    def test_bad_requests(self):
        tok = sdk_token("dev-ind", IND_KEY)
        path = f"/{SCOPE}/registrations/dev-ind/register?{API}"
        for body in (b"{nope", b"[1]", {"registrationId": "someone-else"}, {"payload": 1},
                     {"registrationId": "dev-ind", "modelId": 5}):
            resp, doc = call(self.conn, "PUT", path, body, tok)
            self.assert_error(resp, doc, 400, "BadRequest")
        resp, doc = call(self.conn, "GET", path, token=tok)
        self.assertEqual(resp.status, 405)
        self.assertEqual(resp.getheader("Allow"), "PUT")
        resp, doc = call(self.conn, "PUT", f"/{SCOPE}/registrations/dev-ind/elsewhere?{API}",
                         {"registrationId": "dev-ind"}, tok)
        self.assertEqual(resp.status, 404)

    def test_model_id_and_keep_alive(self):
        tok = sdk_token("dev-ind", IND_KEY)
        self.conn.connect()
        sock = self.conn.sock
        resp, doc = register(self.conn, "dev-ind", tok, payload={"a": 1}, model_id="dtmi:x:y;1")
        self.assertEqual(resp.status, 202)
        rows = base.sqlite3.connect(str(self.ep.db)).execute(
            "SELECT model_id, payload FROM dps_operations WHERE operation_id=?",
            (doc["operationId"],)).fetchall()
        self.assertEqual(rows, [("dtmi:x:y;1", '{"a": 1}')])
        self.assertIs(self.conn.sock, sock)


class DpsFaultTests(unittest.TestCase):
    def tearDown(self):
        base.close_connections()
        for ep in getattr(self, "eps", []):
            ep.stop()

    def start(self, *args):
        ep = base.Endpoint("--id-scope", SCOPE, "--dps-polls", "0", *args,
                           env={"AZURE_ENDPOINT_DPS_ENROLLMENTS": f"dev-ind={IND_KEY}",
                                "AZURE_ENDPOINT_DPS_GROUPS": ""})
        self.eps = getattr(self, "eps", []) + [ep]
        return ep

    def operations(self, ep):
        return base.sqlite3.connect(str(ep.db)).execute(
            "SELECT registration_id, status FROM dps_operations").fetchall()

    def test_503_and_429_change_nothing(self):
        for flag, status in (("--fail-503", 503), ("--fail-429", 429)):
            ep = self.start(flag, "1", "--retry-after", "4")
            conn = ep.connect(DPS)
            resp, doc = register(conn, "dev-ind", sdk_token("dev-ind", IND_KEY))
            self.assertEqual(resp.status, status)
            self.assertEqual(resp.getheader("Retry-After"), "4")
            self.assertEqual(doc["errorCode"] // 1000, status)
            self.assertEqual(self.operations(ep), [])

    def test_drop_response_after_the_operation_exists(self):
        ep = self.start("--drop-response", "1")
        conn = ep.connect(DPS)
        with self.assertRaises((http.client.HTTPException, OSError)):
            register(conn, "dev-ind", sdk_token("dev-ind", IND_KEY))
        self.assertEqual(self.operations(ep), [("dev-ind", "assigning")])

    def test_chunked_slow_and_unknown_registration(self):
        ep = self.start("--chunked", "--slow", "0.1")
        conn = ep.connect(DPS)
        tok = sdk_token("dev-ind", IND_KEY)
        t0 = time.monotonic()
        resp, doc = register(conn, "dev-ind", tok)
        self.assertGreaterEqual(time.monotonic() - t0, 0.1)
        self.assertEqual(resp.getheader("Transfer-Encoding"), "chunked")
        resp, doc = poll(conn, "dev-ind", doc["operationId"], tok)      # --dps-polls 0
        self.assertEqual((resp.status, doc["status"]), (200, "assigned"))
        # no group here: an unknown registration id is 404
        resp, doc = register(conn, "nobody", sdk_token("nobody", IND_KEY))
        self.assertEqual(resp.status, 404)
        self.assertIn("DeviceRegistrationNotFound", doc["message"])


if __name__ == "__main__":
    unittest.main()
