"""End to end over TLS: the seed post's credential model with revocation
(issue #18). The owner's connection string stays on the host; the host
command tools/device_tokens.py (on the MicroPython build in $MICROPYTHON:
the crate's signer) makes a publisher token per device; three devices
(MicroPython, tests/e2e/mp_token.py) send with their token connection string
only; one publisher is revoked (the endpoint's CLI, and the Event Hubs REST
call with a Manage token): its send raises SendError(401) naming the
revocation after exactly one request (the endpoint saw exactly one), nothing
of it is stored, the other two keep sending; restored, it sends again.
Then `make demo-seed` (tools/demo_seed.sh, examples/send_telemetry.py on
three token-only devices) is run and checked.

Run: MICROPYTHON=build/unix/micropython python -m unittest tests/e2e/test_revocation_e2e.py
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_send_e2e import EH_KEY, MICROPYTHON, NS, ROOT, Endpoint  # noqa: E402
from test_token_e2e import run as run_device  # noqa: E402  (tests/e2e/mp_token.py)

TOOL = os.path.join(ROOT, "tools", "device_tokens.py")
ENDPOINT = os.path.join(ROOT, "tools", "azure_endpoint.py")
DEVICES = ["wipy-kitchen-01", "wipy-kitchen-02", "wipy-kitchen-03"]
STOLEN = "wipy-kitchen-02"
MANAGE_KEY = "TWFuYWdlLWtleS1mb3ItdGhlLWUyZS1yZXZvY2F0aW9uLXRlc3Q="


def manage_token(se):
    """The namespace's Manage policy token, as Azure's REST examples sign it
    (sr = the namespace root), made with Python's hmac, not the project's signer."""
    sr = quote("https://%s/" % NS, safe="")
    mac = hmac.new(MANAGE_KEY.encode(), ("%s\n%d" % (sr, se)).encode(), hashlib.sha256).digest()
    return "SharedAccessSignature sr=%s&sig=%s&se=%d&skn=RootManageSharedAccessKey" % (
        sr, quote(base64.b64encode(mac).decode(), safe=""), se)


class RevocationFlow(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        old = os.environ.get("AZURE_ENDPOINT_MANAGE_KEY")
        os.environ["AZURE_ENDPOINT_MANAGE_KEY"] = MANAGE_KEY
        try:
            cls.ep = Endpoint(cls.tmp.name)
        finally:
            if old is None:
                os.environ.pop("AZURE_ENDPOINT_MANAGE_KEY")
            else:
                os.environ["AZURE_ENDPOINT_MANAGE_KEY"] = old
        owner = ("Endpoint=sb://%s/;SharedAccessKeyName=DataProducer;SharedAccessKey=%s;"
                 "EntityPath=telemetry" % (NS, EH_KEY))
        r = subprocess.run([MICROPYTHON, TOOL, "--days", "365", "--json", "--publisher"] + DEVICES,
                           env=dict(os.environ, AZURE_CONNECTION_STRING=owner), capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert EH_KEY not in r.stdout
        cls.tokens = {t["name"]: t for t in map(json.loads, r.stdout.splitlines())}

    @classmethod
    def tearDownClass(cls):
        cls.ep.stop()
        cls.tmp.cleanup()

    def send(self, device, body):
        return run_device(self.ep, "send", self.tokens[device]["connection_string"], body)

    def refusals(self, device):
        with open(self.ep.log_path) as f:
            return sum(1 for line in f if line.startswith(
                "rejected 401 eventhub hub=telemetry publisher=%s:" % device))

    def stored(self, device, prefix):
        return [r for r in self.ep.rows("publisher = ?", (device,))
                if bytes(r["body"]).startswith(prefix.encode())]

    def cli(self, *args):
        r = subprocess.run([sys.executable, ENDPOINT, args[0], "--db", self.ep.db, "--hub", "telemetry",
                            "--publisher", args[1]], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def rest(self, method, device):
        ctx = ssl.create_default_context(cafile=os.path.join(self.ep.certs, "ca.pem"))
        conn = http.client.HTTPSConnection(NS, self.ep.port, context=ctx, timeout=30)
        conn.sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.ep.port), 30),
                                    server_hostname=NS)
        try:
            conn.request(method, "/telemetry/revokedpublishers/%s?timeout=60&api-version=2014-01" % device,
                         headers={"Authorization": manage_token(int(time.time()) + 600)})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def all_send(self, tag, refused=()):
        """Every device sends (a single event, then a two-event batch); the
        refused ones get SendError(401) after exactly one request."""
        for device in DEVICES:
            body = "%s-%s" % (tag, device)
            before = self.refusals(device)
            r = self.send(device, body)
            self.assertFalse(r.get("key_held"), r)
            if device in refused:
                self.assertEqual(r.get("error"), 401, r)
                self.assertIn("PublisherRevoked", r["text"])
                self.assertIn("publisher '%s' of event hub 'telemetry' is revoked" % device, r["text"])
                self.assertEqual(r["requests"], 1, r)
                self.assertEqual(self.refusals(device), before + 1, "the endpoint saw one request")
                self.assertEqual(self.stored(device, body), [])
            else:
                self.assertEqual((r.get("status"), r.get("batch")), (201, 201), r)
                self.assertEqual(r["path"], "telemetry/publishers/%s/messages" % device)
                self.assertEqual(len(self.stored(device, body)), 3)
                self.assertEqual(self.refusals(device), before)

    def test_revoke_one_device_the_others_go_on(self):
        self.all_send("round1")
        # A device lost: the owner revokes its publisher with the endpoint's CLI.
        self.assertIn("revoked publisher hub=telemetry publisher=%s" % STOLEN,
                      self.cli("revoke-publisher", STOLEN))
        self.all_send("round2", refused=[STOLEN])
        self.assertIn("restored", self.cli("restore-publisher", STOLEN))
        self.all_send("round3")
        # The same through the REST API Azure documents, with the Manage policy's token.
        self.assertEqual(self.rest("PUT", STOLEN)[0], 201)
        self.assertEqual(self.rest("PUT", STOLEN)[0], 409)
        self.all_send("round4", refused=[STOLEN])
        self.assertEqual(self.rest("DELETE", STOLEN), (200, b""))
        self.all_send("round5")


class DemoSeed(unittest.TestCase):
    def test_demo_seed(self):
        out_dir = os.path.join(ROOT, "build", "demo-seed-test", os.path.basename(os.path.dirname(MICROPYTHON)))
        env = dict(os.environ, MICROPYTHON=MICROPYTHON, DEMO_DIR=out_dir, AZURE_READINGS="20",
                   PY=sys.executable)
        r = subprocess.run([os.path.join(ROOT, "tools", "demo_seed.sh")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = r.stdout
        self.assertEqual(out.count("done: 20 events in 2 requests"), 5, out)     # 01, 03 twice; 02 once
        self.assertIn("first event not sent (HTTP 401): <Error><Code>401</Code><Detail>PublisherRevoked: "
                      "publisher '%s' of event hub 'telemetry' is revoked" % STOLEN, out)
        self.assertIn("done: 0 events in 2 requests", out)
        self.assertIn("outbox: 20 delivered", out)
        self.assertIn("done: 40 events in 3 requests", out)
        for name in DEVICES:  # the files for the boards hold a token, no key
            with open(os.path.join(out_dir, "flash", name + ".txt")) as f:
                line = f.read().strip()
            self.assertRegex(line, r"^Endpoint=sb://%s/;SharedAccessSignature=SharedAccessSignature "
                                   r"sr=https%%3A%%2F%%2F%s%%2Ftelemetry%%2Fpublishers%%2F%s&sig=[^&;]+"
                                   r"&se=\d+&skn=DataProducer;EntityPath=telemetry$"
                             % (re.escape(NS), re.escape(NS), name))
            self.assertNotIn("SharedAccessKey=", line)
        db = sqlite3.connect(os.path.join(out_dir, "events.sqlite3"))
        # (the stolen device's 20 refused readings once, from its outbox, after the restore)
        counts = dict(db.execute("SELECT publisher, COUNT(*) FROM events GROUP BY publisher"))
        self.assertEqual(counts, {"wipy-kitchen-01": 40, "wipy-kitchen-02": 60, "wipy-kitchen-03": 40})
        db.close()


if __name__ == "__main__":
    unittest.main()
