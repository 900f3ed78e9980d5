"""examples/send_telemetry.py as a user runs it (`make demo`'s flow): the
local endpoint over TLS, then every reading stored exactly once; and
examples/device_token.py: the per-device token it prints is the one the
Azure Event Hubs SDK makes (azure-eventhub, the oracle), and the key is not
printed.

Run: python -m unittest tests/e2e/test_example.py
     (MICROPYTHON=..., and MICROPYPATH for a build with nothing frozen)
"""

import os
import sqlite3
import subprocess
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MICROPYTHON = os.environ.get("MICROPYTHON", os.path.join(ROOT, "build", "unix", "micropython"))


class SendTelemetryExample(unittest.TestCase):
    def test_every_reading_stored_once(self):
        readings = 120
        out_dir = os.path.join(ROOT, "build", "example-test", os.path.basename(os.path.dirname(MICROPYTHON)))
        env = dict(os.environ, MICROPYTHON=MICROPYTHON, AZURE_READINGS=str(readings), DEMO_DIR=out_dir)
        r = subprocess.run([os.path.join(ROOT, "tools", "demo.sh")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("done: %d events" % readings, r.stdout)
        db = sqlite3.connect(os.path.join(out_dir, "events.sqlite3"))
        bodies = [b for (b,) in db.execute("SELECT body FROM events WHERE entity = 'telemetry'")]
        self.assertEqual(len(bodies), readings)
        self.assertEqual(len(set(bodies)), readings)


class DeviceTokenExample(unittest.TestCase):
    def test_token_is_the_sdks(self):
        from azure.eventhub._pyamqp.utils import generate_sas_token

        key = "ZXhhbXBsZS10ZXN0LWtleS1ub3QtYS1yZWFsLXNlY3JldC0wMQ=="
        cs = ("Endpoint=sb://fleet-ns.servicebus.windows.net/;SharedAccessKeyName=Devices;"
              "SharedAccessKey=%s;EntityPath=readings" % key)
        env = dict(os.environ, AZURE_CONNECTION_STRING=cs, AZURE_DEVICE="boiler-7")
        r = subprocess.run([MICROPYTHON, os.path.join(ROOT, "examples", "device_token.py")], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn(key, r.stdout + r.stderr)
        out = dict(line.split(":", 1) for line in r.stdout.splitlines() if ":" in line)
        token = out["token     "].strip()
        uri = "https://fleet-ns.servicebus.windows.net/readings/publishers/boiler-7"
        self.assertEqual(out["audience  "].strip(), uri)
        se = int(token.rsplit("&se=", 1)[1].split("&", 1)[0])
        self.assertLess(abs(se - (time.time() + 3600)), 120)  # TTL = 3600 from now
        self.assertEqual(token, generate_sas_token(uri, "Devices", key, se))


if __name__ == "__main__":
    unittest.main()
