"""examples/iot_mqtt_device.py as a user runs it, against the local endpoint's
MQTT over TLS: the reporting interval comes from the twin's desired
properties (set before the device starts, then changed while it runs) and is
reported back, readings go through the outbox into the events table, a
cloud-to-device message is printed, and the `reboot` direct method is
answered and ends the run.

Run: python -m unittest tests/e2e/test_mqtt_example.py
     (MICROPYTHON=..., and MICROPYPATH for a build with nothing frozen)
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_send_e2e import DEV_KEY, HUB, MICROPYTHON, ROOT  # noqa: E402
from test_mqtt_e2e import MqttEndpoint  # noqa: E402

EXAMPLE = os.path.join(ROOT, "examples", "iot_mqtt_device.py")


class IotMqttDeviceExample(unittest.TestCase):
    example = EXAMPLE  # (tests/e2e/test_aio_example.py runs its asyncio sibling through this test)

    def test_twin_interval_method_outbox(self):
        with tempfile.TemporaryDirectory() as tmp:
            ep = MqttEndpoint(tmp)
            try:
                self._run(ep, tmp)
            finally:
                ep.stop()

    def _run(self, ep, tmp):
        rc, o, e = ep.cli("twin-desired", "--device", "dev1", "--json", '{"interval": 1}')
        self.assertEqual(rc, 0, o + e)
        env = dict(os.environ, AZURE_CONNECTION_STRING="HostName=%s;DeviceId=dev1;SharedAccessKey=%s" % (HUB, DEV_KEY),
                   AZURE_ENDPOINT="127.0.0.1:%d" % ep.mqtt_port, AZURE_CA_CERTS=os.path.join(ep.certs, "ca.der"),
                   AZURE_OUTBOX=os.path.join(tmp, "outbox"))
        p = subprocess.Popen([MICROPYTHON, self.example], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, cwd=ROOT)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True)
        reader.start()

        def wait_for(cond, what, secs=30):
            deadline = time.monotonic() + secs
            while not cond():
                if time.monotonic() > deadline or p.poll() is not None and not reader.is_alive():
                    p.kill()
                    self.fail("%s: not seen; output:\n%s" % (what, "".join(lines)))
                time.sleep(0.1)

        def readings():
            return [r for r in ep.rows() if r["body"].startswith(b'{"seq":')]

        try:
            wait_for(lambda: any("interval: 1 s" in l for l in lines), "the desired interval applied")
            wait_for(lambda: len(readings()) >= 3, "three readings stored")
            rc, o, e = ep.cli("twin-desired", "--device", "dev1", "--json", '{"interval": 2}')
            self.assertEqual(rc, 0, o + e)
            wait_for(lambda: any("interval: 2 s" in l for l in lines), "a desired patch while running")
            rc, o, e = ep.cli("c2d-send", "--device", "dev1", "--body", "hello device", "--message-id", "ex-1")
            self.assertEqual(rc, 0, o + e)
            wait_for(lambda: any("message ex-1" in l for l in lines), "the cloud-to-device message")
            rc, o, e = ep.cli("method-invoke", "--device", "dev1", "--name", "reboot", "--payload", "{}",
                              "--timeout", "20")
            self.assertEqual(rc, 0, o + e)
            self.assertEqual(json.loads(o), {"status": 200, "payload": {"rebooting": True}})
            p.wait(30)
            reader.join(5)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(10)
            reader.join(5)
            p.stdout.close()
        out = "".join(lines)
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("reboot requested", out)
        self.assertIn("done: ", out)
        seqs = sorted(json.loads(r["body"])["seq"] for r in readings())
        self.assertEqual(seqs, list(range(len(seqs))), "every reading, in order, none lost")
        rc, o, e = ep.cli("twin-get", "--device", "dev1")
        self.assertEqual(rc, 0, o + e)
        twin = json.loads(o)
        self.assertEqual(twin["reported"]["interval"], 2)
        self.assertEqual(twin["reported"]["fw"], "upy-azure")


if __name__ == "__main__":
    unittest.main()
