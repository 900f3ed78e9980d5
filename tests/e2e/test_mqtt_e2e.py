"""End to end over MQTT/TLS: azure.IoTHubMQTTClient (MicroPython, the build in
MICROPYTHON) against the local endpoint's IoT Hub MQTT listener
(tools/azure_endpoint.py --mqtt-port), which checks the SAS token, stores
telemetry in SQLite and keeps twins; the endpoint's CLI sends desired patches,
invokes methods and queues cloud-to-device messages while the device runs.
Faults: dropped publishes and PUBACKs (resent with DUP, nothing lost), refused
connections, token-expiry disconnects (the client renews first), throttled
twin requests, a wrong key (CONNACK 5, not retried). The asyncio client runs
the same flows where the build has asyncio.

Run: python -m unittest tests/e2e/test_mqtt_e2e.py
     (MICROPYTHON=..., and MICROPYPATH for a build with nothing frozen)
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_send_e2e import DEV_KEY, ENDPOINT, HUB, MICROPYTHON, Endpoint  # noqa: E402

MP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mp_mqtt.py")


class MqttEndpoint(Endpoint):
    def __init__(self, tmp, *extra):
        Endpoint.__init__(self, tmp, "--mqtt-port", "0", *extra)
        with open(self.log_path) as f:
            line = next(l for l in f if l.startswith("MQTT-READY port="))
        self.mqtt_port = int(line.split("=", 1)[1])

    def cli(self, *args):
        r = subprocess.run([sys.executable, ENDPOINT, args[0], "--db", self.db] + list(args[1:]),
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout, r.stderr


def start_mp(ep, scenario, n=0, key=DEV_KEY, **extra):
    env = dict(os.environ, E2E_ENDPOINT="127.0.0.1:%d" % ep.mqtt_port, E2E_CA=os.path.join(ep.certs, "ca.der"),
               E2E_HTTPS="127.0.0.1:%d" % ep.port, **extra,
               E2E_IOT_CS="HostName=%s;DeviceId=dev1;SharedAccessKey=%s" % (HUB, key), E2E_N=str(n))
    return subprocess.Popen([MICROPYTHON, MP, scenario], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=os.path.dirname(MP))


def wait_ready(p, timeout=60):
    out = []
    deadline = time.monotonic() + timeout
    for line in p.stdout:
        out.append(line)
        if line.startswith("READY"):
            return out
        if time.monotonic() > deadline:
            break
    raise AssertionError("no READY from the device:\n%s%s" % ("".join(out), p.stderr.read()))


def finish(p, out=(), timeout=120):
    rest, err = p.communicate(timeout=timeout)
    text = "".join(out) + rest
    for line in text.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise AssertionError("no result (rc %s):\n%s\n%s" % (p.returncode, text, err))


def run_mp(ep, scenario, n=0, key=DEV_KEY, **extra):
    return finish(start_mp(ep, scenario, n, key, **extra))


def has_asyncio():
    r = subprocess.run([MICROPYTHON, "-c", "import asyncio, azure.aio"], capture_output=True, text=True)
    return r.returncode == 0


class MqttFlows(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ep = MqttEndpoint(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.ep.stop()
        cls.tmp.cleanup()

    def _cloud_side(self, p):
        # While the device waits: a desired patch, a method, a C2D message.
        out = wait_ready(p)
        rc, o, e = self.ep.cli("twin-desired", "--device", "dev1", "--json", '{"interval": 5}')
        self.assertEqual(rc, 0, o + e)
        rc, o, e = self.ep.cli("method-invoke", "--device", "dev1", "--name", "reboot", "--payload",
                               '{"delay": 1}', "--timeout", "20")
        self.assertEqual(rc, 0, o + e)
        answer = json.loads(o)
        rc, o, e = self.ep.cli("c2d-send", "--device", "dev1", "--body", "to the device", "--property",
                               "color=blue green", "--message-id", "m-1")
        self.assertEqual(rc, 0, o + e)
        return out, answer

    def test_flows(self):
        p = start_mp(self.ep, "flows")
        out, answer = self._cloud_side(p)
        r = finish(p, out)
        self.assertEqual(answer["status"], 200)
        self.assertEqual(answer["payload"], {"echo": {"delay": 1}, "name": "reboot"})
        self.assertEqual(r["methods"], [["reboot", {"delay": 1}]])
        self.assertEqual(len(r["patches"]), 1)
        self.assertEqual(r["patches"][0]["interval"], 5)
        self.assertIn("$version", r["patches"][0])
        self.assertEqual(r["c2d"][0][0], "to the device")
        self.assertEqual(r["c2d"][0][1], "m-1")
        self.assertEqual(r["c2d"][0][2].get("color"), "blue green")
        self.assertEqual(r["batch"], 51)
        self.assertIn("$version", r["twin_desired"])
        self.assertEqual(r["twin_reported"]["fw"], "1.2.3")
        self.assertEqual(r["twin_reported"]["$version"], r["reported_version"])
        self.assertEqual(r["errors"], [])
        self.assertEqual(r["stats"]["connects"], 1)
        self.assertEqual(r["stats"]["sent"], 53)
        rows = self.ep.rows("body = ?", (b"mqtt-props",))
        self.assertEqual(len(rows), 1)
        props = json.loads(rows[0]["properties"])
        self.assertEqual((props.get("level"), props.get("n")), ("warn", "3"))
        bodies = [x["body"] for x in self.ep.rows() if x["body"].startswith(b"mqtt-b")]
        self.assertEqual(sorted(bodies), sorted([b"mqtt-b%d" % i for i in range(50)] + [b"mqtt-bp"]))
        self.assertEqual(len(self.ep.rows("body = ?", (b"mqtt-single",))), 1)

    def test_wrong_key_is_refused_once(self):
        r = run_mp(self.ep, "refused", key="d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktMDE=")
        self.assertIn(r["refused"], (4, 5))
        self.assertTrue(r["final"])
        self.assertEqual(r["connects"], 0)

    @unittest.skipUnless(has_asyncio(), "this build has no asyncio")
    def test_aio_flows(self):
        p = start_mp(self.ep, "aio_flows", n=25)
        out, answer = self._cloud_side(p)
        r = finish(p, out)
        self.assertEqual(answer["status"], 200)
        self.assertEqual(r["methods"], [["reboot", {"delay": 1}]])
        self.assertEqual(r["patches"][0]["interval"], 5)
        self.assertEqual(r["c2d"][0][:2], ["to the device", "m-1"])
        self.assertEqual(r["batch"], 20)
        self.assertEqual(r["stats"]["sent"], 120)
        bodies = {x["body"] for x in self.ep.rows() if x["body"].startswith(b"aio-")}
        self.assertEqual(len(bodies), 120)


    @unittest.skipUnless(has_asyncio(), "this build has no asyncio")
    def test_aio_tls_failures_named_as_blocking(self):
        # One TLS context builder and handshake naming (azure/_mbedtls.py)
        # for both drivers: an unreadable CA file and a server certificate
        # from another CA are the same TLSError, final, for both clients.
        other = os.path.join(self.tmp.name, "other-certs")
        if not os.path.isdir(other):
            subprocess.run([sys.executable, ENDPOINT, "--gen-certs-only", "--certs", other,
                            "--ca-name", "Some other CA"], check=True, capture_output=True)
        r = run_mp(self.ep, "aio_tls", E2E_OTHER_CA=os.path.join(other, "ca.der"))
        self.assertEqual(r["ok"], ["connected"])
        for k in ("missing", "other"):
            self.assertEqual(r[k][0], "TLSError", r)
            self.assertEqual(r[k][2], 0, "no connection counted")
            # (the blocking client names its connect address the same way)
            self.assertEqual(r[k][1], r["blocking_" + k][1], r)
        self.assertIn("cannot read ca_certs", r["missing"][1])
        self.assertIn("not signed by a CA", r["other"][1])


class MqttAioStorm(unittest.TestCase):
    @unittest.skipUnless(has_asyncio(), "this build has no asyncio")
    def test_1000_sends_through_a_drop_and_5s_refusal(self):
        # Issue #21: 4 tasks x 250 sends beside a 10 ms ticker; meanwhile the
        # endpoint drops the connection and refuses new ones for 5 s.
        with tempfile.TemporaryDirectory() as tmp:
            ep = MqttEndpoint(tmp)
            try:
                p = start_mp(ep, "aio_storm", n=250)
                out = wait_ready(p)
                rc, o, e = ep.cli("mqtt-drop", "--device", "dev1", "--refuse-seconds", "5")
                self.assertEqual(rc, 0, o + e)
                t0 = time.monotonic()
                r = finish(p, out)
                took = time.monotonic() - t0
                bodies = {x["body"] for x in ep.rows()}
            finally:
                ep.stop()
        self.assertEqual(r["failed"], [])
        missing = [b for b in (b"storm-%d-%d" % (k, i) for k in range(4) for i in range(250)) if b not in bodies]
        self.assertEqual(missing, [], "every event stored (duplicates allowed)")
        self.assertGreaterEqual(r["connects"], 2)
        self.assertGreater(took, 4, "the refusal was waited out")
        print("\naio storm: %d connects, %d resent, ticker gap max %d ms, p99 %d ms, largest besides the "
              "handshakes %d ms" % (r["connects"], r["resent"], r["gap_max"], r["gap_p99"],
                                   r["gap_max_besides_handshakes"]))
        # Loose on a shared machine (the goal is 50 ms): the loop was never held for long.
        self.assertLess(r["gap_max_besides_handshakes"], 250)


class MqttProvisioning(unittest.TestCase):
    def test_provision_transport_mqtt(self):
        # azure.provision(..., transport="mqtt"): DPS over HTTPS, then an IoTHubMQTTClient.
        group_key = "ZW5yb2xsbWVudC1ncm91cC1rZXktZm9yLW1xdHQtdGVzdHMtMDEyMw=="
        os.environ["AZURE_ENDPOINT_DPS_GROUPS"] = "fleet=" + group_key
        try:
            with tempfile.TemporaryDirectory() as tmp:
                ep = MqttEndpoint(tmp, "--id-scope", "0ne00000A0A", "--dps-polls", "1", "--dps-retry-after", "1")
                try:
                    r = run_mp(ep, "provision_mqtt", E2E_ID_SCOPE="0ne00000A0A", E2E_REGID="mqtt-dev-7",
                               E2E_GROUP_KEY=group_key)
                    rows = ep.rows("body = ?", (b"provisioned-over-mqtt",))
                finally:
                    ep.stop()
        finally:
            del os.environ["AZURE_ENDPOINT_DPS_GROUPS"]
        self.assertEqual(r["cls"], "IoTHubMQTTClient")
        self.assertEqual(r["device"], "mqtt-dev-7")
        self.assertEqual(r["sent"], 1)
        self.assertEqual(len(rows), 1)


class MqttFaults(unittest.TestCase):
    def run_with(self, extra, scenario, n):
        with tempfile.TemporaryDirectory() as tmp:
            ep = MqttEndpoint(tmp, *extra)
            try:
                r = run_mp(ep, scenario, n)
                return r, ep.rows()
            finally:
                ep.stop()

    def test_dropped_puback_resent_nothing_lost(self):
        r, rows = self.run_with(["--mqtt-drop-puback", "4"], "faults", 12)
        self.assertEqual((r["ok"], r["failed"]), (12, 0), r)
        bodies = [x["body"] for x in rows]
        for i in range(12):
            self.assertIn(b"fault-%d" % i, bodies)
        self.assertGreaterEqual(r["stats"]["resent"], 2)
        self.assertGreaterEqual(r["stats"]["connects"], 3)

    def test_dropped_publish_resent(self):
        r, rows = self.run_with(["--mqtt-drop-publish", "3", "--mqtt-refuse-seconds", "1"], "faults", 9)
        self.assertEqual((r["ok"], r["failed"]), (9, 0), r)
        self.assertEqual(sorted({x["body"] for x in rows}), sorted(b"fault-%d" % i for i in range(9)))

    def test_late_puback(self):
        r, rows = self.run_with(["--mqtt-delay-puback", "300"], "faults", 5)
        self.assertEqual((r["ok"], r["failed"]), (5, 0), r)

    def test_token_renewed_before_expiry(self):
        r, rows = self.run_with(["--mqtt-token-expiry-disconnect"], "renewal", 5)
        s = r["stats"]
        self.assertGreaterEqual(s["renewals"], 3, r)
        self.assertEqual(s["sent"], r["sent"])
        self.assertEqual(s["connects"], s["renewals"], "one connection per token: never cut off by expiry")

    def test_twin_throttled_then_served(self):
        r, rows = self.run_with(["--mqtt-twin-fail", "1", "--mqtt-twin-fail-status", "429"], "twin_fail", 0)
        # Every request throttled (the first GET too): retried max_retries times, then TwinError 429.
        self.assertEqual(r.get("status"), 429, r)
        self.assertEqual(r["stats"]["retries"], 6)

    def test_twin_503_retried(self):
        r, rows = self.run_with(["--mqtt-twin-fail", "2", "--mqtt-twin-fail-status", "503"], "twin_fail", 0)
        self.assertIn("twin", r, r)  # the 2nd request got 503, its retry the twin
        self.assertIn("$version", r["twin"]["desired"])
        self.assertEqual(r["stats"]["retries"], 1)


if __name__ == "__main__":
    unittest.main()
