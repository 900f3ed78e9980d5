"""End to end: the MicroPython unix build sends over real TLS to the local
endpoint (tools/azure_endpoint.py), which validates tokens independently and
stores events in SQLite; the tests then read the database.

Run: python -m unittest tests/e2e/test_send_e2e.py  (MICROPYTHON=build/unix/micropython)
"""

import base64
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MICROPYTHON = os.environ.get("MICROPYTHON", os.path.join(ROOT, "build", "unix", "micropython"))
ENDPOINT = os.path.join(ROOT, "tools", "azure_endpoint.py")
MP_CLIENT = os.path.join(ROOT, "tests", "e2e", "mp_client.py")

NS = "demo-ns.servicebus.windows.net"
HUB = "demo-hub.azure-devices.net"
EH_KEY = "c2VjcmV0LWtleS1mb3ItZTJlLXRlc3RzLTAxMjM0NTY3ODk="
DEV_KEY = base64.b64encode(b"device-key-for-e2e-tests-32bytes").decode()


class Endpoint:
    """The local endpoint as a subprocess, on a free port, with its own db."""

    def __init__(self, tmp, *extra, certs=None):
        self.db = os.path.join(tmp, "events.sqlite3")
        self.certs = certs or os.path.join(tmp, "certs")
        env = dict(os.environ, AZURE_ENDPOINT_KEY=EH_KEY, AZURE_ENDPOINT_DEVICES="dev1=" + DEV_KEY)
        # Its output goes to a file, not a pipe nobody reads (a full pipe
        # would block the endpoint after a few hundred requests).
        self.log_path = os.path.join(tmp, "endpoint-%d.log" % id(self))
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, ENDPOINT, "--port", "0", "--db", self.db, "--certs", self.certs,
             "--reset-db", "--eventhub", "telemetry", "--queue", "orders", *extra],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, text=True)
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and self.proc.poll() is None:
            with open(self.log_path) as f:
                line = next((l for l in f if l.startswith("READY port=")), "")
            if line:
                break
            time.sleep(0.05)
        if not line:
            self.proc.kill()
            raise RuntimeError("endpoint did not start: %s" % open(self.log_path).read())
        self.port = int(line.split("=", 1)[1])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    def rows(self, where="1=1", args=()):
        con = sqlite3.connect(self.db)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute("SELECT * FROM events WHERE %s ORDER BY id" % where, args)]
        finally:
            con.close()


def run_mp(endpoint, scenario, ca=None, n=0, timeout=300):
    env = dict(os.environ,
               E2E_ENDPOINT="127.0.0.1:%d" % endpoint.port,
               E2E_CA=ca or os.path.join(endpoint.certs, "ca.der"),
               E2E_EH_CS="Endpoint=sb://%s/;SharedAccessKeyName=DataProducer;SharedAccessKey=%s;EntityPath=telemetry" % (NS, EH_KEY),
               E2E_SB_CS="Endpoint=sb://%s/;SharedAccessKeyName=DataProducer;SharedAccessKey=%s;EntityPath=orders" % (NS, EH_KEY),
               E2E_IOT_CS="HostName=%s;DeviceId=dev1;SharedAccessKey=%s" % (HUB, DEV_KEY),
               E2E_N=str(n))
    p = subprocess.run([MICROPYTHON, MP_CLIENT, scenario], env=env, capture_output=True, text=True,
                       timeout=timeout, cwd=os.path.dirname(MP_CLIENT))
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise AssertionError("no result from %s (rc %d):\n%s\n%s" % (scenario, p.returncode, p.stdout, p.stderr))


class SendTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ep = Endpoint(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.ep.stop()
        cls.tmp.cleanup()

    def test_every_target(self):
        r = run_mp(self.ep, "basic")
        for k in ("eh_single", "eh_batch", "eh_publisher", "eh_publisher_batch", "eh_partition",
                  "sb_single", "sb_batch"):
            self.assertEqual(r[k], 201, k)
        self.assertEqual(r["iot_single"], 204)
        self.assertEqual(r["iot_batch"], 204)
        self.assertEqual(r["connects"], 1, "keep-alive: one connection for all IoT sends")

        def one(body):
            rows = self.ep.rows("body = ?", (body,))
            self.assertEqual(len(rows), 1, body)
            return rows[0]

        row = one(b"eh-single")
        self.assertEqual((row["service"], row["entity"], row["partition_key"]), ("eventhub", "telemetry", "pk1"))
        self.assertEqual(json.loads(row["properties"]), {"Alert": "Strong Wind", "n": "7"})
        self.assertEqual(one(b"eh-b2")["partition_key"], "pk2")
        self.assertEqual(json.loads(one(b"eh-b2")["properties"]), {"k": "v"})
        one('eh-b3 "quoted"\n\u00e9'.encode())
        self.assertEqual(one(b"eh-publisher")["publisher"], "dev-7")
        self.assertEqual(one(b"eh-pb2")["publisher"], "dev-7")
        self.assertEqual(one(b"eh-partition")["partition_id"], "1")
        row = one(b"sb-single")
        self.assertEqual((row["service"], row["entity"]), ("servicebus", "orders"))
        self.assertEqual(json.loads(row["properties"]), {"Label": "x"})
        one(b"sb-b2")
        row = one(b"\x00\x01iot-binary")
        self.assertEqual((row["service"], row["device_id"]), ("iothub", "dev1"))
        self.assertEqual(json.loads(row["properties"]), {"temp": "21.5"})
        self.assertEqual(json.loads(one(b"iot-b2")["properties"]), {"p": "q"})

    def test_token_renewed_across_expiry(self):
        r = run_mp(self.ep, "renewal")
        self.assertEqual((r["a"], r["b"]), (201, 201))
        self.assertEqual(r["renewals"], 2)
        self.assertTrue(r["new_token"])
        self.assertEqual(len(self.ep.rows("publisher = 'renew'")), 2)

    def test_expired_token_renewed_after_401(self):
        r = run_mp(self.ep, "expired_token_renewed_on_401")
        self.assertEqual(r["status"], 201)
        self.assertEqual(r["renewals"], 2)
        self.assertEqual(r["requests"], 3)  # warm-up, 401, retry
        self.assertEqual(len(self.ep.rows("body = ?", (b"after-401",))), 1)

    def test_wrong_key_is_a_clear_401(self):
        r = run_mp(self.ep, "wrong_key")
        self.assertTrue(r["raised"])
        self.assertEqual(r["status"], 401)
        self.assertIn("InvalidSignature", r["text"])
        self.assertTrue(r["is_oserror"])
        self.assertEqual(r["requests"], 2, "one fresh token, then give up: no retry storm")
        self.assertEqual(self.ep.rows("body = ?", (b"never stored",)), [])

    def test_certificate_from_another_ca_is_refused(self):
        other = os.path.join(self.tmp.name, "other-certs")
        subprocess.run([sys.executable, ENDPOINT, "--gen-certs-only", "--certs", other,
                        "--ca-name", "Some other CA"], check=True, capture_output=True)
        r = run_mp(self.ep, "other_ca", ca=os.path.join(other, "ca.der"))
        self.assertTrue(r["raised"])
        self.assertIn("TLS handshake", r["message"])
        self.assertIn("not signed by a CA", r["message"])
        self.assertEqual(self.ep.rows("body = ?", (b"never stored",)), [])
        # Only the loudly named opt-out connects to it.
        r = run_mp(self.ep, "other_ca_insecure", ca=os.path.join(other, "ca.der"))
        self.assertEqual(r["status"], 201)


class FaultTest(unittest.TestCase):
    """500+ events through 503s, dropped requests and responses, slowness and
    chunked answers: every event stored, duplicates counted."""

    N = 520

    def test_no_event_lost(self):
        with tempfile.TemporaryDirectory() as tmp:
            ep = Endpoint(tmp, "--seed", "7", "--fail-503", "0.08", "--retry-after", "1",
                          "--drop-request", "0.05", "--drop-response", "0.05",
                          "--slow", "0.3", "--slow-p", "0.05", "--chunked")
            try:
                r = run_mp(ep, "stream", n=self.N, timeout=600)
                rows = ep.rows("publisher = 'stream'")
            finally:
                ep.stop()
        self.assertEqual(r["failed"], [], "no send gave up")
        seqs = [json.loads(row["body"])["seq"] for row in rows]
        missing = sorted(set(range(self.N)) - set(seqs))
        duplicates = len(seqs) - len(set(seqs))
        s = r["stats"]
        print("\nfault injection: %d events sent, %d stored rows, %d missing, %d duplicates "
              "(at-least-once after dropped responses); %d requests, %d retries, %d connections"
              % (self.N, len(seqs), len(missing), duplicates, s["requests"], s["retries"], s["connects"]),
              file=sys.stderr)
        self.assertEqual(missing, [])
        self.assertEqual(s["sent"], self.N)
        self.assertGreater(s["retries"], 0, "faults were injected")


if __name__ == "__main__":
    unittest.main()
