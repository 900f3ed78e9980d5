"""Tests for the endpoint's Event Hubs publisher revocation (tools/endpoint/revocation.py).

    .venv/bin/python -m unittest tools/test_endpoint_revocation.py -v

The REST calls Azure documents (api-version 2014-01): PUT/DELETE
``/{hub}/revokedpublishers/{publisher}`` and GET ``/{hub}/revokedpublishers``,
over TLS with tokens from azure-eventhub's own helper; they need the Manage
policy (RootManageSharedAccessKey here), a Send policy's token is refused
with 401.  A revoked publisher's sends (single and batch) get 401
PublisherRevoked while the other publishers on the same policy go on; the
``revoke-publisher`` / ``restore-publisher`` / ``revoked-publishers``
subcommands work on the database of the running server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import test_azure_endpoint as base  # noqa: E402  (helpers: Endpoint, connect, tokens)

NS = base.NS
MANAGE = "RootManageSharedAccessKey"
MANAGE_KEY = "TWFuYWdlLWtleS1mb3ItdGhlLXJldm9jYXRpb24tdGVzdHM="
API = "?timeout=60&api-version=2014-01"
ATOM = "{http://www.w3.org/2005/Atom}"
SBNS = "{http://schemas.microsoft.com/netservices/2010/10/servicebus/connect}"
BATCH = "application/vnd.microsoft.servicebus.json"
ENTRY = ('<entry xmlns="http://www.w3.org/2005/Atom"><content type="application/xml">'
         '<RevokedPublisherDescription xmlns="http://schemas.microsoft.com/netservices/2010/10/'
         'servicebus/connect" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Name>{}</Name>'
         '</RevokedPublisherDescription></content></entry>')


def setUpModule():
    base.setUpModule()


def tearDownModule():
    base.tearDownModule()


def start(*args, manage_key=MANAGE_KEY) -> base.Endpoint:
    env = {"AZURE_ENDPOINT_MANAGE_KEY": manage_key} if manage_key else {"AZURE_ENDPOINT_MANAGE_KEY": ""}
    return base.Endpoint("--eventhub", "telemetry", "--eventhub", "other", "--queue", "orders",
                         *args, env=env)


def manage_token(uri=f"https://{NS}/") -> str:
    # As Azure's examples: the namespace root as audience, the root policy.
    return base.eh_token(uri, key=MANAGE_KEY, policy=MANAGE)


def publisher_token(pub, hub="telemetry") -> str:
    return base.eh_token(f"https://{NS}/{hub}/publishers/{pub}")


def call(conn, method, path, token, body=None, headers=None):
    h = {"Host": NS, "Authorization": token}
    if body is not None:
        h["Content-Type"] = "application/atom+xml;type=entry;charset=utf-8"
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    resp = conn.getresponse()
    return resp, resp.read()


def revoke(conn, pub, hub="telemetry", token=None, body=None):
    return call(conn, "PUT", f"/{hub}/revokedpublishers/{pub}{API}", token or manage_token(), body)


def restore(conn, pub, hub="telemetry", token=None):
    return call(conn, "DELETE", f"/{hub}/revokedpublishers/{pub}{API}", token or manage_token())


def listed(conn, hub="telemetry", token=None):
    resp, body = call(conn, "GET", f"/{hub}/revokedpublishers{API}", token or manage_token())
    assert resp.status == 200, (resp.status, body)
    assert resp.getheader("Content-Type").startswith("application/atom+xml;type=feed"), resp.getheaders()
    feed = ET.fromstring(body)
    assert feed.tag == ATOM + "feed", feed.tag
    return [e.find(f"{ATOM}content/{SBNS}RevokedPublisherDescription/{SBNS}Name").text
            for e in feed.findall(ATOM + "entry")]


def send(conn, pub, body, hub="telemetry", token=None, batch=False):
    headers = {"Authorization": token or publisher_token(pub, hub)}
    if batch:
        headers["Content-Type"] = BATCH
        body = json.dumps([{"Body": body + "-1"}, {"Body": body + "-2"}]).encode()
    return base.post(conn, f"/{hub}/publishers/{pub}/messages", body if isinstance(body, bytes)
                     else body.encode(), headers)


def detail(body: bytes) -> str:
    return ET.fromstring(body).find("Detail").text


def cli(ep, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(base.SCRIPT), args[0], "--db", str(ep.db), *args[1:]],
                          capture_output=True, text=True, timeout=60)


class RevocationTests(unittest.TestCase):
    ep: base.Endpoint

    @classmethod
    def setUpClass(cls):
        cls.ep = start()

    @classmethod
    def tearDownClass(cls):
        base.close_connections()
        cls.ep.stop()

    def setUp(self):
        self.conn = self.ep.connect()

    def stored(self, pub, marker):
        return [r for r in self.ep.rows("publisher = ?", (pub,))
                if bytes(r["body"]).startswith(marker.encode())]

    def test_revoke_refuses_that_publisher_only_then_restore(self):
        m = base.marker()
        for pub in ("rv-a", "rv-b", "rv-c"):
            resp, _ = send(self.conn, pub, m)
            self.assertEqual(resp.status, 201)
        resp, body = revoke(self.conn, "rv-b")
        self.assertEqual(resp.status, 201, body)
        self.assertTrue(resp.getheader("Content-Type").startswith("application/atom+xml;type=entry"))
        entry = ET.fromstring(body)
        self.assertEqual(entry.tag, ATOM + "entry")
        self.assertEqual(entry.find(f"{ATOM}content/{SBNS}RevokedPublisherDescription/{SBNS}Name").text,
                         "rv-b")
        self.ep.wait_line(lambda l: l == "revoked publisher hub=telemetry publisher=rv-b")

        m2 = base.marker()
        for batch in (False, True):
            resp, body = send(self.conn, "rv-b", m2, batch=batch)
            self.assertEqual(resp.status, 401, body)
            self.assertIn("PublisherRevoked: publisher 'rv-b' of event hub 'telemetry' is revoked",
                          detail(body))
            for pub in ("rv-a", "rv-c"):          # the same policy, other publishers: stored
                resp, body = send(self.conn, pub, m2, batch=batch)
                self.assertEqual(resp.status, 201, body)
        self.assertEqual(self.stored("rv-b", m2), [])
        self.assertEqual(len(self.stored("rv-a", m2)), 3)
        self.assertEqual(len(self.stored("rv-c", m2)), 3)
        self.ep.wait_line(lambda l: l.startswith("rejected 401 eventhub hub=telemetry publisher=rv-b:"
                                                 " PublisherRevoked"))

        resp, body = revoke(self.conn, "rv-b")
        self.assertEqual(resp.status, 409, body)
        self.assertIn("already revoked", detail(body))
        self.assertIn("rv-b", listed(self.conn))

        resp, body = restore(self.conn, "rv-b")
        self.assertEqual((resp.status, body), (200, b""))
        resp, body = restore(self.conn, "rv-b")
        self.assertEqual(resp.status, 404, body)
        self.assertIn("not revoked", detail(body))
        self.assertNotIn("rv-b", listed(self.conn))
        m3 = base.marker()
        resp, body = send(self.conn, "rv-b", m3)
        self.assertEqual(resp.status, 201, body)
        self.assertEqual(len(self.stored("rv-b", m3)), 1)

    def test_list_is_per_event_hub_and_names_are_case_insensitive(self):
        for pub in ("ls-1", "LS-2"):
            self.assertEqual(revoke(self.conn, pub)[0].status, 201)
        self.assertEqual(revoke(self.conn, "ls-x", hub="other")[0].status, 201)
        names = listed(self.conn)
        self.assertIn("ls-1", names)
        self.assertIn("LS-2", names)
        self.assertNotIn("ls-x", names)
        self.assertIn("ls-x", listed(self.conn, hub="other"))
        # the path segment as Azure's examples write it, and the name in another case
        resp, body = call(self.conn, "PUT", f"/Telemetry/RevokedPublishers/LS-1{API}", manage_token())
        self.assertEqual(resp.status, 409, body)
        resp, body = send(self.conn, "ls-2", base.marker())
        self.assertEqual(resp.status, 401, body)
        self.assertIn("PublisherRevoked", detail(body))
        # revoked on 'other' only: still sends to telemetry
        self.assertEqual(send(self.conn, "ls-x", base.marker())[0].status, 201)
        for pub in ("ls-1", "LS-2"):
            self.assertEqual(restore(self.conn, pub)[0].status, 200)
        self.assertEqual(restore(self.conn, "ls-x", hub="other")[0].status, 200)

    def test_put_body_is_the_documented_entry(self):
        resp, body = revoke(self.conn, "bd-1", body=ENTRY.format("bd-1").encode())
        self.assertEqual(resp.status, 201, body)
        resp, body = revoke(self.conn, "bd-2", body=ENTRY.format("someone-else").encode())
        self.assertEqual(resp.status, 400, body)
        self.assertIn("someone-else", detail(body))
        resp, body = revoke(self.conn, "bd-2", body=b"<entry><not-closed>")
        self.assertEqual(resp.status, 400, body)
        resp, body = revoke(self.conn, "bd-2", body=b'<!DOCTYPE x [<!ENTITY a "b">]><entry/>')
        self.assertEqual(resp.status, 400, body)
        resp, body = revoke(self.conn, "bd-2", body=b"<entry xmlns='http://www.w3.org/2005/Atom'/>")
        self.assertEqual(resp.status, 400, body)
        self.assertNotIn("bd-2", listed(self.conn))
        self.assertEqual(restore(self.conn, "bd-1")[0].status, 200)

    def test_management_needs_the_manage_policy(self):
        send_policy = base.eh_token(f"https://{NS}/")                    # DataProducer: Send
        own = publisher_token("mg-1")                                   # a device's own token
        for token in (send_policy, own):
            for method, path in (("PUT", "/telemetry/revokedpublishers/mg-1"),
                                 ("DELETE", "/telemetry/revokedpublishers/mg-1"),
                                 ("GET", "/telemetry/revokedpublishers")):
                resp, body = call(self.conn, method, path + API, token)
                self.assertEqual(resp.status, 401, (method, path, body))
        resp, body = call(self.conn, "PUT", f"/telemetry/revokedpublishers/mg-1{API}", send_policy)
        self.assertIn("'Manage' claim(s) are required", detail(body))
        resp, body = call(self.conn, "PUT", f"/telemetry/revokedpublishers/mg-1{API}",
                          base.eh_token(f"https://{NS}/", key=KEY_WRONG, policy=MANAGE))
        self.assertEqual(resp.status, 401)
        self.assertIn("InvalidSignature", detail(body))
        self.assertNotIn("mg-1", listed(self.conn))
        # The Manage policy's token may send too (Manage implies Send on Azure).
        resp, body = send(self.conn, "mg-1", base.marker(), token=manage_token())
        self.assertEqual(resp.status, 201, body)

    def test_only_event_hubs_have_publishers_to_revoke(self):
        resp, body = revoke(self.conn, "x", hub="orders")
        self.assertEqual(resp.status, 404, body)
        resp, body = revoke(self.conn, "x", hub="nosuchhub")
        self.assertEqual(resp.status, 404, body)
        resp, body = call(self.conn, "POST", f"/telemetry/revokedpublishers/x{API}", manage_token(),
                          body=b"")
        self.assertEqual(resp.status, 405, body)
        self.assertEqual(resp.getheader("Allow"), "PUT, DELETE")

    def test_hub_and_partition_sends_are_not_publishers(self):
        self.assertEqual(revoke(self.conn, "0")[0].status, 201)
        tok = base.eh_token(f"https://{NS}/telemetry")
        self.assertEqual(base.post(self.conn, "/telemetry/messages", b"x", {"Authorization": tok})[0].status, 201)
        self.assertEqual(base.post(self.conn, "/telemetry/partitions/0/messages", b"x",
                                   {"Authorization": tok})[0].status, 201)
        self.assertEqual(restore(self.conn, "0")[0].status, 200)

    def test_cli_on_the_running_servers_database(self):
        m = base.marker()
        r = cli(self.ep, "revoke-publisher", "--hub", "telemetry", "--publisher", "cl-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "revoked publisher hub=telemetry publisher=cl-1")
        resp, body = send(self.conn, "cl-1", m)            # the server sees it at once
        self.assertEqual(resp.status, 401, body)
        self.assertIn("cl-1", listed(self.conn))           # and lists it
        r = cli(self.ep, "revoke-publisher", "--hub", "telemetry", "--publisher", "cl-1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("already revoked", r.stderr)
        r = cli(self.ep, "revoked-publishers", "--hub", "telemetry", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = json.loads(r.stdout)
        self.assertIn("cl-1", [row["publisher"] for row in rows])
        self.assertTrue(all(row["hub"] == "telemetry" and row["revoked"] <= time.time() for row in rows))
        r = cli(self.ep, "revoked-publishers")
        self.assertIn("revoked hub=telemetry publisher=cl-1 since=", r.stdout)
        r = cli(self.ep, "restore-publisher", "--hub", "telemetry", "--publisher", "cl-1")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "restored publisher hub=telemetry publisher=cl-1"))
        self.assertEqual(send(self.conn, "cl-1", m)[0].status, 201)
        r = cli(self.ep, "restore-publisher", "--hub", "telemetry", "--publisher", "cl-1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not revoked", r.stderr)
        # a REST revocation shows in the CLI list too
        self.assertEqual(revoke(self.conn, "cl-2")[0].status, 201)
        self.assertIn("publisher=cl-2", cli(self.ep, "revoked-publishers").stdout)
        self.assertEqual(restore(self.conn, "cl-2")[0].status, 200)


KEY_WRONG = "V3Jvbmcta2V5LW5vdC10aGUtbWFuYWdlLWtleS0wMTIz"


class ManageConfigurationTests(unittest.TestCase):
    def test_without_a_manage_key_nobody_manages(self):
        ep = start(manage_key=None)
        try:
            conn = ep.connect()
            resp, body = revoke(conn, "p", token=base.eh_token(f"https://{NS}/"))
            self.assertEqual(resp.status, 401, body)
            resp, body = revoke(conn, "p")            # signed with a key the endpoint does not have
            self.assertEqual(resp.status, 401, body)
            self.assertIn("UnknownKeyName", detail(body))
        finally:
            base.close_connections()
            ep.stop()

    def test_send_policy_named_as_the_manage_policy_manages(self):
        ep = start("--manage-policy", base.POLICY, manage_key=None)
        try:
            conn = ep.connect()
            resp, body = revoke(conn, "p", token=base.eh_token(f"https://{NS}/"))
            self.assertEqual(resp.status, 201, body)
            self.assertEqual(send(conn, "p", "x")[0].status, 401)
        finally:
            base.close_connections()
            ep.stop()

    def test_reset_db_forgets_revocations_and_a_restart_keeps_them(self):
        ep = start()
        try:
            self.assertEqual(revoke(ep.connect(), "keep")[0].status, 201)
        finally:
            base.close_connections()
            ep.stop()
        from endpoint.store import Store
        store = Store(ep.db)
        try:
            self.assertEqual([(h, p) for h, p, _ in store.revoked_publishers()], [("telemetry", "keep")])
            self.assertTrue(store.publisher_revoked("TELEMETRY", "Keep"))
        finally:
            store.close()
        Store(ep.db, reset=True).close()
        store = Store(ep.db)
        try:
            self.assertEqual(store.revoked_publishers(), [])
        finally:
            store.close()


if __name__ == "__main__":
    unittest.main()
