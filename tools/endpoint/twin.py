"""Device twins in SQLite (table ``twins``, schema in store.py): a desired and
a reported document per identity (device id, or ``device/module``), each with
a ``$version`` that only grows (both start at 1, as on a new hub identity).

A patch merges into the document: members are added or replaced, ``null``
deletes, nested objects merge the same way.  The device patches ``reported``
over MQTT; ``desired`` is patched from the CLI (``twin-desired``), which also
posts the patch to the MQTT mailbox so the server pushes it to the device.
azure-mqtt.md §4 has the limits; here a document is at most 32 KB of JSON,
keys must not be empty or start with ``$`` nor contain ``.``, `` `` or control
characters, and nesting is at most 10 deep."""

from __future__ import annotations

import json
from typing import Optional

MAX_DOC = 32 * 1024
MAX_DEPTH = 10


class TwinError(ValueError):
    """A patch IoT Hub would refuse with 400."""


def _check(patch, depth: int = 1) -> None:
    if depth > MAX_DEPTH:
        raise TwinError(f"the patch nests deeper than {MAX_DEPTH} levels")
    for key, value in patch.items():
        if not key or key.startswith("$") or any(c in key for c in ". ") or \
                any(ord(c) < 32 or ord(c) == 127 for c in key):
            raise TwinError(f"property name {key!r} is not allowed (empty, '$' first, '.', "
                            "space or control characters)")
        if isinstance(value, dict):
            _check(value, depth + 1)
        elif isinstance(value, list):
            raise TwinError(f"property {key!r}: arrays are not allowed in twin properties")


def parse_patch(body: bytes) -> dict:
    """A patch body -> dict; TwinError if it is not a JSON object IoT Hub takes.
    A ``$version`` member (the SDKs never send one) is ignored."""
    try:
        patch = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TwinError(f"the patch is not JSON: {e}") from None
    if not isinstance(patch, dict):
        raise TwinError("the patch must be a JSON object")
    patch.pop("$version", None)
    _check(patch)
    return patch


def merge(doc: dict, patch: dict) -> dict:
    """Apply ``patch`` to ``doc`` (in place): null deletes, objects merge."""
    for key, value in patch.items():
        if value is None:
            doc.pop(key, None)
        elif isinstance(value, dict):
            inner = doc.get(key)
            doc[key] = merge(inner if isinstance(inner, dict) else {}, value)
        else:
            doc[key] = value
    return doc


def _row(conn, identity: str) -> tuple:
    row = conn.execute("SELECT desired, desired_version, reported, reported_version FROM twins"
                       " WHERE device_id=?", (identity,)).fetchone()
    if row is None:
        return {}, 1, {}, 1
    return json.loads(row[0]), int(row[1]), json.loads(row[2]), int(row[3])


def get(store, identity: str) -> dict:
    """{"desired": {..., "$version": n}, "reported": {..., "$version": m}}"""
    with store.transaction() as conn:
        desired, dv, reported, rv = _row(conn, identity)
    return {"desired": dict(desired, **{"$version": dv}),
            "reported": dict(reported, **{"$version": rv})}


def patch(store, identity: str, section: str, changes: dict, now: float) -> int:
    """Merge ``changes`` into ``section`` ('desired' or 'reported'); returns
    that section's new ``$version``.  TwinError if the result is too large."""
    with store.transaction() as conn:
        return patch_in(conn, identity, section, changes, now)


def patch_in(conn, identity: str, section: str, changes: dict, now: float) -> int:
    """:func:`patch` inside the caller's transaction."""
    if section not in ("desired", "reported"):
        raise ValueError(section)
    desired, dv, reported, rv = _row(conn, identity)
    if section == "desired":
        merge(desired, changes)
        dv += 1
    else:
        merge(reported, changes)
        rv += 1
    d_text, r_text = json.dumps(desired), json.dumps(reported)
    if len(d_text) > MAX_DOC or len(r_text) > MAX_DOC:
        raise TwinError(f"the {section} document would exceed {MAX_DOC} bytes")
    conn.execute("INSERT INTO twins(device_id, desired, desired_version, reported,"
                 " reported_version, updated) VALUES (?,?,?,?,?,?) ON CONFLICT(device_id)"
                 " DO UPDATE SET desired=excluded.desired,"
                 " desired_version=excluded.desired_version, reported=excluded.reported,"
                 " reported_version=excluded.reported_version, updated=excluded.updated",
                 (identity, d_text, dv, r_text, rv, now))
    return dv if section == "desired" else rv


def desired_version(store, identity: str) -> Optional[int]:
    rows = store.query("SELECT desired_version FROM twins WHERE device_id=?", (identity,))
    return int(rows[0][0]) if rows else None
