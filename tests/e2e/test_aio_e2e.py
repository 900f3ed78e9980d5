"""End to end for azure.aio's HTTPS clients (issue #21): the full unix build
in an asyncio loop, over TLS to the local endpoint, a 10 ms ticker task
beside the clients (tests/e2e/mp_aio.py). Pinned: every event stored, the
receive and settle flows, the outbox drained through an async client, a
refused certificate named as such, and the ticker's largest gap outside TLS
handshakes under 50 ms, also through injected faults.

Run: python -m unittest tests/e2e/test_aio_e2e.py  (MICROPYTHON=build/unix/micropython)
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tools"))

from test_send_e2e import EH_KEY, ENDPOINT, HUB, MICROPYTHON, NS, DEV_KEY, Endpoint  # noqa: E402
from endpoint import c2d  # noqa: E402

MP_AIO = os.path.join(HERE, "mp_aio.py")
MAX_GAP_MS = 50
# Results for bench/aio_report.py (make bench): the loop-gap figures.
RESULTS = os.environ.get("AIO_RESULTS")


def run_aio(endpoint, scenario, ca=None, n=0, timeout=300, **env_extra):
    env = dict(os.environ,
               E2E_ENDPOINT="127.0.0.1:%d" % endpoint.port,
               E2E_CA=ca or os.path.join(endpoint.certs, "ca.der"),
               E2E_EH_CS="Endpoint=sb://%s/;SharedAccessKeyName=DataProducer;SharedAccessKey=%s;EntityPath=telemetry" % (NS, EH_KEY),
               E2E_SB_CS="Endpoint=sb://%s/;SharedAccessKeyName=DataProducer;SharedAccessKey=%s;EntityPath=orders" % (NS, EH_KEY),
               E2E_IOT_CS="HostName=%s;DeviceId=dev1;SharedAccessKey=%s" % (HUB, DEV_KEY),
               E2E_N=str(n), **env_extra)
    p = subprocess.run([MICROPYTHON, MP_AIO, scenario], env=env, capture_output=True, text=True,
                       timeout=timeout, cwd=HERE)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise AssertionError("no result from %s (rc %d):\n%s\n%s" % (scenario, p.returncode, p.stdout, p.stderr))


def _record(name, r):
    if not RESULTS:
        return
    try:
        with open(RESULTS) as f:
            d = json.load(f)
    except (OSError, ValueError):
        d = {}
    d[name] = {k: r[k] for k in ("ticks", "max_gap_ms", "p99_gap_ms", "max_gap_outside_handshakes_ms", "handshakes")}
    with open(RESULTS, "w") as f:
        json.dump(d, f, indent=1, sort_keys=True)


class AioTest(unittest.TestCase):
    def _gap_checked(self, once):
        # The largest gap is wall time: a shared machine that deschedules the
        # process makes one too. A loop really held (a blocking call) shows in
        # every run; a second run settles which it was.
        gap = once()
        if gap >= MAX_GAP_MS:
            print("\n  largest gap outside handshakes %s ms: once more (preempted?)" % gap, file=sys.stderr)
            gap = once()
        self.assertLess(gap, MAX_GAP_MS)

    def test_every_flow_with_a_ticker(self):
        self._gap_checked(self._every_flow)

    def _every_flow(self):
        tmp = tempfile.mkdtemp()
        try:
            ep = Endpoint(tmp)
            try:
                c2d.enqueue(ep.db, "dev1", "aio-command", properties={"kind": "cmd"})
                r = run_aio(ep, "basic", n=25, E2E_OUTBOX=os.path.join(tmp, "outbox"))
                rows = ep.rows()
            finally:
                ep.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print("\naio basic: %d ticks, largest gap %s ms (%s ms outside %d TLS handshakes), p99 %s ms"
              % (r["ticks"], r["max_gap_ms"], r["max_gap_outside_handshakes_ms"], r["handshakes"], r["p99_gap_ms"]),
              file=sys.stderr)
        _record("basic", r)
        self.assertEqual((r["eh_single"], r["eh_batch"], r["sb_send"], r["iot_send"]), (201, 201, 201, 204))
        self.assertEqual(r["eh_connects"], 1, "4 tasks took turns on one kept-alive connection")
        bodies = [row["body"] for row in rows]
        seqs = sorted((b for b in bodies if b.startswith(b'{"task"')))
        self.assertEqual(len(seqs), 100)
        self.assertEqual(len(set(seqs)), 100)
        self.assertIn(b"aio-b2", bodies)
        self.assertEqual((r["outbox_flushed"], r["outbox_left"], r["outbox_empty"]), (25, 0, 0))
        self.assertEqual(sorted(b for b in bodies if b.startswith(b'{"outbox"')),
                         sorted(('{"outbox":%d}' % i).encode() for i in range(25)))
        self.assertEqual((r["sb_received"], r["sb_empty"]), ("aio-sb", True))
        self.assertIn(r["sb_complete"], (200, 204))
        self.assertEqual(r["c2d"], "aio-command")
        self.assertEqual(r["c2d_complete"], 204)
        self.assertGreater(r["ticks"], 10)
        return r["max_gap_outside_handshakes_ms"]

    def test_faults_no_event_lost_loop_keeps_ticking(self):
        self._gap_checked(self._faults)

    def _faults(self):
        n = 200
        tmp = tempfile.mkdtemp()
        try:
            ep = Endpoint(tmp, "--seed", "11", "--fail-503", "0.08", "--retry-after", "1",
                          "--drop-request", "0.05", "--drop-response", "0.05",
                          "--slow", "0.3", "--slow-p", "0.05", "--chunked")
            try:
                r = run_aio(ep, "stream", n=n, timeout=600)
                rows = ep.rows("publisher = 'aio-stream'")
            finally:
                ep.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        seqs = [json.loads(row["body"])["seq"] for row in rows]
        s = r["stats"]
        print("\naio faults: %d events, %d rows, %d duplicates; %d requests, %d retries, %d connections; "
              "%d ticks, largest gap %s ms (%s ms outside %d TLS handshakes), p99 %s ms"
              % (n, len(seqs), len(seqs) - len(set(seqs)), s["requests"], s["retries"], s["connects"], r["ticks"],
                 r["max_gap_ms"], r["max_gap_outside_handshakes_ms"], r["handshakes"], r["p99_gap_ms"]),
              file=sys.stderr)
        _record("faults", r)
        self.assertEqual(r["failed"], [])
        self.assertEqual(sorted(set(range(n)) - set(seqs)), [])
        self.assertEqual(s["sent"], n)
        self.assertGreater(s["retries"], 0, "faults were injected")
        return r["max_gap_outside_handshakes_ms"]

    def test_certificate_from_another_ca_is_refused(self):
        tmp = tempfile.mkdtemp()
        try:
            ep = Endpoint(tmp)
            other = os.path.join(tmp, "other-certs")
            subprocess.run([sys.executable, ENDPOINT, "--gen-certs-only", "--certs", other,
                            "--ca-name", "Some other CA"], check=True, capture_output=True)
            try:
                r = run_aio(ep, "other_ca", ca=os.path.join(other, "ca.der"))
                rows = ep.rows("body = ?", (b"never stored",))
            finally:
                ep.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertTrue(r["raised"], r)
        self.assertIn("TLS handshake", r["message"])
        self.assertIn("not signed by a CA", r["message"])
        self.assertEqual(r["requests"], 1, "not retried")
        self.assertEqual(rows, [])

    def test_refused_connection_as_blocking(self):
        import socket

        with socket.socket() as s:  # a port where nothing listens
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]

        class Nobody:
            certs = os.path.join(tempfile.gettempdir(), "no-certs")

        Nobody.port = port
        r = run_aio(Nobody, "refused", ca="/etc/ssl/certs/ca-certificates.crt")
        self.assertEqual(r["async"], r["blocking"])
        self.assertIn("ECONNREFUSED", r["async"][1])
        self.assertEqual((r["async"][2]["connects"], r["async"][2]["requests"], r["async"][2]["retries"]), (0, 0, 2))


if __name__ == "__main__":
    unittest.main()
