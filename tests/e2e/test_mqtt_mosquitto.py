"""azure.IoTHubMQTTClient against a stock mosquitto broker (Debian's), over
TLS with a CA made here: plain MQTT 3.1.1 behaviour from an independent
implementation. QoS 1 publishes acknowledged (single and a batch in flight
at once), keep-alive pings holding an idle connection open (keep-alive 2 s:
mosquitto drops a client after 3 s of silence), and subscription delivery
(a cloud-to-device topic and a method request, published by paho-mqtt).

Run: python -m unittest tests/e2e/test_mqtt_mosquitto.py
     (MICROPYTHON=..., and MICROPYPATH for a build with nothing frozen)
"""

import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from endpoint.certs import ensure_certs  # noqa: E402

MICROPYTHON = os.environ.get("MICROPYTHON", os.path.join(ROOT, "build", "unix", "micropython"))
MP = os.path.join(ROOT, "tests", "e2e", "mp_mqtt.py")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
HUB = "demo-hub.azure-devices.net"
KEY = "ZGV2aWNlLWtleS1mb3ItbW9zcXVpdHRvLXRlc3RzLTAx"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(os.path.exists(MOSQUITTO), "mosquitto is not installed (tools/deps.sh installs it)")
class MosquittoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        certs = Path(cls.tmp.name) / "certs"
        ensure_certs(certs, [HUB, "localhost", "127.0.0.1"])
        cls.ca_pem, cls.ca_der = str(certs / "ca.pem"), str(certs / "ca.der")
        cls.port = free_port()
        conf = os.path.join(cls.tmp.name, "mosquitto.conf")
        with open(conf, "w") as f:
            # user: run as whoever runs the test (as root, mosquitto would
            # otherwise switch to its own user, who cannot read the key).
            f.write("user %s\nlistener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "cafile %s\ncertfile %s\nkeyfile %s\ntls_version tlsv1.2\n"
                    % (getpass.getuser(), cls.port, cls.ca_pem, certs / "server.pem", certs / "server.key"))
        cls.log = open(os.path.join(cls.tmp.name, "mosquitto.log"), "w")
        cls.proc = subprocess.Popen([MOSQUITTO, "-c", conf, "-v"], stdout=cls.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cls.port), 0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("mosquitto did not start")

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)
        cls.log.close()
        cls.tmp.cleanup()

    def test_qos1_keepalive_subscriptions(self):
        import paho.mqtt.client as mqtt

        seen = []
        host = mqtt.Client(client_id="service", clean_session=True)
        host.tls_set(ca_certs=self.ca_pem)
        host.on_message = lambda c, u, m: seen.append((m.topic, m.payload, m.qos))
        host.connect("127.0.0.1", self.port, 30)
        host.subscribe([("devices/dev1/messages/events/#", 1), ("$iothub/methods/res/#", 0)])
        host.loop_start()
        try:
            time.sleep(0.3)
            env = dict(os.environ, E2E_ENDPOINT="127.0.0.1:%d" % self.port, E2E_CA=self.ca_der,
                       E2E_IOT_CS="HostName=%s;DeviceId=dev1;SharedAccessKey=%s" % (HUB, KEY))
            p = subprocess.Popen([MICROPYTHON, MP, "mosquitto"], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            out = []
            deadline = time.monotonic() + 30
            for line in p.stdout:
                out.append(line)
                if line.startswith("READY"):
                    break
                self.assertLess(time.monotonic(), deadline)
            host.publish("devices/dev1/messages/devicebound/%24.mid=c2d-1&color=blue%20green", b"to the device", 1)
            host.publish("$iothub/methods/POST/ping/?$rid=r1", b'{"n":1}', 0)
            rest, err = p.communicate(timeout=60)
            out.append(rest)
            text = "".join(out)
            self.assertEqual(p.returncode, 0, text + err)
            r = json.loads(next(l for l in text.splitlines() if l.startswith("RESULT "))[7:])
            time.sleep(0.3)
        finally:
            host.loop_stop()
            host.disconnect()
        self.assertEqual(r["batch"], 20)
        self.assertEqual(r["sent"], 22, r)  # hello, 20, after idle: each PUBACKed
        self.assertEqual(r["connects"], 1, "the idle connection was kept open by pings")
        self.assertGreaterEqual(r["pings"], 2)
        self.assertEqual(r["c2d"], [["to the device", "c2d-1", {"color": "blue green"}]])
        self.assertEqual(r["methods"], [["ping", {"n": 1}]])
        self.assertEqual(r["errors"], [])
        topics = [t for t, _, _ in seen]
        self.assertIn("devices/dev1/messages/events/k=v", topics)
        bodies = [b for t, b, _ in seen if t == "devices/dev1/messages/events/"]
        self.assertEqual(bodies, [b"b%d" % i for i in range(20)] + [b"after idle"])
        answer = [(t, json.loads(b)) for t, b, _ in seen if t.startswith("$iothub/methods/res/")]
        self.assertEqual(answer, [("$iothub/methods/res/200/?$rid=r1", {"echo": {"n": 1}, "name": "ping"})])


if __name__ == "__main__":
    unittest.main()
