"""Tests for the endpoint's IoT Hub cloud-to-device routes (tools/endpoint/c2d.py).

    .venv/bin/python -m unittest tools/test_endpoint_c2d.py -v

Messages are queued through ``azure_endpoint.py c2d-send`` (a separate
process writing the SQLite file the server reads) or ``endpoint.c2d.enqueue``;
devices receive over TLS with tokens from azure-iot-device's signing helpers.
Locks last 0.4 s here so expiry is quick to test."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import test_azure_endpoint as base  # noqa: E402  (helpers: Endpoint, connect, tokens)
from endpoint import c2d  # noqa: E402

HUB = base.HUB_HOST
API = "api-version=2021-04-12"
LOCK = 0.4
DEVICES = [f"c{i}" for i in range(10)]


def setUpModule():
    base.setUpModule()


def tearDownModule():
    base.tearDownModule()


def start(*args) -> base.Endpoint:
    devices = " ".join(f"{d}={base.DEV_KEY}" for d in DEVICES)
    return base.Endpoint("--c2d-lock-seconds", str(LOCK), "--c2d-max-delivery", "3", *args,
                         env={"AZURE_ENDPOINT_DEVICES": devices})


def call(conn, method, path, device, headers=None, token=None):
    h = {"Host": HUB, "Authorization": token or base.iot_token(f"{HUB}/devices/{device}")}
    h.update(headers or {})
    body = b"" if method == "POST" else None
    conn.request(method, path, body=body, headers=h)
    resp = conn.getresponse()
    return resp, resp.read()


def receive(conn, device, **kw):
    return call(conn, "GET", f"/devices/{device}/messages/deviceBound?{API}", device, **kw)


def lock_of(resp) -> str:
    etag = resp.getheader("ETag")
    assert etag.startswith('"') and etag.endswith('"'), etag
    return etag[1:-1]


def complete(conn, device, lock, reject=False, **kw):
    query = f"?{API}&reject" if reject else f"?{API}"
    return call(conn, "DELETE", f"/devices/{device}/messages/deviceBound/{lock}{query}", device, **kw)


def abandon(conn, device, lock):
    return call(conn, "POST", f"/devices/{device}/messages/deviceBound/{lock}/abandon?{API}", device)


def states(ep, device) -> list:
    return base.sqlite3.connect(str(ep.db)).execute(
        "SELECT state, delivery_count FROM c2d_messages WHERE device_id=? ORDER BY id",
        (device,)).fetchall()


class C2DTests(unittest.TestCase):
    ep: base.Endpoint

    @classmethod
    def setUpClass(cls):
        cls.ep = start()

    @classmethod
    def tearDownClass(cls):
        assert cls.ep.stop() == 0, cls.ep.stderr_text

    def setUp(self):
        self.conn = self.ep.connect(HUB)

    def tearDown(self):
        base.close_connections()

    def send(self, device, body, **kw):
        return c2d.enqueue(self.ep.db, device, body, **kw)

    def test_nothing_waiting_is_204(self):
        resp, data = receive(self.conn, "c0")
        self.assertEqual((resp.status, data), (204, b""))

    def test_cli_send_receive_complete(self):
        r = subprocess.run([sys.executable, str(base.SCRIPT), "c2d-send", "--db", str(self.ep.db),
                            "--device", "c1", "--body", "reboot now", "--property", "cmd=reboot",
                            "--property", "delay=5", "--message-id", "m-1",
                            "--correlation-id", "corr-9", "--content-type", "text/plain"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^enqueued c2d device=c1 id=\d+ message-id=m-1\n$")
        resp, data = receive(self.conn, "c1")
        self.assertEqual(resp.status, 200)
        self.assertEqual(data, b"reboot now")
        lock = lock_of(resp)
        self.assertEqual(resp.getheader("iothub-messageid"), "m-1")
        self.assertEqual(resp.getheader("iothub-correlationid"), "corr-9")
        self.assertEqual(resp.getheader("iothub-to"), "/devices/c1/messages/deviceBound")
        self.assertEqual(resp.getheader("iothub-deliverycount"), "1")
        self.assertEqual(resp.getheader("iothub-app-cmd"), "reboot")
        self.assertEqual(resp.getheader("iothub-app-delay"), "5")
        self.assertEqual(resp.getheader("ContentType"), "text/plain")
        self.assertRegex(resp.getheader("iothub-expiry"), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # locked: a second receive sees nothing
        self.assertEqual(receive(self.conn, "c1")[0].status, 204)
        resp, data = complete(self.conn, "c1", lock, headers={"If-Match": f'"{lock}"'})
        self.assertEqual((resp.status, data), (204, b""))
        self.assertEqual(states(self.ep, "c1"), [("completed", 1)])
        self.ep.wait_line(lambda l: l.startswith("completed c2d iothub hub=demo-hub device=c1 "))
        # settling twice: the lock is gone
        resp, data = complete(self.conn, "c1", lock)
        self.assertEqual(resp.status, 412)
        self.assertEqual(resp.getheader("iothub-errorcode"), "PreconditionFailed")
        self.assertIn(b"DeviceMessageLockLost", data)
        self.assertEqual(receive(self.conn, "c1")[0].status, 204)

    def test_reject_dead_letters(self):
        self.send("c2", "bad command")
        resp, _ = receive(self.conn, "c2")
        resp, data = complete(self.conn, "c2", lock_of(resp), reject=True)
        self.assertEqual(resp.status, 204)
        self.assertEqual(states(self.ep, "c2"), [("rejected", 1)])
        self.assertEqual(receive(self.conn, "c2")[0].status, 204)

    def test_abandon_comes_back(self):
        first = self.send("c3", "one")["message_id"]
        self.send("c3", "two")
        resp, data = receive(self.conn, "c3")
        lock = lock_of(resp)
        self.assertEqual((data, resp.getheader("iothub-messageid")), (b"one", first))
        resp, data = abandon(self.conn, "c3", lock)
        self.assertEqual((resp.status, data), (204, b""))
        resp, data = receive(self.conn, "c3")            # the same message, first in line again
        self.assertEqual((data, resp.getheader("iothub-deliverycount")), (b"one", "2"))
        self.assertNotEqual(lock_of(resp), lock)
        self.assertEqual(abandon(self.conn, "c3", lock)[0].status, 412)     # old lock token
        self.assertEqual(complete(self.conn, "c3", lock_of(resp))[0].status, 204)
        resp, data = receive(self.conn, "c3")
        self.assertEqual((data, resp.getheader("iothub-deliverycount")), (b"two", "1"))

    def test_lock_expiry_redelivers(self):
        self.send("c4", "slow")
        resp, _ = receive(self.conn, "c4")
        lock = lock_of(resp)
        time.sleep(LOCK + 0.1)
        resp, data = complete(self.conn, "c4", lock)
        self.assertEqual(resp.status, 412)
        self.assertIn(b"expired", data)
        resp, data = receive(self.conn, "c4")
        self.assertEqual((resp.status, data, resp.getheader("iothub-deliverycount")),
                         (200, b"slow", "2"))

    def test_max_delivery_count_dead_letters(self):
        self.send("c5", "poison")
        for n in (1, 2, 3):                     # --c2d-max-delivery 3
            resp, _ = receive(self.conn, "c5")
            self.assertEqual(resp.getheader("iothub-deliverycount"), str(n))
            self.assertEqual(abandon(self.conn, "c5", lock_of(resp))[0].status, 204)
        self.assertEqual(receive(self.conn, "c5")[0].status, 204)
        self.assertEqual(states(self.ep, "c5"), [("deadlettered", 3)])

    def test_fifty_message_cap(self):
        for i in range(50):
            self.send("c6", f"m{i}")
        with self.assertRaises(c2d.QueueFull):
            self.send("c6", "one too many")
        r = subprocess.run([sys.executable, str(base.SCRIPT), "c2d-send", "--db", str(self.ep.db),
                            "--device", "c6", "--body", "x"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("at most 50", r.stderr)
        # a locked message still counts; a completed one frees a place
        resp, _ = receive(self.conn, "c6")
        with self.assertRaises(c2d.QueueFull):
            self.send("c6", "still full")
        complete(self.conn, "c6", lock_of(resp))
        self.send("c6", "fits now")
        self.assertEqual(len(states(self.ep, "c6")), 51)

    def test_tokens_and_paths(self):
        self.send("c7", "private")
        # another device's token, an unknown device, a module path
        other = base.iot_token(f"{HUB}/devices/c8")
        resp, data = receive(self.conn, "c7", token=other)
        self.assertEqual(resp.status, 401)
        self.assertIn(b"InvalidAudience", data)
        resp, data = receive(self.conn, "ghost")
        self.assertEqual(resp.status, 401)
        self.assertIn(b"UnknownDevice", data)
        self.assertEqual(states(self.ep, "c7"), [("queued", 0)])
        resp, _ = call(self.conn, "PUT", f"/devices/c7/messages/deviceBound?{API}", "c7")
        self.assertEqual((resp.status, resp.getheader("Allow")), (405, "GET"))
        # If-Match must name the lock in the path
        resp, _ = receive(self.conn, "c7")
        lock = lock_of(resp)
        resp, data = complete(self.conn, "c7", lock, headers={"If-Match": '"something-else"'})
        self.assertEqual(resp.status, 412)
        # unknown lock token
        self.assertEqual(complete(self.conn, "c7", "00000000-0000-0000-0000-000000000000")[0].status,
                         412)
        self.assertEqual(complete(self.conn, "c7", lock)[0].status, 204)

    def test_list_and_bad_properties(self):
        self.send("c9", "listed", properties={"k": "v"})
        out = subprocess.run([sys.executable, str(base.SCRIPT), "c2d-list", "--db", str(self.ep.db),
                              "--device", "c9", "--json"], check=True, capture_output=True,
                             text=True, timeout=30).stdout
        (row,) = json.loads(out)
        self.assertEqual((row["state"], row["body"], row["properties"]), ("queued", "listed", {"k": "v"}))
        for props in ({"bad name": "v"}, {"k": "line\r\nInjected: 1"}):
            with self.assertRaises(ValueError):
                self.send("c9", "x", properties=props)


class C2DFaultTests(unittest.TestCase):
    def tearDown(self):
        base.close_connections()
        self.ep.stop()

    def test_503_leaves_the_message_queued(self):
        self.ep = start("--fail-503", "1", "--retry-after", "2")
        c2d.enqueue(self.ep.db, "c0", "kept")
        conn = self.ep.connect(HUB)
        resp, data = receive(conn, "c0")
        self.assertEqual((resp.status, resp.getheader("Retry-After")), (503, "2"))
        self.assertIn(b"ServerBusy", data)
        self.assertEqual(states(self.ep, "c0"), [("queued", 0)])

    def test_drop_response_keeps_the_lock_until_it_expires(self):
        self.ep = start("--drop-response", "1")
        c2d.enqueue(self.ep.db, "c0", "lost reply")
        conn = self.ep.connect(HUB)
        with self.assertRaises((http.client.HTTPException, OSError)):
            receive(conn, "c0")
        self.assertEqual(states(self.ep, "c0"), [("locked", 1)])
        self.ep.wait_line(lambda l: l.startswith("fault drop-response iothub hub=demo-hub device=c0"))

    def test_chunked_and_slow(self):
        self.ep = start("--chunked", "--chunk-size", "3", "--slow", "0.1")
        c2d.enqueue(self.ep.db, "c0", "chunked body", properties={"a": "b"})
        conn = self.ep.connect(HUB)
        resp, data = receive(conn, "c0")
        self.assertEqual((resp.status, data, resp.getheader("Transfer-Encoding")),
                         (200, b"chunked body", "chunked"))
        self.assertEqual(resp.getheader("iothub-app-a"), "b")
        resp, data = complete(conn, "c0", lock_of(resp))
        self.assertEqual((resp.status, resp.getheader("Transfer-Encoding")), (204, None))


if __name__ == "__main__":
    unittest.main()
