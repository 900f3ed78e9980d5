"""IoT Hub cloud-to-device over HTTPS: a queue per device in ``c2d_messages``.

Receive locks the oldest message for ``--c2d-lock-seconds`` (1 minute like
the hub) and raises its delivery count; complete, reject (dead-letter) and
abandon (back to the queue) need the lock token while the lock holds, else
412.  Lock expiry and message TTL are applied lazily at each receive.  A
message delivered ``--c2d-max-delivery`` times (10) is dead-lettered instead of
being delivered again.  At most 50 messages (queued or locked) per device:
enqueueing more is refused (``QueueFull``).

Enqueue from outside the server with ``azure_endpoint.py c2d-send`` or
:func:`enqueue` (tests): both write to the SQLite file the server reads."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Mapping, Optional, Union

from .common import BadRequest, Route, iso
from .config import Config
from .store import Store

ACTIONS = {
    "c2d-receive": {"GET": "_do_c2d_receive"},
    "c2d-message": {"DELETE": "_do_c2d_complete"},
    "c2d-abandon": {"POST": "_do_c2d_abandon"},
}

DEFAULT_MAX_QUEUED = 50
DEFAULT_TTL = 3600.0
_TOKEN_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")


class QueueFull(Exception):
    """The device already has the maximum number of messages waiting."""


def route(cfg: Config, segs: list) -> Optional[Route]:
    low = [s.lower() for s in segs]
    if len(segs) < 4 or low[0] != "devices" or low[2:4] != ["messages", "devicebound"]:
        return None
    hub = cfg.iothub_name
    resource = f"{cfg.iothub_host}/" + "/".join(segs)
    if len(segs) == 4:
        return Route("iothub", "device", hub, resource, action="c2d-receive", device_id=segs[1])
    if len(segs) == 5:
        return Route("iothub", "device", hub, resource, action="c2d-message", device_id=segs[1],
                     lock_token=segs[4])
    if len(segs) == 6 and low[5] == "abandon":
        return Route("iothub", "device", hub, resource, action="c2d-abandon", device_id=segs[1],
                     lock_token=segs[4])
    return None


# -- the queue, on the database ---------------------------------------------------------


def _check_header_safe(what: str, text: str, name: bool = False) -> None:
    ok = _TOKEN_NAME.fullmatch(text) if name else _HEADER_VALUE.fullmatch(text)
    if not ok:
        raise ValueError(f"{what} {text!r} cannot travel in an HTTP header "
                         f"({'token characters' if name else 'printable ASCII'} only)")


def enqueue(store_or_path: Union[Store, Path, str], device_id: str, body: Union[bytes, str], *,
            properties: Optional[Mapping[str, str]] = None, message_id: Optional[str] = None,
            correlation_id: Optional[str] = None, content_type: Optional[str] = None,
            content_encoding: Optional[str] = None, ttl: float = DEFAULT_TTL,
            max_queued: int = DEFAULT_MAX_QUEUED, now: Optional[float] = None) -> dict:
    """Queue one message for ``device_id``; returns ``{"id", "message_id"}``.
    Raises QueueFull past ``max_queued`` waiting messages, ValueError for
    properties that cannot be sent as headers."""
    import time
    own = not isinstance(store_or_path, Store)
    store = Store(Path(store_or_path)) if own else store_or_path
    try:
        now = time.time() if now is None else now
        body = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        props = {str(k): str(v) for k, v in (properties or {}).items()}
        for k, v in props.items():
            _check_header_safe("property name", k, name=True)
            _check_header_safe(f"value of property {k!r}", v)
        message_id = message_id or str(uuid.uuid4())
        for what, text in (("message id", message_id), ("correlation id", correlation_id),
                           ("content type", content_type), ("content encoding", content_encoding)):
            if text is not None:
                _check_header_safe(what, text)
        with store.transaction() as conn:
            waiting = conn.execute(
                "SELECT COUNT(*) FROM c2d_messages WHERE device_id=? AND state IN"
                " ('queued','locked') AND (expiry IS NULL OR expiry>?)",
                (device_id, now)).fetchone()[0]
            if waiting >= max_queued:
                raise QueueFull(f"device {device_id!r} already has {waiting} messages waiting "
                                f"(at most {max_queued})")
            cur = conn.execute(
                "INSERT INTO c2d_messages(device_id, body, message_id, correlation_id, properties,"
                " content_type, content_encoding, expiry, enqueued, state, delivery_count, updated)"
                " VALUES (?,?,?,?,?,?,?,?,?,'queued',0,?)",
                (device_id, body, message_id, correlation_id, json.dumps(props), content_type,
                 content_encoding, now + ttl if ttl else None, now, now))
            return {"id": cur.lastrowid, "message_id": message_id}
    finally:
        if own:
            store.close()


_COLUMNS = ("id, device_id, body, message_id, correlation_id, properties, content_type,"
            " content_encoding, expiry, enqueued, delivery_count")


def _as_dict(row) -> dict:
    keys = [c.strip() for c in _COLUMNS.split(",")]
    msg = dict(zip(keys, row))
    msg["body"] = bytes(msg["body"] or b"")
    msg["properties"] = json.loads(msg["properties"] or "{}")
    return msg


def take_next(store: Store, device_id: str, now: float, *, lock_seconds: float,
              max_delivery: int) -> Optional[dict]:
    """Lock the device's oldest available message; None if there is none."""
    with store.transaction() as conn:
        conn.execute("UPDATE c2d_messages SET state='queued', lock_token=NULL, locked_until=NULL,"
                     " updated=? WHERE device_id=? AND state='locked' AND locked_until<=?",
                     (now, device_id, now))
        conn.execute("UPDATE c2d_messages SET state='expired', updated=? WHERE device_id=? AND"
                     " state='queued' AND expiry IS NOT NULL AND expiry<=?", (now, device_id, now))
        while True:
            row = conn.execute(f"SELECT {_COLUMNS} FROM c2d_messages WHERE device_id=? AND"
                               " state='queued' ORDER BY id LIMIT 1", (device_id,)).fetchone()
            if row is None:
                return None
            msg = _as_dict(row)
            if msg["delivery_count"] >= max_delivery:
                conn.execute("UPDATE c2d_messages SET state='deadlettered', updated=? WHERE id=?",
                             (now, msg["id"]))
                continue
            msg["delivery_count"] += 1
            msg["lock_token"] = str(uuid.uuid4())
            msg["locked_until"] = now + lock_seconds
            conn.execute("UPDATE c2d_messages SET state='locked', lock_token=?, locked_until=?,"
                         " delivery_count=?, updated=? WHERE id=?",
                         (msg["lock_token"], msg["locked_until"], msg["delivery_count"], now,
                          msg["id"]))
            return msg


def settle(store: Store, device_id: str, lock_token: str, now: float, new_state: str) -> bool:
    """completed / rejected / queued (abandon), if the lock still holds."""
    with store.transaction() as conn:
        cur = conn.execute(
            "UPDATE c2d_messages SET state=?, lock_token=NULL, locked_until=NULL, updated=?"
            " WHERE device_id=? AND lock_token=? AND state='locked' AND locked_until>?",
            (new_state, now, device_id, lock_token, now))
        return cur.rowcount == 1


def list_messages(store: Store, device_id: Optional[str] = None) -> list:
    sql = ("SELECT id, device_id, state, delivery_count, message_id, correlation_id, body,"
           " properties FROM c2d_messages")
    params: tuple = ()
    if device_id is not None:
        sql += " WHERE device_id=?"
        params = (device_id,)
    return store.query(sql + " ORDER BY id", params)


# -- HTTP ------------------------------------------------------------------------------


class C2DRoutes:
    def _do_c2d_receive(self, route: Route, body: bytes, size: int, too_large: bool) -> None:
        cfg = self.cfg
        if self._refused_by_fault():
            return
        msg = take_next(self.store, route.device_id, cfg.now(),
                        lock_seconds=cfg.c2d_lock_seconds, max_delivery=cfg.c2d_max_delivery)
        if msg is None:
            self._reply(204)
            return
        headers = [
            ("ETag", f'"{msg["lock_token"]}"'),
            ("iothub-messageid", msg["message_id"]),
            ("iothub-to", f"/devices/{route.device_id}/messages/deviceBound"),
            ("iothub-deliverycount", str(msg["delivery_count"])),
            ("iothub-sequencenumber", str(msg["id"])),
            ("iothub-enqueuedtime", iso(msg["enqueued"])),
        ]
        if msg["correlation_id"] is not None:
            headers.append(("iothub-correlationid", msg["correlation_id"]))
        if msg["expiry"] is not None:
            headers.append(("iothub-expiry", iso(msg["expiry"])))
        if msg["content_type"] is not None:
            headers.append(("ContentType", msg["content_type"]))
        if msg["content_encoding"] is not None:
            headers.append(("ContentEncoding", msg["content_encoding"]))
        for name, value in msg["properties"].items():
            headers.append((f"iothub-app-{name}", value))
        self.out.line(f"delivered c2d {self._describe()} id={msg['id']} "
                      f"delivery={msg['delivery_count']}")
        self._reply(200, msg["body"], headers)

    def _c2d_settle(self, route: Route, new_state: str, verb: str) -> None:
        if_match = self.headers.get("If-Match")
        if if_match is not None and if_match.strip().strip('"') != route.lock_token:
            raise BadRequest(412, "PreconditionFailed",
                             f"If-Match {if_match!r} does not match the lock token in the path")
        if self._refused_by_fault():
            return
        if not settle(self.store, route.device_id, route.lock_token, self.cfg.now(), new_state):
            raise BadRequest(412, "DeviceMessageLockLost",
                             f"no message for device {route.device_id!r} is locked with token "
                             f"{route.lock_token!r}: the lock expired, the message was already "
                             "completed/rejected/abandoned, or the token is unknown")
        self.out.line(f"{verb} c2d {self._describe()} lock={route.lock_token}")
        self._reply(204)

    def _do_c2d_complete(self, route: Route, body: bytes, size: int, too_large: bool) -> None:
        if "reject" in self._query():
            self._c2d_settle(route, "rejected", "dead-lettered")
        else:
            self._c2d_settle(route, "completed", "completed")

    def _do_c2d_abandon(self, route: Route, body: bytes, size: int, too_large: bool) -> None:
        self._c2d_settle(route, "queued", "abandoned")
