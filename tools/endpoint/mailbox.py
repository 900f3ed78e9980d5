"""The mailbox between the CLI (another process) and the running server's MQTT
side: table ``mqtt_requests`` (schema in store.py), polled by the server.

kind     what the server does with a pending row
-------  ------------------------------------------------------------------
method   publishes ``$iothub/methods/POST/{name}/?$rid={id}`` to the device
         (state ``sent``); the device's ``$iothub/methods/res/{status}/?$rid={id}``
         makes it ``done`` with status and response; not connected or not
         subscribed: ``failed`` 404; no answer by ``deadline``: ``timeout``
desired  pushes the patch (already merged into ``twins`` by the CLI, in the
         same transaction) on ``$iothub/twin/PATCH/properties/desired/?$version=N``
         to a connected, subscribed device: ``done`` (status 200 sent, 404 not)
drop     closes every MQTT connection (or the one of ``device_id``) without a
         DISCONNECT, then refuses CONNECT (CONNACK 3) for ``number`` seconds:
         ``done``, response ``{"dropped": n}``

The CLI waits for its row to leave ``pending``/``sent``; a row nobody took
in time is marked ``failed`` by the CLI itself (no server running)."""

from __future__ import annotations

import json
import time
from typing import Optional

from . import twin

_COLUMNS = ("id", "kind", "device_id", "name", "payload", "number", "state", "status",
            "response", "error", "created", "deadline")


def _as_dict(row) -> dict:
    return dict(zip(_COLUMNS, row))


def post(store, kind: str, device_id: Optional[str], *, name: Optional[str] = None,
         payload: bytes = b"", number: Optional[float] = None,
         deadline: Optional[float] = None, conn=None) -> int:
    now = time.time()
    sql = ("INSERT INTO mqtt_requests(kind, device_id, name, payload, number, state, created,"
           " deadline, updated) VALUES (?,?,?,?,?,'pending',?,?,?)")
    params = (kind, device_id, name, payload, number, now, deadline, now)
    if conn is not None:
        return conn.execute(sql, params).lastrowid
    with store.transaction() as c:
        return c.execute(sql, params).lastrowid


def post_desired(store, identity: str, changes: dict) -> tuple:
    """Merge ``changes`` into the twin's desired document and post the patch
    for the server, in one transaction; returns (new $version, row id)."""
    now = time.time()
    with store.transaction() as conn:
        version = twin.patch_in(conn, identity, "desired", changes, now)
        body = json.dumps(dict(changes, **{"$version": version})).encode("utf-8")
        rid = post(store, "desired", identity, payload=body, number=version, conn=conn)
    return version, rid


def get(store, rid: int) -> Optional[dict]:
    rows = store.query(f"SELECT {', '.join(_COLUMNS)} FROM mqtt_requests WHERE id=?", (rid,))
    return _as_dict(rows[0]) if rows else None


def wait(store, rid: int, until: float, poll: float = 0.05) -> dict:
    """Poll the row until it is neither pending nor sent, or ``until``
    passes; then a row still pending is marked failed (nobody took it) and a
    row still sent is marked timeout."""
    while True:
        row = get(store, rid)
        if row["state"] not in ("pending", "sent"):
            return row
        if time.time() >= until:
            with store.transaction() as conn:
                conn.execute("UPDATE mqtt_requests SET state=CASE state WHEN 'pending' THEN"
                             " 'failed' ELSE 'timeout' END, error=CASE state WHEN 'pending' THEN"
                             " 'no server took the request (is one running on this database"
                             " with --mqtt-port?)' ELSE error END, updated=? WHERE id=? AND"
                             " state IN ('pending','sent')", (time.time(), rid))
            return get(store, rid)
        time.sleep(poll)


# -- the server's side -------------------------------------------------------------------

def pending(store, limit: int = 50) -> list:
    rows = store.query(f"SELECT {', '.join(_COLUMNS)} FROM mqtt_requests WHERE state='pending'"
                       " ORDER BY id LIMIT ?", (limit,))
    return [_as_dict(r) for r in rows]


def finish(store, rid: int, state: str, *, status: Optional[int] = None,
           response: Optional[bytes] = None, error: Optional[str] = None,
           from_states=("pending", "sent"), device_id: Optional[str] = None) -> bool:
    """Move a row on (only from ``from_states``, and only for ``device_id``
    when given); False if it was not in such a state (e.g. timed out)."""
    marks = ",".join("?" * len(from_states))
    sql = (f"UPDATE mqtt_requests SET state=?, status=?, response=?, error=?, updated=?"
           f" WHERE id=? AND state IN ({marks})")
    params = [state, status, response, error, time.time(), rid, *from_states]
    if device_id is not None:
        sql += " AND device_id=?"
        params.append(device_id)
    with store.transaction() as conn:
        return conn.execute(sql, params).rowcount == 1


def expire_methods(store, now: float) -> list:
    """Methods past their deadline become ``timeout``; returns their ids."""
    with store.transaction() as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM mqtt_requests WHERE kind='method' AND state IN ('pending','sent')"
            " AND deadline IS NOT NULL AND deadline<?", (now,))]
        if ids:
            conn.execute(f"UPDATE mqtt_requests SET state='timeout', updated=? WHERE id IN"
                         f" ({','.join('?' * len(ids))})", (now, *ids))
    return ids
