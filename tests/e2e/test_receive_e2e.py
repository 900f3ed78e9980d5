"""End to end, issue 13: a device provisions through a DPS enrollment group
(its key derived on the device), sends 100 events to the hub it was
assigned, works through 20 cloud-to-device messages (18 completed, 1
rejected, 1 abandoned that comes back); Service Bus peek-lock, abandon,
lock expiry, lock renewal, receive-and-delete and a topic subscription; 500 Service Bus
messages received with peek-lock through injected faults, none lost, none
completed twice. MicroPython (build/unix/micropython, or the WiPy
configuration with MICROPYTHON=build/unix-wipy/micropython
MICROPYPATH=build/wipy/lib) over TLS to tools/azure_endpoint.py.

Run: python -m unittest tests/e2e/test_receive_e2e.py
"""

import base64
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools"))

from test_send_e2e import EH_KEY, MICROPYTHON, NS, ROOT, Endpoint  # noqa: E402
from endpoint import c2d  # noqa: E402

MP = os.path.join(HERE, "mp_receive.py")
SCOPE = "0ne00000A0A"
GROUP_KEY = base64.b64encode(b"enrollment-group-key-for-e2e-test-0123456789abcdef").decode()
REGID = "wipy-e2e-0001"


def start(tmp, *extra):
    os.environ["AZURE_ENDPOINT_DPS_GROUPS"] = "fleet=" + GROUP_KEY
    try:
        return Endpoint(tmp, "--id-scope", SCOPE, "--dps-polls", "2", "--dps-retry-after", "1",
                        "--queue", "jobs", "--subscription", "alerts/wipy", *extra)
    finally:
        del os.environ["AZURE_ENDPOINT_DPS_GROUPS"]


def run(ep, scenario, n=0, timeout=120):
    env = dict(os.environ, E2E_ENDPOINT="127.0.0.1:%d" % ep.port, E2E_CA=os.path.join(ep.certs, "ca.der"),
               E2E_SB_CS="Endpoint=sb://%s/;SharedAccessKeyName=DataProducer;SharedAccessKey=%s;EntityPath=orders"
               % (NS, EH_KEY),
               E2E_ID_SCOPE=SCOPE, E2E_REGID=REGID, E2E_GROUP_KEY=GROUP_KEY, E2E_N=str(n))
    p = subprocess.run([MICROPYTHON, MP, scenario], env=env, capture_output=True, text=True,
                       timeout=timeout, cwd=HERE)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise AssertionError("no result from %s (rc %d):\n%s\n%s" % (scenario, p.returncode, p.stdout, p.stderr))


def query(ep, sql, args=()):
    con = sqlite3.connect(ep.db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


class DeviceTest(unittest.TestCase):
    def test_provision_send_and_commands(self):
        with tempfile.TemporaryDirectory() as tmp:
            ep = start(tmp, "--c2d-lock-seconds", "2", "--sb-lock-seconds", "2")
            try:
                for i in range(20):
                    c2d.enqueue(ep.db, REGID, "command %d" % i, properties={"n": str(i), "kind": "cmd"},
                                message_id="cmd-%d" % i, correlation_id="corr-%d" % i)
                r = run(ep, "device")
                events = ep.rows("device_id = ?", (REGID,))
                states = dict(query(ep, "SELECT message_id, state FROM c2d_messages"))
                counts = dict(query(ep, "SELECT message_id, delivery_count FROM c2d_messages"))
                s = run(ep, "sb_semantics", n=3)
                c2d.enqueue(ep.db, REGID, "late", message_id="late")
                e = run(ep, "c2d_lock_expiry", n=3)
            finally:
                ep.stop()
        # provisioning through the group: the derived key, the local hub
        self.assertEqual((r["hub"], r["device_id"]), ("demo-hub.azure-devices.net", REGID))
        self.assertTrue(r["derived"])
        self.assertEqual(r["info"]["payload"], {"fw": "1.0"})
        self.assertEqual(r["sent"], 100)
        seqs = sorted(json.loads(row["body"])["seq"] for row in events)
        self.assertEqual(seqs, list(range(100)))
        # 20 commands: 18 completed, n=5 rejected, n=7 abandoned, then back (count 2) and completed
        self.assertEqual(len(r["log"]), 21)
        self.assertEqual(r["rejected"], ["cmd-5"])
        self.assertEqual(r["abandoned"], ["cmd-7"])
        self.assertEqual(len(r["completed"]), 19)
        self.assertEqual(sorted(r["completed"]), sorted("cmd-%d" % i for i in range(20) if i != 5))
        first = r["log"][0]
        self.assertEqual(first, ["cmd-0", "corr-0", 1, {"n": "0", "kind": "cmd"}, "command 0"])
        back = [x for x in r["log"] if x[0] == "cmd-7"]
        self.assertEqual([x[2] for x in back], [1, 2])
        self.assertEqual(r["again"], [412, True])
        self.assertEqual(sorted(set(states.values())), ["completed", "rejected"])
        self.assertEqual(states["cmd-5"], "rejected")
        self.assertEqual(counts["cmd-7"], 2)
        print("\ndevice: provisioned in %d ms (group enrollment, 2 polls), %d events sent, %d C2D deliveries "
              "(%d completed, %d rejected, %d abandoned and redelivered)"
              % (r["provision_ms"], r["sent"], len(r["log"]), len(r["completed"]), len(r["rejected"]),
                 len(r["abandoned"])), file=sys.stderr)
        # Service Bus semantics
        self.assertEqual(s["a"], ["job-a", 1, {"kind": "a", "prio": "5"}, True])  # sent as header text
        self.assertEqual(s["abandon"], 200)
        self.assertEqual(s["a2"], [True, 2, True])
        self.assertEqual(s["complete"], 200)
        self.assertEqual(s["lost"], [404, True])
        self.assertEqual(s["b2"], [True, 2, "job-b"])
        self.assertEqual(s["renew"], [200, 200, 200])  # held 4 s on a 2 s lock
        self.assertEqual(s["c"], ["job-c", None, None])
        self.assertTrue(s["empty"])
        self.assertEqual(s["sub"], ["alert-1", {"level": "high"}, True])
        self.assertEqual(s["sub_complete"], 200)
        # C2D lock expiry
        self.assertEqual(e["first"], 1)
        self.assertEqual(e["lost"][0], 412)
        self.assertEqual(e["again"], [True, 2, True])
        self.assertEqual(e["complete"], 204)
        self.assertTrue(e["empty"])


class ExamplesTest(unittest.TestCase):
    """examples/provision_and_listen.py (two boots: DPS, then the stored
    assignment) and examples/servicebus_worker.py against the endpoint."""

    def example(self, ep, name, **env):
        env = dict(os.environ, AZURE_CA_CERTS=os.path.join(ep.certs, "ca.der"),
                   AZURE_ENDPOINT="127.0.0.1:%d" % ep.port, **env)
        p = subprocess.run([MICROPYTHON, os.path.join(ROOT, "examples", name)], env=env, capture_output=True,
                           text=True, timeout=60, cwd=ROOT)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def test_examples(self):
        with tempfile.TemporaryDirectory() as tmp:
            ep = start(tmp, "--sb-max-delivery", "3")
            try:
                env = dict(AZURE_ID_SCOPE=SCOPE, AZURE_REGISTRATION_ID=REGID, AZURE_GROUP_KEY=GROUP_KEY,
                           AZURE_STATE=os.path.join(tmp, "azure.json"), AZURE_POLLS="1", AZURE_POLL_SECONDS="0")
                c2d.enqueue(ep.db, REGID, "blink", properties={"times": "2"})
                first = self.example(ep, "provision_and_listen.py", **env)
                with open(env["AZURE_STATE"]) as f:
                    stored = json.load(f)
                c2d.enqueue(ep.db, REGID, "dance")
                second = self.example(ep, "provision_and_listen.py", **env)
                registrations = query(ep, "SELECT COUNT(*) FROM dps_operations")[0][0]
                c2d_states = [s for (s,) in query(ep, "SELECT state FROM c2d_messages ORDER BY id")]
                run(ep, "send_jobs")
                worker = self.example(ep, "servicebus_worker.py", AZURE_SB_CONNECTION_STRING=(
                    "Endpoint=sb://%s/;SharedAccessKeyName=DataProducer;SharedAccessKey=%s;EntityPath=jobs"
                    % (NS, EH_KEY)), AZURE_WAIT="1", AZURE_IDLE_EXIT="1")
                jobs = query(ep, "SELECT body, state, delivery_count FROM sb_messages WHERE entity='jobs' ORDER BY seq")
            finally:
                ep.stop()
        self.assertIn("assigned to demo-hub.azure-devices.net as %s" % REGID, first)
        self.assertIn("blinking 2 times", first)
        self.assertIn("completed", first)
        self.assertEqual(sorted(stored), ["device_id", "hub", "key"])
        self.assertIn("DPS skipped", second)
        self.assertIn("rejected", second)
        self.assertEqual(registrations, 1)
        self.assertEqual(c2d_states, ["completed", "rejected"])
        self.assertIn("worker: 2 done, 3 failed attempts", worker)
        self.assertEqual([(bytes(b), st) for b, st, _ in jobs],
                         [(b"job-1", "completed"), (b"fail-2", "deadlettered"), (b"job-3", "completed")])


class ServiceBusFaultTest(unittest.TestCase):
    N = 500

    def test_peek_lock_under_faults(self):
        with tempfile.TemporaryDirectory() as tmp:
            ep = start(tmp, "--seed", "13", "--sb-lock-seconds", "2", "--fail-503", "0.03",
                       "--fail-429", "0.02", "--retry-after", "0", "--drop-request", "0.03",
                       "--drop-response", "0.03", "--chunked")
            try:
                r = run(ep, "sb_stream", n=self.N, timeout=180)
                rows = query(ep, "SELECT body, state, delivery_count FROM sb_messages WHERE entity='orders'")
            finally:
                ep.stop()
        seqs = [json.loads(b)["seq"] for b, _, _ in rows]
        states = [st for _, st, _ in rows]
        s = r["stats"]
        print("\nService Bus under faults: %d sent (%d copies stored: %d duplicate sends), %d settled "
              "(%d by a complete the client saw succeed, %d whose retried complete found the lock gone), "
              "%d redeliveries, %d duplicate deliveries, %d empty receives; %d requests, %d retries, "
              "%d connections, %d ms"
              % (self.N, len(rows), len(seqs) - len(set(seqs)), r["settled"], r["completed_ok"],
                 r["lost_after_retry"], r["redelivered"], r["dup_deliveries"], r["empty"],
                 s["requests"], s["retries"], s["connects"], r["ms"]), file=sys.stderr)
        self.assertEqual(r["seqs"], list(range(self.N)), "every message received and settled: none lost")
        self.assertEqual(sorted(set(seqs)), list(range(self.N)), "every message stored")
        self.assertEqual(r["twice"], [], "no message completed twice")
        self.assertEqual(r["settled"], len(rows), "every stored copy settled once")
        self.assertEqual(states.count("completed"), len(rows), "the endpoint has every copy completed")
        self.assertGreater(s["retries"], 0, "faults were injected")


if __name__ == "__main__":
    unittest.main()
