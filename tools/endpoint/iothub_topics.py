"""IoT Hub's MQTT topics and property bags (shared/docs/azure-mqtt.md §2-§5),
as pure functions: what a device may publish to and subscribe to, and the
``name=value&...`` bags on telemetry and cloud-to-device topics.

Bags are split on ``&`` then on the first ``=``, and only then each piece is
percent-decoded (never the whole topic, never ``+`` as space).  A key without
``=`` has the value None; ``key=`` is the empty string.  ``$`` may come
literally or as ``%24``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional
from urllib.parse import quote, unquote

# MQTT property-bag system keys -> the names the HTTPS path stores in
# events.broker_properties (ingest.IOT_SYSTEM_HEADERS)
SYSTEM_KEYS = {
    "$.mid": "iothub-messageid",
    "$.cid": "iothub-correlationid",
    "$.uid": "iothub-userid",
    "$.ct": "iothub-contenttype",
    "$.ce": "iothub-contentencoding",
    "$.to": "iothub-to",
    "$.exp": "iothub-expiry",
    "$.ctime": "iothub-creation-time-utc",
    "$.ifid": "iothub-interface-id",
    "$.on": "iothub-outputname",
    "$.sub": "dt-subject",
}

# The only subscriptions IoT Hub allows a device ({d} = its id).
TWIN_RES = "$iothub/twin/res/#"
TWIN_DESIRED = "$iothub/twin/PATCH/properties/desired/#"
METHODS = "$iothub/methods/POST/#"


class BagError(ValueError):
    """A property bag that cannot be decoded (bad percent-encoding, not UTF-8)."""


def _decode(piece: str) -> str:
    try:
        return unquote(piece, errors="strict")
    except UnicodeDecodeError:
        raise BagError(f"{piece!r} does not percent-decode to UTF-8") from None


def parse_bag(bag: str) -> list:
    """``a=1&b&c=`` -> [("a", "1"), ("b", None), ("c", "")]; an optional
    leading ``?`` is accepted; empty pieces are skipped."""
    if bag.startswith("?"):
        bag = bag[1:]
    out = []
    for piece in bag.split("&"):
        if not piece:
            continue
        name, eq, value = piece.partition("=")
        out.append((_decode(name), _decode(value) if eq else None))
    return out


def encode_bag(pairs) -> str:
    """[(name, value)] -> ``name=value&...``, every byte outside
    ``A-Z a-z 0-9 - . _ ~`` percent-encoded (``$`` -> ``%24``); None -> ``name``."""
    parts = []
    for name, value in pairs:
        key = quote(str(name), safe="")
        parts.append(key if value is None else f"{key}={quote(str(value), safe='')}")
    return "&".join(parts)


def split_properties(pairs) -> tuple:
    """A telemetry bag -> (application properties, system properties).  System
    keys (``$.x``) get the HTTPS path's names (``iothub-messageid`` ...);
    unknown ``$.`` keys are kept as they are, among the system ones."""
    app, system = {}, {}
    for name, value in pairs:
        if name.startswith("$."):
            system[SYSTEM_KEYS.get(name, name)] = value
        else:
            app[name] = value
    return app, system


@dataclass
class Topic:
    """What a device's PUBLISH addresses.  ``kind``: telemetry, twin-get,
    twin-patch, method-res."""

    kind: str
    device_id: str = ""
    module_id: Optional[str] = None
    bag: str = ""
    rid: Optional[str] = None
    status: Optional[int] = None
    query: Optional[dict] = None


def _query(text: str) -> dict:
    """``$rid=1&$version=3`` -> {"$rid": "1", "$version": "3"} (decoded)."""
    return {k: (v if v is not None else "") for k, v in parse_bag(text)}


_STATUS = re.compile(r"[0-9]{1,9}")


def parse_publish_topic(topic: str) -> Optional[Topic]:
    """Classify a device's PUBLISH topic; None if IoT Hub does not take it.

    ``devices/{d}/messages/events/{bag}``, ``devices/{d}/modules/{m}/messages/events/{bag}``,
    ``$iothub/twin/GET/?$rid=R``, ``$iothub/twin/PATCH/properties/reported/?$rid=R``,
    ``$iothub/methods/res/{status}/?$rid=R``.  Raises BagError for an
    undecodable bag."""
    if topic.startswith("devices/"):
        parts = topic.split("/", 6)
        # devices/{d}/messages/events/{bag}
        if len(parts) >= 5 and parts[2] == "messages" and parts[3] == "events" and parts[1]:
            bag = topic.split("/", 4)[4]
            parse_bag(bag)
            return Topic("telemetry", device_id=parts[1], bag=bag)
        # devices/{d}/modules/{m}/messages/events/{bag}
        if (len(parts) >= 7 and parts[2] == "modules" and parts[4] == "messages"
                and parts[5] == "events" and parts[1] and parts[3]):
            bag = parts[6]
            parse_bag(bag)
            return Topic("telemetry", device_id=parts[1], module_id=parts[3], bag=bag)
        return None
    if topic.startswith("$iothub/"):
        path, q, query = topic.partition("?")
        if not q:
            return None
        fields = _query(query)
        rid = fields.get("$rid")
        if path == "$iothub/twin/GET/":
            return Topic("twin-get", rid=rid, query=fields)
        if path == "$iothub/twin/PATCH/properties/reported/":
            return Topic("twin-patch", rid=rid, query=fields)
        segs = path.split("/")
        if (len(segs) == 5 and segs[:3] == ["$iothub", "methods", "res"] and segs[4] == ""
                and _STATUS.fullmatch(segs[3])):
            return Topic("method-res", rid=rid, status=int(segs[3]), query=fields)
    return None


def allowed_filter(topic_filter: str, device_id: str, module_id: Optional[str]) -> bool:
    """The subscriptions IoT Hub documents: cloud-to-device (devices only; ``+``
    in place of the id as azure-sdk-for-c sends it), twin responses, desired
    patches, direct methods."""
    if topic_filter in (TWIN_RES, TWIN_DESIRED, METHODS):
        return True
    if module_id is None:
        return topic_filter in (f"devices/{device_id}/messages/devicebound/#",
                                "devices/+/messages/devicebound/#")
    return False


def is_c2d_filter(topic_filter: str) -> bool:
    return topic_filter.endswith("/messages/devicebound/#")


def c2d_topic(device_id: str, msg: dict) -> str:
    """``devices/{id}/messages/devicebound/%24.mid=..&%24.to=..&..&app=..``"""
    pairs = [("$.mid", msg["message_id"]), ("$.to", f"/devices/{device_id}/messages/deviceBound")]
    if msg.get("correlation_id") is not None:
        pairs.append(("$.cid", msg["correlation_id"]))
    if msg.get("content_type") is not None:
        pairs.append(("$.ct", msg["content_type"]))
    if msg.get("content_encoding") is not None:
        pairs.append(("$.ce", msg["content_encoding"]))
    if msg.get("expiry") is not None:
        from .common import iso
        pairs.append(("$.exp", iso(msg["expiry"])))
    pairs += sorted((msg.get("properties") or {}).items())
    return f"devices/{device_id}/messages/devicebound/" + encode_bag(pairs)
