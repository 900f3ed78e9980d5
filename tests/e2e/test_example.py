"""examples/send_telemetry.py as a user runs it (`make demo`'s flow): the
local endpoint over TLS, then every reading stored exactly once.

Run: python -m unittest tests/e2e/test_example.py
     (MICROPYTHON=..., and MICROPYPATH for a build with nothing frozen)
"""

import os
import sqlite3
import subprocess
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


if __name__ == "__main__":
    unittest.main()
