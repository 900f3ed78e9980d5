"""SQLite storage for everything the endpoint keeps: received events, the
device identities DPS assigned, DPS operations, C2D queues and Service Bus
queues/subscriptions.

One connection per process, serialised by a lock; every change is one
``BEGIN IMMEDIATE`` transaction so another process (``c2d-send``) can write
to the same file while the server runs (WAL mode)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

SCHEMA = """
CREATE TABLE IF NOT EXISTS events(
    id INTEGER PRIMARY KEY,
    service TEXT,
    entity TEXT,
    publisher TEXT,
    partition_id TEXT,
    partition_key TEXT,
    device_id TEXT,
    body BLOB,
    properties TEXT,          -- JSON object
    broker_properties TEXT,   -- JSON object
    arrived REAL,
    request_id INTEGER,
    batch_index INTEGER
);
CREATE INDEX IF NOT EXISTS events_by_entity ON events(service, entity, device_id);
CREATE INDEX IF NOT EXISTS events_by_request ON events(request_id);

-- IoT hub identities created by DPS assignments (flag/env devices are not here)
CREATE TABLE IF NOT EXISTS devices(
    device_id TEXT PRIMARY KEY,
    key TEXT NOT NULL,        -- base64 device key (the hub decodes it to sign)
    registration_id TEXT,
    enrollment TEXT,          -- 'individual' or 'group:<name>'
    created REAL
);

CREATE TABLE IF NOT EXISTS dps_operations(
    operation_id TEXT PRIMARY KEY,
    id_scope TEXT,
    registration_id TEXT,
    enrollment TEXT,          -- 'individual' or 'group:<name>'
    outcome TEXT,             -- assigned | failed | disabled | never
    polls_left INTEGER,       -- GETs still answered 'assigning'
    status TEXT,              -- assigning | assigned | failed | disabled
    payload TEXT,             -- JSON sent by the device (echoed back)
    model_id TEXT,
    created REAL,
    updated REAL
);

-- state: queued | locked | completed | rejected | deadlettered | expired
CREATE TABLE IF NOT EXISTS c2d_messages(
    id INTEGER PRIMARY KEY,
    device_id TEXT,
    body BLOB,
    message_id TEXT,
    correlation_id TEXT,
    properties TEXT,          -- JSON object: application properties
    content_type TEXT,
    content_encoding TEXT,
    expiry REAL,              -- absolute; NULL = none
    enqueued REAL,
    state TEXT,
    lock_token TEXT,
    locked_until REAL,
    delivery_count INTEGER DEFAULT 0,
    updated REAL
);
CREATE INDEX IF NOT EXISTS c2d_by_device ON c2d_messages(device_id, state, id);

-- entity: queue name or 'topic/subscriptions/sub'; seq is the SequenceNumber
-- state: queued | locked | completed | deadlettered
CREATE TABLE IF NOT EXISTS sb_messages(
    seq INTEGER PRIMARY KEY,
    entity TEXT,
    body BLOB,
    message_id TEXT,
    properties TEXT,          -- JSON object: custom properties
    broker TEXT,              -- JSON object: BrokerProperties as sent
    enqueued REAL,
    state TEXT,
    lock_token TEXT,
    locked_until REAL,
    delivery_count INTEGER DEFAULT 0,
    updated REAL
);
CREATE INDEX IF NOT EXISTS sb_by_entity ON sb_messages(entity, state, seq);

-- Event Hubs publishers revoked (PUT .../revokedpublishers/{name}, or the
-- revoke-publisher command): their sends get 401 until restored.
-- entity and publisher_key are lower-case (names are case-insensitive);
-- publisher is the name as revoked.
CREATE TABLE IF NOT EXISTS revoked_publishers(
    entity TEXT,
    publisher_key TEXT,
    publisher TEXT,
    revoked REAL,
    PRIMARY KEY(entity, publisher_key)
);

-- IoT Hub device twins (tools/endpoint/twin.py): JSON documents whose
-- versions only grow; device_id is the device id or 'device/module'
CREATE TABLE IF NOT EXISTS twins(
    device_id TEXT PRIMARY KEY,
    desired TEXT NOT NULL,
    desired_version INTEGER NOT NULL,
    reported TEXT NOT NULL,
    reported_version INTEGER NOT NULL,
    updated REAL
);

-- The CLI -> MQTT server mailbox (tools/endpoint/mailbox.py)
-- kind: method | desired | drop; state: pending | sent | done | failed | timeout
CREATE TABLE IF NOT EXISTS mqtt_requests(
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    device_id TEXT,
    name TEXT,
    payload BLOB,
    number REAL,              -- desired: $version; drop: refuse seconds
    state TEXT NOT NULL,
    status INTEGER,
    response BLOB,
    error TEXT,
    created REAL,
    deadline REAL,
    updated REAL
);
CREATE INDEX IF NOT EXISTS mqtt_requests_by_state ON mqtt_requests(state, id);
"""

TABLES = ("events", "devices", "dps_operations", "c2d_messages", "sb_messages",
          "revoked_publishers", "twins", "mqtt_requests")


@dataclass
class EventRow:
    service: str
    entity: Optional[str]
    publisher: Optional[str]
    partition_id: Optional[str]
    partition_key: Optional[str]
    device_id: Optional[str]
    body: bytes
    properties: dict
    broker_properties: dict


class Store:
    """SQLite storage; safe across threads and next to other processes."""

    def __init__(self, path: Path, reset: bool = False):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        # autocommit mode: transactions are explicit (BEGIN IMMEDIATE below)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=10,
                                     isolation_level=None)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(SCHEMA)
            if reset:
                with self.transaction() as conn:
                    for table in TABLES:
                        conn.execute(f"DELETE FROM {table}")
            row = self._conn.execute("SELECT COALESCE(MAX(request_id), 0) FROM events").fetchone()
            self._next_request = int(row[0]) + 1

    @contextlib.contextmanager
    def transaction(self):
        """``with store.transaction() as conn:`` -- one atomic change."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence = ()) -> list:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # -- events ---------------------------------------------------------------
    def store(self, rows: Sequence[EventRow], arrived: float,
              also: Optional[Callable[[sqlite3.Connection], None]] = None) -> int:
        """Store all rows atomically (and run ``also`` in the same
        transaction, e.g. to make Service Bus messages receivable); return the
        request id."""
        with self._lock:
            request_id = self._next_request
            with self.transaction() as conn:
                conn.executemany(
                    "INSERT INTO events(service, entity, publisher, partition_id, partition_key,"
                    " device_id, body, properties, broker_properties, arrived, request_id,"
                    " batch_index) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        (r.service, r.entity, r.publisher, r.partition_id, r.partition_key,
                         r.device_id, sqlite3.Binary(r.body),
                         json.dumps(r.properties, ensure_ascii=False),
                         json.dumps(r.broker_properties, ensure_ascii=False),
                         arrived, request_id, i)
                        for i, r in enumerate(rows)
                    ],
                )
                if also is not None:
                    also(conn)
            self._next_request += 1
            return request_id

    # -- devices assigned by DPS ---------------------------------------------------
    def device_key(self, device_id: str) -> Optional[str]:
        rows = self.query("SELECT key FROM devices WHERE device_id = ?", (device_id,))
        return rows[0][0] if rows else None

    # -- revoked Event Hubs publishers ------------------------------------------------
    def revoke_publisher(self, entity: str, publisher: str, now: float) -> bool:
        """Revoke; False if it already was."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO revoked_publishers(entity, publisher_key, publisher, revoked)"
                " VALUES (?,?,?,?)", (entity.lower(), publisher.lower(), publisher, now))
            return cur.rowcount == 1

    def restore_publisher(self, entity: str, publisher: str) -> bool:
        """Restore; False if it was not revoked."""
        with self.transaction() as conn:
            cur = conn.execute("DELETE FROM revoked_publishers WHERE entity=? AND publisher_key=?",
                               (entity.lower(), publisher.lower()))
            return cur.rowcount == 1

    def publisher_revoked(self, entity: str, publisher: str) -> bool:
        return bool(self.query("SELECT 1 FROM revoked_publishers WHERE entity=? AND publisher_key=?",
                               (entity.lower(), publisher.lower())))

    def revoked_publishers(self, entity: Optional[str] = None) -> list:
        """[(entity, publisher, revoked_at)], oldest first."""
        sql = "SELECT entity, publisher, revoked FROM revoked_publishers"
        params: tuple = ()
        if entity is not None:
            sql, params = sql + " WHERE entity=?", (entity.lower(),)
        return [tuple(r) for r in self.query(sql + " ORDER BY revoked, publisher_key", params)]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# The old name, for anything that imported it.
EventStore = Store
