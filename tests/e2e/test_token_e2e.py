"""End to end over TLS: devices that hold a token made elsewhere, never the
key (issue #18), on the MicroPython build in $MICROPYTHON (the full unix
build, or unix-wipy with the board's .mpy files through MICROPYPATH).

The tokens are made here the way other tools make them (Python's hmac, the
.NET "signature generator" style of the post: lower-case escapes, `sr` with
`/messages`), not by the project's signer; the endpoint checks them with
its own HMAC and stores what it accepted in SQLite.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_send_e2e import DEV_KEY, EH_KEY, HUB, MICROPYTHON, NS, Endpoint  # noqa: E402

MP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mp_token.py")


def token(uri, key, expiry, key_name=None, lower=False):
    """A SAS token as an independent tool makes it: sr is signed exactly as sent."""
    sr = quote(uri, safe="")
    if lower:  # .NET HttpUtility.UrlEncode: lower-case hex
        sr = re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), sr)
    mac = hmac.new(key, ("%s\n%d" % (sr, expiry)).encode(), hashlib.sha256).digest()
    t = "SharedAccessSignature sr=%s&sig=%s&se=%d" % (sr, quote(base64.b64encode(mac).decode(), safe=""), expiry)
    return t + ("&skn=" + key_name if key_name else "")


def run(ep, scenario, cs, body="", client="EventHubClient", tok=None):
    env = dict(os.environ, E2E_ENDPOINT="127.0.0.1:%d" % ep.port, E2E_CA=os.path.join(ep.certs, "ca.der"),
               E2E_CS=cs, E2E_CLIENT=client, E2E_TOKEN=tok or "")
    p = subprocess.run([MICROPYTHON, MP, scenario, body], env=env, capture_output=True, text=True, timeout=120)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise AssertionError("no result from %s (rc %d):\n%s\n%s" % (scenario, p.returncode, p.stdout, p.stderr))


EH_KEY_B = EH_KEY.encode()  # Event Hubs / Service Bus sign with the key text's bytes
EP = "Endpoint=sb://%s/;" % NS


def eh_cs(tok):
    return EP + "SharedAccessSignature=" + tok + ";EntityPath=telemetry"


class GivenTokenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ep = Endpoint(cls.tmp.name)
        cls.se = int(time.time()) + 7 * 86400

    @classmethod
    def tearDownClass(cls):
        cls.ep.stop()
        cls.tmp.cleanup()

    def stored(self, body):
        return self.ep.rows("body = ?", (body.encode(),))

    def test_publisher_token_from_another_tool(self):
        # The post's token: lower-case escapes, /messages in sr, skn; no publisher= passed.
        uri = "https://%s/telemetry/publishers/wipy-kitchen-01/messages" % NS
        tok = token(uri, EH_KEY_B, self.se, "DataProducer", lower=True)
        self.assertIn("%2fpublishers%2f", tok)
        r = run(self.ep, "send", eh_cs(tok), "pub-lower")
        self.assertEqual(r.get("status"), 201, r)
        self.assertEqual(r["batch"], 201)
        self.assertEqual(r["path"], "telemetry/publishers/wipy-kitchen-01/messages")
        self.assertFalse(r["key_held"])
        self.assertEqual(r["expires"], self.se)
        self.assertEqual((r["renewals"], r["connects"]), (0, 1))
        for b in ("pub-lower", "pub-lower-b1", "pub-lower-b2"):
            rows = self.stored(b)
            self.assertEqual(len(rows), 1, b)
            self.assertEqual(rows[0]["publisher"], "wipy-kitchen-01")

    def test_upper_case_token_without_messages_and_token_keyword(self):
        uri = "https://%s/telemetry/publishers/wipy-kitchen-02" % NS
        tok = token(uri, EH_KEY_B, self.se, "DataProducer")
        r = run(self.ep, "send", EP + "EntityPath=telemetry", "pub-upper", tok=tok)
        self.assertEqual(r.get("status"), 201, r)
        self.assertEqual(self.stored("pub-upper")[0]["publisher"], "wipy-kitchen-02")

    def test_hub_token(self):
        tok = token("https://%s/telemetry" % NS, EH_KEY_B, self.se, "DataProducer")
        r = run(self.ep, "send", eh_cs(tok), "hub-token")
        self.assertEqual(r.get("status"), 201, r)
        self.assertEqual(r["path"], "telemetry/messages")

    def test_service_bus(self):
        tok = token("https://%s/orders" % NS, EH_KEY_B, self.se, "DataProducer", lower=True)
        r = run(self.ep, "send", EP + "SharedAccessSignature=" + tok + ";EntityPath=orders", "sb-token",
                client="ServiceBusClient")
        self.assertEqual(r.get("status"), 201, r)
        self.assertEqual(self.stored("sb-token")[0]["entity"], "orders")

    def test_iot_hub(self):
        tok = token("%s/devices/dev1" % HUB, base64.b64decode(DEV_KEY), self.se)
        cs = "HostName=%s;DeviceId=dev1;SharedAccessSignature=%s" % (HUB, tok)
        r = run(self.ep, "send", cs, "iot-token", client="IoTHubClient")
        self.assertEqual(r.get("status"), 204, r)
        self.assertFalse(r["key_held"])
        self.assertEqual(self.stored("iot-token")[0]["device_id"], "dev1")

    def test_refused_token_is_final_after_one_request(self):
        # A token the service refuses (here: signed with another key): SendError(401)
        # with the service's text after one request, no retry storm, nothing stored.
        uri = "https://%s/telemetry/publishers/wipy-kitchen-03" % NS
        tok = token(uri, b"not-the-key", self.se, "DataProducer")
        r = run(self.ep, "send", eh_cs(tok), "never-stored-401")
        self.assertEqual(r.get("error"), 401, r)
        self.assertIn("InvalidSignature", r["text"])
        self.assertEqual(r["requests"], 1)
        self.assertEqual(self.stored("never-stored-401"), [])

    def test_expired_by_the_device_clock_then_set_token(self):
        uri = "https://%s/telemetry/publishers/wipy-kitchen-04" % NS
        old = token(uri, EH_KEY_B, int(time.time()) - 60, "DataProducer")
        new = token(uri, EH_KEY_B, self.se, "DataProducer")
        r = run(self.ep, "expired_then_set", eh_cs(old), "after-set-token", tok=new)
        self.assertEqual(r.get("error"), 401, r)
        self.assertIn("expired", r["text"])
        self.assertEqual((r["requests_before"], r["connects_before"]), (0, 0), "nothing was sent")
        self.assertEqual(r["after"], {"status": 201})
        self.assertEqual(r["expires"], self.se)
        self.assertEqual(len(self.stored("after-set-token")), 1)
        self.assertEqual(self.stored("never stored"), [])


if __name__ == "__main__":
    unittest.main()
