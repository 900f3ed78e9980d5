"""Tests for the endpoint's Service Bus receive routes (tools/endpoint/servicebus.py).

    .venv/bin/python -m unittest tools/test_endpoint_servicebus.py -v

Messages go in through the existing send route (``POST /{queue}/messages``,
single and batch) with tokens from azure-eventhub's own helper, and come out
with peek-lock or receive-and-delete over TLS.  Locks last 0.4 s here."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import test_azure_endpoint as base  # noqa: E402  (helpers: Endpoint, connect, tokens)

NS = base.NS
LOCK = 0.4
QUEUES = [f"q{i}" for i in range(11)]


def setUpModule():
    base.setUpModule()


def tearDownModule():
    base.tearDownModule()


def start(*args) -> base.Endpoint:
    flags = [f for q in QUEUES for f in ("--queue", q)]
    return base.Endpoint(*flags, "--eventhub", "telemetry", "--subscription", "alerts/s1",
                         "--subscription", "alerts/s2", "--sb-lock-seconds", str(LOCK),
                         "--sb-max-delivery", "3", *args)


def token(entity: str) -> str:
    return base.eh_token(f"https://{NS}/{entity.split('/')[0]}")


def send(conn, entity, body, headers=None):
    h = {"Authorization": token(entity)}
    h.update(headers or {})
    resp, data = base.post(conn, f"/{entity}/messages", body, h)
    assert resp.status == 201, (resp.status, data)


def call(conn, method, path, tok=None):
    conn.request(method, path, body=b"" if method in ("POST", "PUT") else None,
                 headers={"Host": NS, "Authorization": tok or token(path.strip("/"))})
    resp = conn.getresponse()
    return resp, resp.read()


def peek_lock(conn, entity, timeout=0, tok=None):
    return call(conn, "POST", f"/{entity}/messages/head?timeout={timeout}", tok)


def receive_delete(conn, entity, timeout=0):
    return call(conn, "DELETE", f"/{entity}/messages/head?timeout={timeout}")


def broker(resp) -> dict:
    return json.loads(resp.getheader("BrokerProperties"))


def location(resp) -> str:
    loc = resp.getheader("Location")
    assert loc.startswith(f"https://{NS}/"), loc
    return urlsplit(loc).path


def states(ep, entity) -> list:
    return base.sqlite3.connect(str(ep.db)).execute(
        "SELECT state, delivery_count FROM sb_messages WHERE entity=? ORDER BY seq",
        (entity,)).fetchall()


class ServiceBusTests(unittest.TestCase):
    ep: base.Endpoint

    @classmethod
    def setUpClass(cls):
        cls.ep = start()

    @classmethod
    def tearDownClass(cls):
        assert cls.ep.stop() == 0, cls.ep.stderr_text

    def setUp(self):
        self.conn = self.ep.connect(NS)

    def tearDown(self):
        base.close_connections()

    def test_peek_lock_and_complete(self):
        send(self.conn, "q0", b"order 17", {"Priority": "high", "Content-Type": "text/plain",
                                            "BrokerProperties": '{"MessageId":"m-1","Label":"L"}'})
        resp, data = peek_lock(self.conn, "q0", timeout=5)
        self.assertEqual((resp.status, data), (201, b"order 17"))
        props = broker(resp)
        self.assertEqual((props["MessageId"], props["DeliveryCount"], props["Label"]), ("m-1", 1, "L"))
        self.assertRegex(props["LockToken"], r"^[0-9a-f-]{36}$")
        self.assertIsInstance(props["SequenceNumber"], int)
        self.assertRegex(props["LockedUntilUtc"], r"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$")
        self.assertIn("EnqueuedTimeUtc", props)
        self.assertEqual(location(resp), f"/q0/messages/{props['SequenceNumber']}/{props['LockToken']}")
        self.assertEqual(resp.getheader("Priority"), '"high"')
        self.assertEqual(resp.getheader("Content-Type"), "text/plain")
        # locked: nothing else to receive
        self.assertEqual(peek_lock(self.conn, "q0")[0].status, 204)
        resp2, data = call(self.conn, "DELETE", location(resp))
        self.assertEqual((resp2.status, data), (200, b""))
        self.assertEqual(states(self.ep, "q0"), [("completed", 1)])
        self.ep.wait_line(lambda l: l.startswith("completed servicebus queue=q0 "))
        # completing again: the lock is gone
        resp2, data = call(self.conn, "DELETE", location(resp))
        self.assertEqual(resp2.status, 404)
        self.assertIn(b"MessageLockLost", data)
        self.assertEqual(peek_lock(self.conn, "q0")[0].status, 204)

    def test_complete_by_message_id(self):
        send(self.conn, "q9", b"x", {"BrokerProperties": '{"MessageId":"by-id"}'})
        resp, _ = peek_lock(self.conn, "q9")
        lock = broker(resp)["LockToken"]
        self.assertEqual(call(self.conn, "DELETE", f"/q9/messages/by-id/{lock}")[0].status, 200)

    def test_abandon_redelivers_with_count_plus_one(self):
        send(self.conn, "q1", b"first")
        send(self.conn, "q1", b"second")
        resp, data = peek_lock(self.conn, "q1")
        first = broker(resp)
        self.assertEqual(data, b"first")
        resp2, data = call(self.conn, "PUT", location(resp))
        self.assertEqual((resp2.status, data), (200, b""))
        resp, data = peek_lock(self.conn, "q1")
        again = broker(resp)
        self.assertEqual((data, again["DeliveryCount"], again["SequenceNumber"], again["MessageId"]),
                         (b"first", 2, first["SequenceNumber"], first["MessageId"]))
        self.assertNotEqual(again["LockToken"], first["LockToken"])
        # the old lock no longer works
        old = f"/q1/messages/{first['SequenceNumber']}/{first['LockToken']}"
        self.assertEqual(call(self.conn, "PUT", old)[0].status, 404)
        self.assertEqual(call(self.conn, "DELETE", location(resp))[0].status, 200)
        resp, data = peek_lock(self.conn, "q1")
        self.assertEqual((data, broker(resp)["DeliveryCount"]), (b"second", 1))

    def test_lock_expiry_redelivers(self):
        send(self.conn, "q2", b"slow worker")
        resp, _ = peek_lock(self.conn, "q2")
        time.sleep(LOCK + 0.1)
        self.assertEqual(call(self.conn, "DELETE", location(resp))[0].status, 404)
        resp, data = peek_lock(self.conn, "q2")
        self.assertEqual((resp.status, data, broker(resp)["DeliveryCount"]), (201, b"slow worker", 2))

    def test_renew_lock_keeps_the_message_locked(self):
        send(self.conn, "q10", b"long job")
        resp, _ = peek_lock(self.conn, "q10")
        # renewed twice, each at 3/4 of the lock: held past two lock durations
        for _ in range(2):
            time.sleep(LOCK * 0.75)
            resp2, data = call(self.conn, "POST", location(resp))
            self.assertEqual((resp2.status, data), (200, b""))
        self.ep.wait_line(lambda l: l.startswith("lock renewed servicebus queue=q10 "))
        self.assertEqual(peek_lock(self.conn, "q10")[0].status, 204)   # still locked, not redelivered
        self.assertEqual(call(self.conn, "DELETE", location(resp))[0].status, 200)
        # a lock that expired cannot be renewed
        send(self.conn, "q10", b"too slow")
        resp, _ = peek_lock(self.conn, "q10")
        time.sleep(LOCK + 0.1)
        resp2, data = call(self.conn, "POST", location(resp))
        self.assertEqual(resp2.status, 404)
        self.assertIn(b"MessageLockLost", data)
        self.assertEqual(broker(peek_lock(self.conn, "q10")[0])["DeliveryCount"], 2)

    def test_max_delivery_dead_letters(self):
        send(self.conn, "q3", b"poison")
        for n in (1, 2, 3):                     # --sb-max-delivery 3
            resp, _ = peek_lock(self.conn, "q3")
            self.assertEqual(broker(resp)["DeliveryCount"], n)
            self.assertEqual(call(self.conn, "PUT", location(resp))[0].status, 200)
        self.assertEqual(peek_lock(self.conn, "q3")[0].status, 204)
        self.assertEqual(states(self.ep, "q3"), [("deadlettered", 3)])

    def test_receive_and_delete(self):
        send(self.conn, "q4", b"once", {"Alert": "x"})
        resp, data = receive_delete(self.conn, "q4")
        self.assertEqual((resp.status, data), (200, b"once"))
        props = broker(resp)
        self.assertNotIn("LockToken", props)
        self.assertIsNone(resp.getheader("Location"))
        self.assertEqual(props["DeliveryCount"], 1)
        self.assertEqual(resp.getheader("Alert"), '"x"')
        self.assertEqual(receive_delete(self.conn, "q4")[0].status, 204)
        self.assertEqual(states(self.ep, "q4"), [("completed", 1)])

    def test_batch_send_is_receivable_in_order(self):
        batch = [{"Body": f"b{i}", "UserProperties": {"n": i, "s": "t"},
                  "BrokerProperties": {"MessageId": f"id{i}"}} for i in range(3)]
        resp, _ = base.post(self.conn, "/q5/messages", json.dumps(batch).encode(), {
            "Authorization": token("q5"), "Content-Type": "application/vnd.microsoft.servicebus.json"})
        self.assertEqual(resp.status, 201)
        for i in range(3):
            resp, data = receive_delete(self.conn, "q5")
            self.assertEqual((data, broker(resp)["MessageId"]), (f"b{i}".encode(), f"id{i}"))
            self.assertEqual((resp.getheader("n"), resp.getheader("s")), (str(i), '"t"'))
        seqs = [r[0] for r in base.sqlite3.connect(str(self.ep.db)).execute(
            "SELECT seq FROM sb_messages WHERE entity='q5' ORDER BY seq")]
        self.assertEqual(len(set(seqs)), 3)

    def test_topic_copies_to_each_subscription(self):
        send(self.conn, "alerts", b"storm", {"BrokerProperties": '{"MessageId":"a-1"}'})
        got = {}
        for sub in ("s1", "s2"):
            resp, data = peek_lock(self.conn, f"alerts/subscriptions/{sub}")
            self.assertEqual((resp.status, data), (201, b"storm"))
            got[sub] = resp
            self.assertTrue(location(resp).startswith(f"/alerts/subscriptions/{sub}/messages/"))
        self.assertEqual(call(self.conn, "DELETE", location(got["s1"]))[0].status, 200)
        # s2's copy is untouched by s1's complete, and abandoning it brings it back to s2 only
        self.assertEqual(call(self.conn, "PUT", location(got["s2"]))[0].status, 200)
        self.assertEqual(peek_lock(self.conn, "alerts/subscriptions/s1")[0].status, 204)
        resp, _ = peek_lock(self.conn, "alerts/subscriptions/s2")
        self.assertEqual((broker(resp)["MessageId"], broker(resp)["DeliveryCount"]), ("a-1", 2))
        # a subscription's lock path cannot settle another's message
        self.assertEqual(call(self.conn, "DELETE", location(resp).replace("/s2/", "/s1/"))[0].status,
                         404)
        # receiving from the topic itself, or an unknown subscription / queue / an event hub
        self.assertEqual(peek_lock(self.conn, "alerts")[0].status, 404)
        resp, data = peek_lock(self.conn, "alerts/subscriptions/nope")
        self.assertEqual(resp.status, 404)
        self.assertIn(b"MessagingEntityNotFound", data)
        self.assertEqual(peek_lock(self.conn, "noqueue")[0].status, 404)
        self.assertEqual(peek_lock(self.conn, "telemetry")[0].status, 404)

    def test_waits_up_to_timeout(self):
        t0 = time.monotonic()
        resp, _ = peek_lock(self.conn, "q6", timeout=0.5)
        self.assertEqual(resp.status, 204)
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)
        # a message sent while a receiver waits is handed over at once
        sender = self.ep.connect(NS)
        threading.Timer(0.3, send, (sender, "q6", b"late")).start()
        t0 = time.monotonic()
        resp, data = peek_lock(self.conn, "q6", timeout=10)
        self.assertEqual((resp.status, data), (201, b"late"))
        self.assertLess(time.monotonic() - t0, 5)
        resp, data = call(self.conn, "POST", "/q6/messages/head?timeout=soon")
        self.assertEqual(resp.status, 400)

    def test_tokens(self):
        send(self.conn, "q7", b"secret")
        resp, data = peek_lock(self.conn, "q7", tok=base.eh_token(f"https://{NS}/q8"))
        self.assertEqual(resp.status, 401)
        self.assertIn(b"InvalidAudience", data)
        resp, data = peek_lock(self.conn, "q7", tok=base.eh_token(f"https://{NS}/q7", key=base.KEY[::-1]))
        self.assertEqual(resp.status, 401)
        self.assertEqual(states(self.ep, "q7"), [("queued", 0)])
        resp, _ = peek_lock(self.conn, "q7", tok=base.eh_token(f"https://{NS}/"))   # namespace-wide
        self.assertEqual(resp.status, 201)
        self.assertEqual(call(self.conn, "GET", "/q7/messages/head")[0].status, 405)
        out = subprocess.run([sys.executable, str(base.SCRIPT), "sb-list", "--db", str(self.ep.db),
                              "--entity", "q7", "--json"], check=True, capture_output=True,
                             text=True, timeout=30).stdout
        (row,) = json.loads(out)
        self.assertEqual((row["state"], row["delivery_count"], row["body"]), ("locked", 1, "secret"))


class ServiceBusFaultTests(unittest.TestCase):
    def tearDown(self):
        base.close_connections()
        self.ep.stop()

    def test_503_and_429_change_nothing(self):
        self.ep = start("--fail-429", "1", "--retry-after", "3")
        conn = self.ep.connect(NS)
        with base.sqlite3.connect(str(self.ep.db)) as db:       # sending would be refused too
            db.execute("INSERT INTO sb_messages(entity, body, message_id, properties, broker,"
                       " enqueued, state, delivery_count) VALUES ('q0', 'x', 'm', '{}', '{}', 0,"
                       " 'queued', 0)")
        for method in ("POST", "DELETE"):
            resp, data = call(conn, method, "/q0/messages/head?timeout=0")
            self.assertEqual((resp.status, resp.getheader("Retry-After")), (429, "3"))
        self.assertEqual(states(self.ep, "q0"), [("queued", 0)])

    def test_drop_response_after_the_lock(self):
        self.ep = start("--drop-response", "1")
        # the send is stored (and receivable) although its response is lost
        with self.assertRaises((http.client.HTTPException, OSError)):
            send(self.ep.connect(NS), "q0", b"payload")
        with self.assertRaises((http.client.HTTPException, OSError)):
            send(self.ep.connect(NS), "q1", b"payload")
        self.assertEqual(states(self.ep, "q0"), [("queued", 0)])
        # peek-lock: locked, the client never learns the lock (it will expire)
        with self.assertRaises((http.client.HTTPException, OSError)):
            peek_lock(self.ep.connect(NS), "q0")
        self.assertEqual(states(self.ep, "q0"), [("locked", 1)])
        # receive-and-delete: gone (at most once, as on the real service)
        with self.assertRaises((http.client.HTTPException, OSError)):
            receive_delete(self.ep.connect(NS), "q1")
        self.assertEqual(states(self.ep, "q1"), [("completed", 1)])
        self.ep.wait_line(lambda l: l.startswith("fault drop-response servicebus queue=q1"))

    def test_chunked(self):
        self.ep = start("--chunked", "--chunk-size", "4")
        conn = self.ep.connect(NS)
        send(conn, "q0", b"chunky payload", {"Color": "blue"})
        resp, data = peek_lock(conn, "q0")
        self.assertEqual((resp.status, data, resp.getheader("Transfer-Encoding")),
                         (201, b"chunky payload", "chunked"))
        self.assertEqual(resp.getheader("Color"), '"blue"')
        resp, data = call(conn, "DELETE", location(resp))
        self.assertEqual((resp.status, data), (200, b""))


if __name__ == "__main__":
    unittest.main()
