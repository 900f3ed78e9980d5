"""Service Bus receive over HTTPS: peek-lock, complete, unlock (abandon),
renew-lock, lock expiry and redelivery, max delivery count,
receive-and-delete.

Messages sent with ``POST /{queue}/messages`` (single or batch) land in
``sb_messages`` with entity = the queue; sent to a topic, one copy per
declared subscription with entity = ``topic/subscriptions/sub``.  Lock expiry
is applied lazily: whenever a receiver looks at an entity, expired locks go
back to the queue first.  A message whose DeliveryCount reached the maximum
is dead-lettered instead of being delivered again."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Optional, Sequence

from .common import BadRequest, Route, http_date
from .config import Config
from .store import EventRow, Store

ACTIONS = {
    "sb-head": {"POST": "_do_sb_peek_lock", "DELETE": "_do_sb_receive_delete"},
    "sb-message": {"DELETE": "_do_sb_complete", "PUT": "_do_sb_unlock", "POST": "_do_sb_renew_lock"},
}

POLL_INTERVAL = 0.05     # how often a waiting receive looks at the database
_TOKEN_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")   # RFC 9110 header name
# Headers this endpoint writes itself; custom properties with these names are not echoed.
_OWN_HEADERS = {"brokerproperties", "location", "content-type", "content-length", "date",
                "server", "connection", "transfer-encoding"}


def entity_kind(cfg: Config, entity: str) -> str:
    """queue | subscription | topic | eventhub | unknown, for a lower-case path."""
    if "/subscriptions/" in entity:
        topic, _, sub = entity.partition("/subscriptions/")
        if topic in cfg.topics and sub in cfg.subscriptions.get(topic, []):
            return "subscription"
        return "unknown"
    return cfg.entity_service(entity) or "unknown"


def route(cfg: Config, segs: list) -> Optional[Route]:
    """``/{queue}/messages/head``, ``/{topic}/subscriptions/{sub}/messages/head``
    and the lock paths ``.../messages/{sequenceNumber or messageId}/{lockToken}``."""
    low = [s.lower() for s in segs]
    if len(segs) >= 3 and low[1] == "subscriptions":
        entity, rest = f"{low[0]}/subscriptions/{low[2]}", segs[3:]
    else:
        entity, rest = low[0], segs[1:]
    if not rest or rest[0].lower() != "messages":
        return None
    resource = f"https://{cfg.namespace_host}/" + "/".join(segs)
    kind = entity_kind(cfg, entity)
    if len(rest) == 2 and rest[1].lower() == "head":
        return Route("servicebus", kind, entity, resource, action="sb-head")
    if len(rest) == 3:
        return Route("servicebus", kind, entity, resource, action="sb-message",
                     message_ref=rest[1], lock_token=rest[2])
    return None


# -- the queue, on the database ---------------------------------------------------------


def enqueue(conn, targets: Sequence[str], rows: Sequence[EventRow], now: float) -> None:
    """Inside the send transaction: make ``rows`` receivable from each target."""
    for r in rows:
        message_id = r.broker_properties.get("MessageId")
        message_id = str(message_id) if message_id not in (None, "") else uuid.uuid4().hex
        for target in targets:
            conn.execute(
                "INSERT INTO sb_messages(entity, body, message_id, properties, broker, enqueued,"
                " state, delivery_count, updated) VALUES (?,?,?,?,?,?,'queued',0,?)",
                (target, r.body, message_id, json.dumps(r.properties, ensure_ascii=False),
                 json.dumps(r.broker_properties, ensure_ascii=False), now, now))


_COLUMNS = "seq, entity, body, message_id, properties, broker, enqueued, delivery_count"


def _as_dict(row) -> dict:
    seq, entity, body, message_id, props, broker, enqueued, count = row
    return {"seq": seq, "entity": entity, "body": bytes(body or b""), "message_id": message_id,
            "properties": json.loads(props or "{}"), "broker": json.loads(broker or "{}"),
            "enqueued": enqueued, "delivery_count": count}


def take_next(store: Store, entity: str, now: float, *, lock_seconds: float,
              max_delivery: int, delete: bool) -> Optional[dict]:
    """Lock (or, with ``delete``, remove) the oldest available message of
    ``entity``; None if there is none.  DeliveryCount is raised on every delivery."""
    with store.transaction() as conn:
        conn.execute("UPDATE sb_messages SET state='queued', lock_token=NULL, locked_until=NULL,"
                     " updated=? WHERE entity=? AND state='locked' AND locked_until<=?",
                     (now, entity, now))
        while True:
            row = conn.execute(f"SELECT {_COLUMNS} FROM sb_messages WHERE entity=? AND"
                               " state='queued' ORDER BY seq LIMIT 1", (entity,)).fetchone()
            if row is None:
                return None
            msg = _as_dict(row)
            if msg["delivery_count"] >= max_delivery:
                conn.execute("UPDATE sb_messages SET state='deadlettered', updated=? WHERE seq=?",
                             (now, msg["seq"]))
                continue
            msg["delivery_count"] += 1
            if delete:
                msg["lock_token"], msg["locked_until"] = None, None
                conn.execute("UPDATE sb_messages SET state='completed', delivery_count=?,"
                             " updated=? WHERE seq=?", (msg["delivery_count"], now, msg["seq"]))
            else:
                msg["lock_token"] = str(uuid.uuid4())
                msg["locked_until"] = now + lock_seconds
                conn.execute("UPDATE sb_messages SET state='locked', lock_token=?, locked_until=?,"
                             " delivery_count=?, updated=? WHERE seq=?",
                             (msg["lock_token"], msg["locked_until"], msg["delivery_count"], now,
                              msg["seq"]))
            return msg


def settle(store: Store, entity: str, ref: str, lock_token: str, now: float,
           new_state: str, locked_until: Optional[float] = None) -> bool:
    """Complete (``completed``), unlock (``queued``) or renew the lock of
    (``locked``, until ``locked_until``) a message by its sequence number or
    message id and a lock token that is still valid."""
    keep = new_state == "locked"
    with store.transaction() as conn:
        cur = conn.execute(
            "UPDATE sb_messages SET state=?, lock_token=?, locked_until=?, updated=?"
            " WHERE entity=? AND (CAST(seq AS TEXT)=? OR message_id=?) AND lock_token=?"
            " AND state='locked' AND locked_until>?",
            (new_state, lock_token if keep else None, locked_until if keep else None, now,
             entity, ref, ref, lock_token, now))
        return cur.rowcount == 1


# -- HTTP ------------------------------------------------------------------------------


class ServiceBusRoutes:
    def _check_receivable(self, route: Route) -> None:
        if route.kind == "unknown":
            raise BadRequest(404, "MessagingEntityNotFound",
                             f"entity {route.entity!r} does not exist in this namespace")
        if route.kind not in ("queue", "subscription"):
            raise BadRequest(404, "NotFound", f"receiving over HTTPS exists on queues and topic "
                                              f"subscriptions, not on a {route.kind}")

    def _receive_timeout(self) -> float:
        raw = self._query().get("timeout")
        if raw is None or raw == "":
            return self.cfg.sb_max_wait
        try:
            timeout = float(raw)
        except ValueError:
            raise BadRequest(400, "BadRequest", f"timeout={raw!r} is not a number of seconds") from None
        if timeout < 0:
            raise BadRequest(400, "BadRequest", "timeout must not be negative")
        return min(timeout, self.cfg.sb_max_wait)

    def _sb_receive(self, route: Route, delete: bool) -> None:
        cfg = self.cfg
        self._check_receivable(route)
        timeout = self._receive_timeout()
        if self._refused_by_fault():
            return
        deadline = time.monotonic() + timeout
        while True:
            msg = take_next(self.store, route.entity, cfg.now(), lock_seconds=cfg.sb_lock_seconds,
                            max_delivery=cfg.sb_max_delivery, delete=delete)
            if msg is not None or time.monotonic() >= deadline:
                break
            time.sleep(min(POLL_INTERVAL, max(deadline - time.monotonic(), 0)))
        if msg is None:
            self.out.line(f"empty {self._describe()} timeout={timeout:g}")
            self._reply(204)
            return
        verb = "received-and-deleted" if delete else "locked"
        self.out.line(f"{verb} {self._describe()} seq={msg['seq']} "
                      f"delivery={msg['delivery_count']}")
        self._reply(200 if delete else 201, msg["body"], self._message_headers(route, msg))

    def _message_headers(self, route: Route, msg: dict) -> list:
        broker = dict(msg["broker"])
        broker.update({
            "DeliveryCount": msg["delivery_count"],
            "EnqueuedSequenceNumber": msg["seq"],
            "EnqueuedTimeUtc": http_date(msg["enqueued"]),
            "MessageId": msg["message_id"],
            "SequenceNumber": msg["seq"],
            "State": "Active",
        })
        headers = []
        if msg["lock_token"]:
            broker["LockToken"] = msg["lock_token"]
            broker["LockedUntilUtc"] = http_date(msg["locked_until"])
            headers.append(("Location", f"https://{self.cfg.namespace_host}/{route.entity}"
                                        f"/messages/{msg['seq']}/{msg['lock_token']}"))
        headers.append(("BrokerProperties", json.dumps(broker, separators=(",", ":"))))
        ctype = broker.get("ContentType")
        if isinstance(ctype, str) and ctype.isascii() and "\n" not in ctype and "\r" not in ctype:
            headers.append(("Content-Type", ctype))
        for name, value in msg["properties"].items():
            # custom properties: one header each, the value JSON-encoded ("high", 5, true)
            if _TOKEN_NAME.fullmatch(name) and name.lower() not in _OWN_HEADERS:
                headers.append((name, json.dumps(value)))
        return headers

    def _do_sb_peek_lock(self, route: Route, body: bytes, size: int, too_large: bool) -> None:
        self._sb_receive(route, delete=False)

    def _do_sb_receive_delete(self, route: Route, body: bytes, size: int, too_large: bool) -> None:
        self._sb_receive(route, delete=True)

    def _sb_settle(self, route: Route, new_state: str, verb: str) -> None:
        self._check_receivable(route)
        if self._refused_by_fault():
            return
        now = self.cfg.now()
        if not settle(self.store, route.entity, route.message_ref, route.lock_token,
                      now, new_state, now + self.cfg.sb_lock_seconds):
            raise BadRequest(404, "MessageLockLost",
                             f"no message {route.message_ref!r} locked with token "
                             f"{route.lock_token!r} in {route.entity!r}: the lock expired, the "
                             "message was already settled, or the token is unknown")
        self.out.line(f"{verb} {self._describe()} message={route.message_ref}")
        self._reply(200)

    def _do_sb_complete(self, route: Route, body: bytes, size: int, too_large: bool) -> None:
        self._sb_settle(route, "completed", "completed")

    def _do_sb_unlock(self, route: Route, body: bytes, size: int, too_large: bool) -> None:
        self._sb_settle(route, "queued", "abandoned")

    def _do_sb_renew_lock(self, route: Route, body: bytes, size: int, too_large: bool) -> None:
        # Renew-Lock: the lock holds for another lock duration from now.
        self._sb_settle(route, "locked", "lock renewed")
