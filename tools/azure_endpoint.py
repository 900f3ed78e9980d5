#!/usr/bin/env python3
"""A local HTTPS endpoint that behaves like Azure's REST ingestion endpoints.

For development, the demo and end-to-end tests of the MicroPython Azure module.
It speaks the same wire protocol as

* Event Hubs   ``POST /{hub}/messages``
               ``POST /{hub}/publishers/{publisher}/messages``
               ``POST /{hub}/partitions/{partitionId}/messages``   -> 201 Created
* Service Bus  ``POST /{queue-or-topic}/messages``                   -> 201 Created
* IoT Hub      ``POST /devices/{deviceId}/messages/events``
               ``POST /devices/{deviceId}/modules/{moduleId}/messages/events`` -> 204

with single events (body as is, user properties as extra headers,
``BrokerProperties`` JSON header, ``iothub-app-*`` headers) and batches
(``application/vnd.microsoft.servicebus.json`` / ``application/vnd.microsoft.iothub.json``).
Requests whose ``Host`` (port stripped) equals ``--namespace-host`` go to the
Event Hubs / Service Bus logic, those matching ``--iothub-host`` to IoT Hub;
anything else is 404.

Every request is authenticated with a Shared Access Signature, validated
independently of the project's code (hmac/hashlib/base64/urllib only):
signature over ``<sr exactly as sent>\\n<se>``; the HMAC key is the key text's
bytes for Event Hubs/Service Bus and the base64-DECODED key for IoT Hub; the
token must not be expired (``se`` > now + ``--clock-offset``); the decoded
``sr`` must be a path-segment prefix of the requested resource (scheme
optional); ``skn`` must name the configured policy (EH/SB) and must be absent
for IoT Hub device/module keys (unless it names an ``--iothub-policy``).
Failures give 401 with an Azure-like body whose detail says which check failed
(MissingToken, MalformedToken, MissingKeyName, UnknownKeyName, UnknownDevice,
InvalidSignature, ExpiredToken, InvalidAudience).

Accepted events are stored in SQLite (``--db``), one row per event, a batch in
one transaction, committed before the success response is sent::

    events(id INTEGER PRIMARY KEY, service TEXT, entity TEXT, publisher TEXT,
           partition_id TEXT, partition_key TEXT, device_id TEXT, body BLOB,
           properties TEXT /*JSON*/, broker_properties TEXT /*JSON*/,
           arrived REAL, request_id INTEGER, batch_index INTEGER)

``service`` is ``eventhub``, ``servicebus`` or ``iothub``.  For IoT Hub
``entity`` is the hub name (first label of the host), ``device_id`` the device,
``properties`` the application properties (``iothub-app-`` stripped) and
``broker_properties`` the system properties (``iothub-messageid``, ...,
``iothub-connection-device-id``, ``iothub-connection-module-id``).

TLS: ``--certs DIR`` holds ``ca.pem``, ``ca.der`` (the form the WiPy wants at
/flash/cert/ca.pem), ``ca.key``, ``server.pem``, ``server.key``; created on
first use (RSA 2048, SHA-256, notBefore 2000-01-01 so boards with an unset
clock still accept it; SAN = namespace host, IoT hub host, localhost,
127.0.0.1, ::1 and any ``--san``) and reused while still valid.  A second,
unrelated CA (for "a server certificate from another CA must be refused"
tests) is simply another directory::

    python tools/azure_endpoint.py --gen-certs-only --certs build/certs-other --ca-name "Other CA"

and a client given ``build/certs-other/ca.der`` must refuse a server started
with ``--certs build/certs``.

Output: stdout carries exactly ``READY port=<port>`` once listening, then one
line per stored request (``accepted eventhub hub=telemetry publisher=dev1
events=50 bytes=2300 request=7``), ``rejected <status> ...`` and ``fault ...``
lines; everything is flushed at once.  Human-oriented notes go to stderr.
Keys are never printed; pass them through the environment (AZURE_ENDPOINT_KEY,
AZURE_ENDPOINT_SECONDARY_KEY, AZURE_ENDPOINT_DEVICES, AZURE_ENDPOINT_IOTHUB_POLICIES)
so they do not show in ``ps``.

Typical use (demo / end-to-end tests)::

    export AZURE_ENDPOINT_KEY='<policy key>' AZURE_ENDPOINT_DEVICES='dev1=<base64 key>'
    .venv/bin/python tools/azure_endpoint.py --eventhub telemetry --queue orders \
        --db build/endpoint.sqlite3 --certs build/certs --reset-db
    # -> READY port=NNNNN ; clients connect to 127.0.0.1:NNNNN with SNI/Host
    #    demo-ns.servicebus.windows.net (or demo-hub.azure-devices.net) and
    #    trust build/certs/ca.pem (ca.der on the board)

Subcommands (the default is ``serve``)::

    azure_endpoint.py [serve] [options]     run the server (see --help)
    azure_endpoint.py dump  --db PATH       print stored events as a table
    azure_endpoint.py count --db PATH       print counts (and duplicates)

Faults are injected deterministically from ``--seed``: every POST draws the
same number of random values in the same order, so a given sequence of
requests on one connection always meets the same faults.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as _dt
import hashlib
import hmac
import http.server
import ipaddress
import json
import os
import random
import re
import signal
import socket
import socketserver
import sqlite3
import ssl
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlsplit
from xml.sax.saxutils import escape as _xml_escape

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = REPO_ROOT / "build" / "endpoint.sqlite3"
DEFAULT_CERTS = REPO_ROOT / "build" / "certs"
DEFAULT_NAMESPACE_HOST = "demo-ns.servicebus.windows.net"
DEFAULT_IOTHUB_HOST = "demo-hub.azure-devices.net"
DEFAULT_POLICY = "DataProducer"
DEFAULT_CA_NAME = "azure_endpoint development CA"
DEFAULT_MAX_SIZE = 256 * 1024
MAX_MAX_SIZE = 1024 * 1024
# Bodies above --max-size are read and thrown away (so keep-alive survives and
# the client sees the 413) up to this many bytes; beyond it the connection is
# closed after the 413.
DISCARD_CAP = 16 * 1024 * 1024

SB_BATCH_TYPE = "application/vnd.microsoft.servicebus.json"
IOT_BATCH_TYPE = "application/vnd.microsoft.iothub.json"

# Request headers that are framing/transport, not Event Hubs/Service Bus user
# properties.  Anything else (except x-ms-*) becomes a user property.
STANDARD_HEADERS = frozenset(
    h.lower()
    for h in (
        "Host", "Authorization", "Content-Type", "Content-Length", "Connection",
        "BrokerProperties", "User-Agent", "Accept", "Accept-Encoding",
        "Accept-Charset", "Accept-Language", "Transfer-Encoding", "Expect",
        "Keep-Alive", "TE", "Trailer", "Upgrade", "Via", "Date", "Cache-Control",
        "Pragma", "Proxy-Authorization", "Proxy-Connection", "Cookie", "Origin",
        "Referer", "Content-Encoding",
    )
)
IOT_APP_PREFIX = "iothub-app-"
IOT_SYSTEM_HEADERS = frozenset(
    (
        "iothub-messageid", "iothub-correlationid", "iothub-contenttype",
        "iothub-contentencoding", "iothub-to", "iothub-userid", "iothub-expiry",
        "iothub-ack", "iothub-creation-time-utc", "iothub-interface-id",
    )
)

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
"""


# --------------------------------------------------------------------------
# Shared Access Signature validation
# --------------------------------------------------------------------------


class AuthError(Exception):
    """A 401: ``code`` is the check that failed, ``message`` explains it."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def detail(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class SigningKey:
    """One acceptable HMAC key.

    ``hmac_key`` is what the service really signs with; ``wrong_mode_key`` is
    what a client using the other service's key mode would have used (only for
    a helpful hint in the 401 detail, never accepted)."""

    hmac_key: bytes
    wrong_mode_key: Optional[bytes] = None


def raw_key(text: str) -> SigningKey:
    """Event Hubs / Service Bus: the key text's own bytes are the HMAC key."""
    decoded = None
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    return SigningKey(text.encode("utf-8"), decoded or None)


def decoded_key(text: str) -> SigningKey:
    """IoT Hub: the base64-decoded key bytes are the HMAC key.

    Raises ValueError (without the key in the message) if not base64."""
    try:
        decoded = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("key is not valid base64") from None
    if not decoded:
        raise ValueError("key is empty")
    return SigningKey(decoded, text.strip().encode("utf-8"))


def parse_sas_token(authorization: Optional[str]) -> dict:
    """Split ``SharedAccessSignature sr=..&sig=..&se=..[&skn=..]`` into its raw
    (still percent-encoded) fields.  Fields may come in any order."""
    if authorization is None or not authorization.strip():
        raise AuthError("MissingToken", "no Authorization header with a SharedAccessSignature")
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() != "sharedaccesssignature":
        raise AuthError(
            "MalformedToken", "the Authorization header must start with 'SharedAccessSignature '"
        )
    fields: dict = {}
    for part in rest.strip().split("&"):
        if not part:
            continue
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or not name:
            raise AuthError("MalformedToken", f"token field {name or part!r} has no '='")
        if name in fields:
            raise AuthError("MalformedToken", f"token field {name!r} appears twice")
        fields[name] = value.strip()
    missing = [f for f in ("sr", "sig", "se") if not fields.get(f)]
    if missing:
        raise AuthError("MalformedToken", "token lacks " + ", ".join(missing))
    return fields


def _sign(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def _strip_scheme(uri: str) -> str:
    low = uri.lower()
    for scheme in ("https://", "http://", "sb://", "amqps://"):
        if low.startswith(scheme):
            return low[len(scheme):]
    return low


def audience_matches(signed_uri: str, resource: str) -> bool:
    """True when ``signed_uri`` (decoded sr) is a path-segment prefix of
    ``resource``; schemes are ignored, comparison is case-insensitive."""
    a = _strip_scheme(signed_uri).rstrip("/")
    r = _strip_scheme(resource).rstrip("/")
    return bool(a) and (r == a or r.startswith(a + "/"))


def _iso(ts: float) -> str:
    try:
        return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return "out of range"


def _signature_hint(fields: dict, sig: str, keys: Sequence[SigningKey], se_raw: str, iot: bool) -> str:
    """Explain the common ways a signature goes wrong, without leaking keys."""
    sr_raw = fields["sr"]
    if " " in sig:
        return " (sig contains a raw '+', which arrives as a space: percent-encode sig)"
    if sig.endswith("\n") or sig.endswith("\r\n"):
        return " (sig ends with a newline: binascii.b2a_base64 adds one)"
    message = (sr_raw + "\n" + se_raw).encode("utf-8")
    for key in keys:
        if key.wrong_mode_key and hmac.compare_digest(_sign(key.wrong_mode_key, message), sig):
            if iot:
                return (" (the signature was made with the key text's ASCII bytes; "
                        "IoT Hub signs with the base64-DECODED key)")
            return (" (the signature was made with the base64-decoded key; Event Hubs/"
                    "Service Bus sign with the key text's ASCII bytes, not decoded)")
    decoded_sr = unquote_plus(sr_raw)
    variants = {
        decoded_sr,
        quote(decoded_sr, safe=""),
        quote(decoded_sr, safe="").lower(),
        re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), sr_raw),
        re.sub(r"%[0-9a-f]{2}", lambda m: m.group(0).upper(), sr_raw),
    } - {sr_raw}
    for variant in variants:
        msg = (variant + "\n" + se_raw).encode("utf-8")
        for key in keys:
            if hmac.compare_digest(_sign(key.hmac_key, msg), sig):
                return (" (the signature is over a different encoding of sr than the sr "
                        "that was sent: sign exactly the bytes you send)")
        for key in keys:
            if hmac.compare_digest(_sign(key.hmac_key, (variant + "\r\n" + se_raw).encode()), sig):
                return " (the string to sign must use LF, not CRLF)"
    return ""


def verify_sas(
    authorization: Optional[str],
    *,
    resource: str,
    now: float,
    keys_by_name: Mapping[Optional[str], Sequence[SigningKey]],
    require_key_name: bool,
    iot: bool = False,
    unknown_name_message: Optional[str] = None,
) -> dict:
    """Validate a SAS token for ``resource``; return its decoded fields.

    ``keys_by_name`` maps the token's skn (``None`` = no skn) to the keys that
    may have signed it.  Checks, in order: well-formed, key name, signature,
    expiry, audience.  Raises AuthError naming the failed check."""
    fields = parse_sas_token(authorization)
    se_raw = fields["se"]
    if not (se_raw.isascii() and se_raw.isdigit()):
        raise AuthError("MalformedToken", "se must be whole seconds since 1970 (digits only)")
    skn = unquote_plus(fields["skn"]) if "skn" in fields else None
    if require_key_name and skn is None:
        raise AuthError("MissingKeyName", "token has no skn (shared access policy name)")
    keys = keys_by_name.get(skn)
    if not keys:
        if unknown_name_message is not None:
            raise AuthError("UnknownKeyName", unknown_name_message.format(skn=skn))
        raise AuthError("UnknownKeyName", f"no shared access policy named {skn!r}")
    sig = unquote_plus(fields["sig"])
    message = (fields["sr"] + "\n" + se_raw).encode("utf-8")
    if not any(hmac.compare_digest(_sign(k.hmac_key, message), sig) for k in keys):
        hint = _signature_hint(fields, sig, keys, se_raw, iot)
        raise AuthError("InvalidSignature", "the token signature is invalid" + hint)
    se = int(se_raw)
    if se <= now:
        raise AuthError(
            "ExpiredToken",
            f"the token expired at se={se} ({_iso(se)}); server time is {int(now)} ({_iso(now)})",
        )
    signed_uri = unquote_plus(fields["sr"])
    if not audience_matches(signed_uri, resource):
        raise AuthError(
            "InvalidAudience", f"token audience {signed_uri!r} does not cover {resource!r}"
        )
    return {"sr": signed_uri, "se": se, "skn": skn}


# --------------------------------------------------------------------------
# Configuration, faults, storage
# --------------------------------------------------------------------------


@dataclass
class Config:
    namespace_host: str = DEFAULT_NAMESPACE_HOST
    policy: str = DEFAULT_POLICY
    eh_keys: list = field(default_factory=list)            # [SigningKey]
    eventhubs: set = field(default_factory=set)            # lower-case names
    queues: set = field(default_factory=set)
    topics: set = field(default_factory=set)
    partitions: int = 4
    iothub_host: str = DEFAULT_IOTHUB_HOST
    devices: dict = field(default_factory=dict)            # "dev" or "dev/mod" -> SigningKey
    iothub_policies: dict = field(default_factory=dict)    # name -> SigningKey
    clock_offset: float = 0.0
    max_size: int = DEFAULT_MAX_SIZE
    idle_timeout: float = 240.0
    chunked: bool = False
    chunk_size: int = 64
    retry_after: int = 1
    verbose: bool = False

    def now(self) -> float:
        return time.time() + self.clock_offset

    def entity_service(self, entity: str) -> Optional[str]:
        """'eventhub', 'queue', 'topic' or None (unknown entity)."""
        name = entity.lower()
        if name in self.queues:
            return "queue"
        if name in self.topics:
            return "topic"
        if name in self.eventhubs:
            return "eventhub"
        if not (self.eventhubs or self.queues or self.topics):
            return "eventhub"        # nothing declared: any entity is an event hub
        return None


@dataclass(frozen=True)
class FaultDecision:
    drop_request: bool = False
    fail_503: bool = False
    fail_429: bool = False
    slow: float = 0.0
    drop_response: bool = False
    cut_fraction: float = 0.0


class Faults:
    """Seeded fault injection; every POST draws exactly six numbers."""

    def __init__(self, *, seed: int, drop_request: float, fail_503: float, fail_429: float,
                 slow: float, slow_p: float, drop_response: float):
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.p = dict(drop_request=drop_request, fail_503=fail_503, fail_429=fail_429,
                      slow=slow, slow_p=slow_p, drop_response=drop_response)

    def draw(self) -> FaultDecision:
        with self._lock:
            r = [self._rng.random() for _ in range(6)]
        p = self.p
        return FaultDecision(
            drop_request=r[0] < p["drop_request"],
            fail_503=r[1] < p["fail_503"],
            fail_429=r[2] < p["fail_429"],
            slow=p["slow"] if (p["slow"] > 0 and r[3] < p["slow_p"]) else 0.0,
            drop_response=r[4] < p["drop_response"],
            cut_fraction=r[5],
        )


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


class EventStore:
    """SQLite storage; one transaction per request, safe across threads."""

    def __init__(self, path: Path, reset: bool = False):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(SCHEMA)
            if reset:
                self._conn.execute("DELETE FROM events")
            self._conn.commit()
            row = self._conn.execute("SELECT COALESCE(MAX(request_id), 0) FROM events").fetchone()
            self._next_request = int(row[0]) + 1

    def store(self, rows: Sequence[EventRow], arrived: float) -> int:
        """Store all rows atomically; return the request id."""
        with self._lock:
            request_id = self._next_request
            with self._conn:  # BEGIN ... COMMIT, or ROLLBACK on error
                self._conn.executemany(
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
            self._next_request += 1
            return request_id

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Output:
    """Line-oriented, flushed, thread-safe stdout."""

    def __init__(self, stream=None):
        self._stream = stream or sys.stdout
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            try:
                self._stream.write(text + "\n")
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                pass


def note(text: str) -> None:
    try:
        sys.stderr.write(f"azure_endpoint: {text}\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass


# --------------------------------------------------------------------------
# Request handling
# --------------------------------------------------------------------------


class BadRequest(Exception):
    def __init__(self, status: int, code: str, message: str, close: bool = False):
        super().__init__(message)
        self.status, self.code, self.message, self.close = status, code, message, close


@dataclass
class Route:
    service: str                  # eventhub | servicebus | iothub
    kind: str                     # eventhub | queue | topic | device | module
    entity: str
    resource: str                 # for the audience check
    publisher: Optional[str] = None
    partition_id: Optional[str] = None
    device_id: Optional[str] = None
    module_id: Optional[str] = None

    @property
    def identity(self) -> str:
        return f"{self.device_id}/{self.module_id}" if self.module_id else str(self.device_id)


REASONS = {
    201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    404: "Not Found", 405: "Method Not Allowed", 411: "Length Required",
    413: "Request Entity Too Large", 429: "Too Many Requests",
    500: "Internal Server Error", 503: "Service Unavailable",
}
IOT_ERROR_CODES = {
    400: "ArgumentInvalid", 401: "IotHubUnauthorizedAccess", 404: "DeviceNotFound",
    405: "ArgumentInvalid", 411: "ArgumentInvalid", 413: "MessageTooLarge",
    429: "ThrottlingException", 500: "ServerError", 503: "ServerBusy",
}


def _header_text(value: str) -> str:
    """http.client decodes header bytes as latin-1; recover UTF-8 when it was."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _media_type(content_type: Optional[str]) -> tuple:
    if not content_type:
        return "", False
    media, sep, _params = content_type.partition(";")
    return media.strip().lower(), bool(sep)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "azure-endpoint/1.0"
    sys_version = ""

    # -- connection setup -------------------------------------------------
    def setup(self):
        cfg: Config = self.server.cfg
        self.timeout = cfg.idle_timeout
        self.request.settimeout(cfg.idle_timeout)
        self.request.do_handshake()
        super().setup()

    def log_message(self, fmt, *args):  # quiet unless --verbose
        if self.server.cfg.verbose:
            note("%s %s" % (self.address_string(), fmt % args))

    # -- methods ----------------------------------------------------------
    def do_POST(self):
        self._handle_post()

    def _not_allowed(self):
        self._faults = FaultDecision()
        try:
            self._read_body(self.server.cfg.max_size)
        except BadRequest:
            self.close_connection = True
        self._send_error(405, "MethodNotAllowed", f"{self.command} is not supported; use POST",
                         iot=self._host() == self.server.cfg.iothub_host,
                         extra=[("Allow", "POST")])

    do_GET = do_PUT = do_DELETE = do_PATCH = _not_allowed

    # -- body ---------------------------------------------------------------
    def _read_exact(self, n: int) -> bytes:
        data = self.rfile.read(n)
        if len(data) != n:
            raise ConnectionError("client closed the connection inside the request body")
        return data

    def _discard(self, n: int) -> None:
        while n > 0:
            got = self.rfile.read(min(n, 65536))
            if not got:
                raise ConnectionError("client closed the connection inside the request body")
            n -= len(got)

    def _read_body(self, limit: int) -> tuple:
        """Return (body, total_size, too_large).  Oversized bodies are read and
        discarded (body is b"").  Raises BadRequest on framing errors."""
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            codings = [c.strip().lower() for c in te.split(",") if c.strip()]
            if codings != ["chunked"]:
                raise BadRequest(400, "BadRequest", f"unsupported Transfer-Encoding {te!r}", close=True)
            return self._read_chunked(limit)
        cl = self.headers.get("Content-Length")
        if cl is None:
            if self.command == "POST":
                raise BadRequest(411, "LengthRequired", "POST needs Content-Length or chunked body",
                                 close=True)
            return b"", 0, False
        cl = cl.strip()
        if not cl.isdigit():
            raise BadRequest(400, "BadRequest", "invalid Content-Length", close=True)
        n = int(cl)
        if n > limit:
            if n > DISCARD_CAP:
                raise BadRequest(413, "MessageSizeExceeded",
                                 f"the request body ({n} bytes) exceeds the limit ({limit} bytes)",
                                 close=True)
            self._discard(n)
            return b"", n, True
        return self._read_exact(n), n, False

    def _read_chunked(self, limit: int) -> tuple:
        parts, kept, total, too_large = [], 0, 0, False
        while True:
            line = self.rfile.readline(1026)
            if not line:
                raise ConnectionError("client closed the connection inside a chunked body")
            size_txt = line.split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_txt):
                raise BadRequest(400, "BadRequest", "malformed chunk size line", close=True)
            size = int(size_txt, 16)
            if size == 0:
                break
            total += size
            if total > DISCARD_CAP:
                raise BadRequest(413, "MessageSizeExceeded",
                                 f"the chunked request body exceeds the limit ({limit} bytes)",
                                 close=True)
            if too_large or kept + size > limit:
                too_large = True
                parts = []
                self._discard(size)
            else:
                parts.append(self._read_exact(size))
                kept += size
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BadRequest(400, "BadRequest", "chunk data not followed by CRLF", close=True)
        while True:  # trailers
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
        return (b"" if too_large else b"".join(parts)), total, too_large

    # -- responses ------------------------------------------------------------
    def _host(self) -> str:
        host = (self.headers.get("Host") or "").strip().lower()
        if host.startswith("["):                       # [v6]:port
            return host[1:].split("]", 1)[0]
        if host.count(":") == 1:
            host = host.split(":", 1)[0]
        return host.rstrip(".")

    def _response_bytes(self, status: int, body: bytes, headers: list, close: bool) -> tuple:
        cfg: Config = self.server.cfg
        reason = REASONS.get(status, "Unknown")
        status_line = f"HTTP/1.1 {status} {reason}\r\n".encode("ascii")
        hdrs = [("Server", self.server_version), ("Date", self.date_time_string())]
        hdrs += headers
        chunk = cfg.chunked and status not in (204, 304) and self.request_version != "HTTP/1.0"
        no_body_allowed = status in (204, 304)
        if chunk:
            hdrs.append(("Transfer-Encoding", "chunked"))
            payload = bytearray()
            first = min(7, cfg.chunk_size)          # an odd first chunk exercises parsers
            pos, size = 0, first
            while pos < len(body):
                piece = body[pos:pos + size]
                payload += b"%x\r\n" % len(piece) + piece + b"\r\n"
                pos += len(piece)
                size = cfg.chunk_size
            payload += b"0\r\n\r\n"
            payload = bytes(payload)
        elif no_body_allowed:
            payload = b""
        else:
            hdrs.append(("Content-Length", str(len(body))))
            payload = body
        if close:
            hdrs.append(("Connection", "close"))
        head = "".join(f"{k}: {v}\r\n" for k, v in hdrs).encode("latin-1") + b"\r\n"
        return status_line, head, payload

    def _send(self, status: int, body: bytes = b"", headers: Optional[list] = None,
              close: bool = False) -> None:
        faults: FaultDecision = getattr(self, "_faults", FaultDecision())
        if faults.slow > 0:
            time.sleep(faults.slow)
        close = close or self.close_connection
        status_line, head, payload = self._response_bytes(status, body, list(headers or []), close)
        self.wfile.write(status_line + head + payload)
        self.wfile.flush()
        if close:
            self.close_connection = True
        if self.server.cfg.verbose:
            self.log_request(status, len(body))

    def _error_body(self, status: int, code: str, message: str, iot: bool) -> tuple:
        tracking = uuid.uuid4().hex
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%m/%d/%Y %H:%M:%S")
        if iot:
            doc = {
                "Message": f"ErrorCode:{IOT_ERROR_CODES.get(status, 'ServerError')};{code}: {message}",
                "ExceptionMessage": f"Tracking ID:{tracking}-G:0-TimeStamp:{stamp}",
            }
            return json.dumps(doc).encode("utf-8"), "application/json; charset=utf-8"
        path = urlsplit(self.path).path
        detail = (f"{code}: {message}. TrackingId:{tracking}_G0, "
                  f"SystemTracker:{self._host()}{path}, Timestamp:{stamp}")
        body = f"<Error><Code>{status}</Code><Detail>{_xml_escape(detail)}</Detail></Error>"
        return body.encode("utf-8"), "application/xml; charset=utf-8"

    def _send_error(self, status: int, code: str, message: str, *, iot: bool,
                    extra: Optional[list] = None, close: bool = False) -> None:
        body, ctype = self._error_body(status, code, message, iot)
        headers = [("Content-Type", ctype)]
        if iot:
            headers.append(("iothub-errorcode", IOT_ERROR_CODES.get(status, "ServerError")))
        headers += extra or []
        self.server.out.line(f"rejected {status} {self._describe()}: {code}: {message}")
        self._send(status, body, headers, close=close)

    def _describe(self, route: Optional[Route] = None) -> str:
        route = route or getattr(self, "_current", None)
        if route is None:
            return f"host={self._host() or '-'} path={urlsplit(self.path).path}"
        if route.service == "iothub":
            s = f"iothub hub={route.entity} device={route.device_id}"
            return s + (f" module={route.module_id}" if route.module_id else "")
        s = f"{route.service} {'hub' if route.kind == 'eventhub' else route.kind}={route.entity}"
        if route.publisher is not None:
            s += f" publisher={route.publisher}"
        if route.partition_id is not None:
            s += f" partition={route.partition_id}"
        return s

    # -- routing ------------------------------------------------------------------
    def _route(self, host: str) -> Optional[Route]:
        cfg: Config = self.server.cfg
        target = self.path
        if "://" in target.split("?", 1)[0]:
            target = urlsplit(target).path or "/"
        path = urlsplit(target).path
        raw = path.split("/")[1:] if path.startswith("/") else []
        if not raw or any(seg == "" for seg in raw):
            return None
        segs = [unquote(seg) for seg in raw]
        if cfg.namespace_host and host == cfg.namespace_host:
            resource = f"https://{cfg.namespace_host}/" + "/".join(segs)
            entity = segs[0]
            kind = cfg.entity_service(entity) or "unknown"
            service = "servicebus" if kind in ("queue", "topic") else "eventhub"
            if len(segs) == 2 and segs[1].lower() == "messages":
                return Route(service, kind, entity, resource)
            if len(segs) == 4 and segs[3].lower() == "messages":
                if segs[1].lower() == "publishers":
                    return Route(service, kind, entity, resource, publisher=segs[2])
                if segs[1].lower() == "partitions":
                    return Route(service, kind, entity, resource, partition_id=segs[2])
            return None
        if cfg.iothub_host and host == cfg.iothub_host:
            hub = cfg.iothub_host.split(".", 1)[0]
            resource = f"{cfg.iothub_host}/" + "/".join(segs)
            low = [s.lower() for s in segs]
            if len(segs) == 4 and low[0] == "devices" and low[2:] == ["messages", "events"]:
                return Route("iothub", "device", hub, resource, device_id=segs[1])
            if (len(segs) == 6 and low[0] == "devices" and low[2] == "modules"
                    and low[4:] == ["messages", "events"]):
                return Route("iothub", "module", hub, resource, device_id=segs[1],
                             module_id=segs[3])
            return None
        return None

    # -- the POST pipeline ------------------------------------------------------------
    def _handle_post(self) -> None:
        cfg: Config = self.server.cfg
        self._current = None
        self._faults = self.server.faults.draw()
        if self._faults.drop_request:
            self._drop_request()
            return
        host = self._host()
        iot = bool(cfg.iothub_host) and host == cfg.iothub_host
        try:
            body, size, too_large = self._read_body(cfg.max_size)
        except BadRequest as e:
            self._send_error(e.status, e.code, e.message, iot=iot, close=e.close)
            if e.close and e.status == 413:
                self._lingering_close()
            return

        if not host:
            self._send_error(400, "BadRequest", "missing Host header", iot=False)
            return
        if host not in (cfg.namespace_host, cfg.iothub_host):
            self._send_error(404, "NotFound", f"no namespace or IoT hub named {host!r} here",
                             iot=False)
            return
        route = self._route(host)
        if route is None:
            self._send_error(404, "NotFound", f"no such endpoint: POST {urlsplit(self.path).path}",
                             iot=iot)
            return
        self._current = route

        try:
            if route.service == "iothub":
                self._authorize_iot(route)
            else:
                self._authorize_sb(route)
        except AuthError as e:
            self._send_error(401, e.code, e.message, iot=iot)
            return
        except BadRequest as e:
            self._send_error(e.status, e.code, e.message, iot=iot, close=e.close)
            return

        try:
            self._check_entity(route)
            if too_large:
                raise BadRequest(413, "MessageSizeExceeded",
                                 f"the request body ({size} bytes) exceeds the limit "
                                 f"({cfg.max_size} bytes)")
            rows = self._events(route, body)
        except BadRequest as e:
            self._send_error(e.status, e.code, e.message, iot=iot, close=e.close)
            return

        retry = [("Retry-After", str(cfg.retry_after))]
        if self._faults.fail_503:
            self.server.out.line(f"fault 503 {self._describe()}")
            self._send_error(503, "ServerBusy",
                             "SubCode=50002. The server is busy. Please retry the operation.",
                             iot=iot, extra=retry)
            return
        if self._faults.fail_429:
            self.server.out.line(f"fault 429 {self._describe()}")
            self._send_error(429, "Throttled",
                             "Too many requests. Please retry the operation later.",
                             iot=iot, extra=retry)
            return

        request_id = self.server.store.store(rows, cfg.now())
        self.server.out.line(
            f"accepted {self._describe()} events={len(rows)} bytes={size} request={request_id}"
        )
        status = 204 if iot else 201
        if self._faults.drop_response:
            self._drop_response(status)
            return
        self._send(status)

    def _drop_request(self) -> None:
        """Read only part of the request, then close: nothing is stored."""
        cl = (self.headers.get("Content-Length") or "").strip()
        try:
            if cl.isdigit():
                self._discard(min(int(cl) // 2, DISCARD_CAP))
            else:
                self.rfile.readline(1026)
        except (ConnectionError, OSError):
            pass
        self.server.out.line(f"fault drop-request {self._describe()}")
        self.close_connection = True
        self._abort()

    def _drop_response(self, status: int) -> None:
        """The events are stored; send part of the status line (or nothing) and close."""
        faults: FaultDecision = self._faults
        if faults.slow > 0:
            time.sleep(faults.slow)
        status_line, _head, _payload = self._response_bytes(status, b"", [], False)
        # at most "HTTP/1.1 " (9 bytes): the client never learns the status code
        cut = min(int(faults.cut_fraction * 10), 9)
        self.server.out.line(f"fault drop-response {self._describe()} sent={cut}")
        try:
            if cut:
                self.wfile.write(status_line[:cut])
                self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True
        self._abort()

    def _abort(self) -> None:
        """Tear the TCP connection down without a TLS close_notify."""
        try:
            raw = socket.socket(fileno=os.dup(self.request.fileno()))
            try:
                raw.shutdown(socket.SHUT_RDWR)
            finally:
                raw.close()
        except OSError:
            pass

    def _lingering_close(self) -> None:
        """After a 413 sent with Connection: close, keep reading for a moment so
        the client's unread upload does not turn into a reset that eats the 413."""
        deadline = time.monotonic() + 2.0
        try:
            self.request.settimeout(0.5)
            while time.monotonic() < deadline:
                if not self.rfile.read1(65536):
                    break
        except (OSError, ValueError):
            pass

    # -- authorization ---------------------------------------------------------------
    def _authorize_sb(self, route: Route) -> None:
        cfg: Config = self.server.cfg
        if not cfg.eh_keys:
            raise AuthError("UnknownKeyName",
                            "this endpoint has no Event Hubs/Service Bus key configured "
                            "(--key or AZURE_ENDPOINT_KEY)")
        verify_sas(
            self.headers.get("Authorization"),
            resource=route.resource,
            now=cfg.now(),
            keys_by_name={cfg.policy: cfg.eh_keys},
            require_key_name=True,
            unknown_name_message="no shared access policy named {skn!r} on this namespace",
        )

    def _authorize_iot(self, route: Route) -> None:
        cfg: Config = self.server.cfg
        auth = self.headers.get("Authorization")
        fields = parse_sas_token(auth)
        if "skn" in fields:
            verify_sas(
                auth, resource=route.resource, now=cfg.now(),
                keys_by_name={name: [key] for name, key in cfg.iothub_policies.items()},
                require_key_name=True, iot=True,
                unknown_name_message=("token carries skn={skn!r}, but device and module keys "
                                      "sign without skn (and no such hub policy exists)"),
            )
            if route.identity not in cfg.devices and route.device_id not in cfg.devices:
                raise BadRequest(404, "DeviceNotFound", f"device {route.identity!r} is not registered")
            return
        key = cfg.devices.get(route.identity)
        if key is None:
            raise AuthError("UnknownDevice", f"no device identity {route.identity!r} in this hub")
        verify_sas(auth, resource=route.resource, now=cfg.now(), keys_by_name={None: [key]},
                   require_key_name=False, iot=True)

    def _check_entity(self, route: Route) -> None:
        cfg: Config = self.server.cfg
        if route.service == "iothub":
            return
        kind = route.kind
        if kind == "unknown":
            raise BadRequest(404, "MessagingEntityNotFound",
                             f"entity {route.entity!r} does not exist in this namespace")
        if kind != "eventhub":
            if route.publisher is not None or route.partition_id is not None:
                raise BadRequest(404, "NotFound",
                                 "publishers/partitions exist only on event hubs, not on a "
                                 f"{kind}")
        if route.partition_id is not None:
            pid = route.partition_id
            if not (pid.isascii() and pid.isdigit() and int(pid) < cfg.partitions):
                raise BadRequest(400, "BadRequest",
                                 f"partition id {pid!r} is not in 0..{cfg.partitions - 1}")

    # -- payload parsing ---------------------------------------------------------------
    def _events(self, route: Route, body: bytes) -> list:
        media, has_params = _media_type(self.headers.get("Content-Type"))
        if route.service == "iothub":
            if media == IOT_BATCH_TYPE:
                return self._iot_batch(route, body)
            return [self._iot_single(route, body)]
        if media == SB_BATCH_TYPE:
            if has_params:
                note(f"warning: batch Content-Type with parameters "
                     f"({self.headers.get('Content-Type')!r}); Azure documents it without")
            return self._sb_batch(route, body)
        return [self._sb_single(route, body)]

    def _sb_single(self, route: Route, body: bytes) -> EventRow:
        props = {}
        for name, value in self.headers.items():
            low = name.lower()
            if low in STANDARD_HEADERS or low.startswith("x-ms-"):
                continue
            props[name] = _header_text(value)
        broker = {}
        raw = self.headers.get("BrokerProperties")
        if raw is not None:
            try:
                broker = json.loads(_header_text(raw))
            except json.JSONDecodeError as e:
                raise BadRequest(400, "BadRequest", f"BrokerProperties is not valid JSON: {e}")
            if not isinstance(broker, dict):
                raise BadRequest(400, "BadRequest", "BrokerProperties must be a JSON object")
        ctype = self.headers.get("Content-Type")
        if ctype is not None and "ContentType" not in broker:
            broker["ContentType"] = ctype
        return EventRow(route.service, route.entity, route.publisher, route.partition_id,
                        self._partition_key(broker, "BrokerProperties"), None, body, props, broker)

    @staticmethod
    def _partition_key(broker: dict, where: str) -> Optional[str]:
        pk = broker.get("PartitionKey")
        if pk is not None and not isinstance(pk, str):
            raise BadRequest(400, "BadRequest", f"{where}.PartitionKey must be a string")
        return pk

    @staticmethod
    def _json_array(body: bytes, what: str) -> list:
        try:
            items = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise BadRequest(400, "BadRequest", f"{what} batch is not UTF-8") from None
        except json.JSONDecodeError as e:
            raise BadRequest(400, "BadRequest", f"{what} batch is not valid JSON: {e}") from None
        if not isinstance(items, list):
            raise BadRequest(400, "BadRequest", f"{what} batch must be a JSON array")
        if not items:
            raise BadRequest(400, "BadRequest", f"{what} batch is empty")
        return items

    def _sb_batch(self, route: Route, body: bytes) -> list:
        rows = []
        for i, item in enumerate(self._json_array(body, "Service Bus")):
            if not isinstance(item, dict):
                raise BadRequest(400, "BadRequest", f"batch element {i} is not a JSON object")
            text = item.get("Body")
            if not isinstance(text, str):
                raise BadRequest(400, "BadRequest", f"batch element {i}: Body must be a JSON string")
            props = item.get("UserProperties", {})
            broker = item.get("BrokerProperties", {})
            if props is None:
                props = {}
            if broker is None:
                broker = {}
            if not isinstance(props, dict) or not isinstance(broker, dict):
                raise BadRequest(400, "BadRequest",
                                 f"batch element {i}: UserProperties/BrokerProperties must be objects")
            rows.append(EventRow(route.service, route.entity, route.publisher, route.partition_id,
                                 self._partition_key(broker, f"element {i} BrokerProperties"),
                                 None, text.encode("utf-8"), props, broker))
        return rows

    def _iot_system(self, route: Route, system: dict) -> dict:
        system["iothub-connection-device-id"] = route.device_id
        if route.module_id:
            system["iothub-connection-module-id"] = route.module_id
        return system

    def _iot_single(self, route: Route, body: bytes) -> EventRow:
        props, system = {}, {}
        for name, value in self.headers.items():
            low = name.lower()
            if low.startswith(IOT_APP_PREFIX):
                props[name[len(IOT_APP_PREFIX):]] = _header_text(value)
            elif low in IOT_SYSTEM_HEADERS:
                system[low] = _header_text(value)
        return EventRow("iothub", route.entity, None, None, None, route.device_id, body, props,
                        self._iot_system(route, system))

    def _iot_batch(self, route: Route, body: bytes) -> list:
        rows = []
        for i, item in enumerate(self._json_array(body, "IoT Hub")):
            if not isinstance(item, dict) or not isinstance(item.get("body"), str):
                raise BadRequest(400, "BadRequest",
                                 f"batch element {i} must be an object with a base64 'body' string")
            try:
                payload = base64.b64decode(item["body"], validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest(400, "BadRequest", f"batch element {i}: body is not valid base64") from None
            raw_props = item.get("properties") or {}
            if not isinstance(raw_props, dict):
                raise BadRequest(400, "BadRequest", f"batch element {i}: properties must be an object")
            props, system = {}, {}
            for name, value in raw_props.items():
                low = str(name).lower()
                if low.startswith(IOT_APP_PREFIX):
                    props[name[len(IOT_APP_PREFIX):]] = value
                elif low.startswith("iothub-"):
                    system[low] = value
                else:
                    props[name] = value
            rows.append(EventRow("iothub", route.entity, None, None, None, route.device_id,
                                 payload, props, self._iot_system(route, system)))
        return rows


class EndpointServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address, cfg: Config, ssl_ctx: ssl.SSLContext, store: EventStore,
                 faults: Faults, out: Output):
        self.cfg, self.ssl_ctx, self.store, self.faults, self.out = cfg, ssl_ctx, store, faults, out
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, TimeoutError, OSError)):
            if self.cfg.verbose or isinstance(exc, ssl.SSLError):
                note(f"connection from {client_address[0]}: {type(exc).__name__}: {exc}")
            return
        super().handle_error(request, client_address)


def make_ssl_context(cert: Path, key: Path, ciphers: Optional[str]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2   # Azure refuses TLS 1.0/1.1 too
    if ciphers:
        ctx.set_ciphers(ciphers)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------


@dataclass
class CertFiles:
    dir: Path

    @property
    def ca_pem(self): return self.dir / "ca.pem"
    @property
    def ca_der(self): return self.dir / "ca.der"
    @property
    def ca_key(self): return self.dir / "ca.key"
    @property
    def server_pem(self): return self.dir / "server.pem"
    @property
    def server_key(self): return self.dir / "server.key"


NOT_BEFORE = _dt.datetime(2000, 1, 1, tzinfo=_dt.timezone.utc)


def _split_names(names: Iterable[str]) -> tuple:
    dns, ips = [], []
    for name in names:
        if not name:
            continue
        try:
            ips.append(ipaddress.ip_address(name))
        except ValueError:
            dns.append(name.lower())
    return sorted(set(dns)), sorted(set(ips), key=str)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def ensure_certs(certs_dir: Path, names: Sequence[str], ca_name: str = DEFAULT_CA_NAME,
                 force: bool = False) -> tuple:
    """Make sure ``certs_dir`` has a CA and a server certificate covering
    ``names``; reuse what is there while valid.  Returns (CertFiles, actions)."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    files = CertFiles(Path(certs_dir))
    files.dir.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now(_dt.timezone.utc)
    margin = _dt.timedelta(days=7)
    dns, ips = _split_names(names)
    actions = []

    def load_cert(path):
        try:
            return x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            return None

    def load_key(path):
        try:
            return serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError):
            return None

    def same_public_key(cert, key):
        fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)

    # ---- CA
    ca_cert = None if force else load_cert(files.ca_pem)
    ca_key = None if force else load_key(files.ca_key)
    ca_ok = (
        ca_cert is not None and ca_key is not None and same_public_key(ca_cert, ca_key)
        and ca_cert.not_valid_after_utc > now + margin
        and ca_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        and ca_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == ca_name
    )
    if not ca_ok:
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "azure_endpoint (local testing only)"),
            x509.NameAttribute(NameOID.COMMON_NAME, ca_name),
        ])
        ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOT_BEFORE)
            .not_valid_after(now + _dt.timedelta(days=365 * 20))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(files.ca_key, ca_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        _write_public(files.ca_pem, ca_cert.public_bytes(serialization.Encoding.PEM))
        actions.append("created CA")
    ca_der = ca_cert.public_bytes(serialization.Encoding.DER)
    if not files.ca_der.exists() or files.ca_der.read_bytes() != ca_der:
        _write_public(files.ca_der, ca_der)
        if ca_ok:
            actions.append("rewrote ca.der")

    # ---- server certificate
    srv_cert = load_cert(files.server_pem) if ca_ok else None
    srv_key = load_key(files.server_key) if ca_ok else None
    srv_ok = False
    if srv_cert is not None and srv_key is not None and same_public_key(srv_cert, srv_key):
        try:
            ca_cert.public_key().verify(srv_cert.signature, srv_cert.tbs_certificate_bytes,
                                        padding.PKCS1v15(), srv_cert.signature_hash_algorithm)
            san = srv_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            have_dns = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
            have_ip = set(san.get_values_for_type(x509.IPAddress))
            srv_ok = (srv_cert.issuer == ca_cert.subject
                      and srv_cert.not_valid_after_utc > now + margin
                      and set(dns) <= have_dns and set(ips) <= have_ip)
        except (InvalidSignature, x509.ExtensionNotFound, ValueError, TypeError):
            srv_ok = False
    if not srv_ok:
        srv_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cn = next((n.lower() for n in names if n and n.lower() in dns), "localhost")
        srv_cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(ca_cert.subject)
            .public_key(srv_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOT_BEFORE)
            .not_valid_after(now + _dt.timedelta(days=365 * 10))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in dns] + [x509.IPAddress(i) for i in ips]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(srv_key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(files.server_key, srv_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        _write_public(files.server_pem, srv_cert.public_bytes(serialization.Encoding.PEM))
        actions.append("created server certificate")
    return files, actions


# --------------------------------------------------------------------------
# dump / count
# --------------------------------------------------------------------------


def _open_db_readonly(path: Path) -> sqlite3.Connection:
    if not Path(path).exists():
        raise SystemExit(f"azure_endpoint: no database at {path}")
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=10)
    return conn


def _preview(data: bytes, width: int) -> str:
    text = bytes(data).decode("utf-8", errors="backslashreplace")
    text = text.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= width else text[: max(width - 3, 0)] + "..."


def cmd_dump(args) -> int:
    conn = _open_db_readonly(args.db)
    sql = ("SELECT id, service, entity, publisher, partition_id, partition_key, device_id, body,"
           " properties, broker_properties, request_id, batch_index FROM events ORDER BY id")
    rows = conn.execute(sql).fetchall()
    if args.limit:
        rows = rows[-args.limit:]
    header = ("id", "service", "entity/device", "publisher", "part", "pkey", "body", "properties")
    table = []
    for (rid, service, entity, publisher, pid, pkey, device, body, props, broker, _req, _idx) in rows:
        if service == "iothub":
            try:
                module = json.loads(broker or "{}").get("iothub-connection-module-id")
            except (json.JSONDecodeError, AttributeError):
                module = None
            where = f"{device}/{module}" if module else str(device)
        else:
            where = str(entity)
        try:
            pj = json.loads(props or "{}")
            ptxt = "" if not pj else json.dumps(pj, ensure_ascii=False, separators=(",", ":"))
        except json.JSONDecodeError:
            ptxt = props or ""
        table.append((str(rid), service or "", where, publisher or "", pid or "", pkey or "",
                      _preview(body or b"", args.width),
                      ptxt if len(ptxt) <= args.width else ptxt[: args.width - 3] + "..."))
    widths = [max([len(h)] + [len(r[i]) for r in table]) for i, h in enumerate(header)]
    fmt = "  ".join("{:<%d}" % w for w in widths[:-1]) + "  {}"
    print(fmt.format(*header))
    print(fmt.format(*["-" * w for w in widths]))
    for r in table:
        print(fmt.format(*r))
    total = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    print(f"({len(table)} of {total} events)")
    return 0


def count_summary(db: Path) -> dict:
    conn = _open_db_readonly(db)
    total = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    requests = conn.execute("SELECT COUNT(DISTINCT request_id) FROM events").fetchone()[0]
    by = conn.execute(
        "SELECT service, CASE WHEN service='iothub' THEN device_id ELSE entity END, COUNT(*)"
        " FROM events GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    dups = conn.execute(
        "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM events GROUP BY service,"
        " entity, publisher, partition_id, partition_key, device_id, body, properties)"
    ).fetchone()[0]
    conn.close()
    return {"events": total, "requests": requests,
            "by_entity": [{"service": s, "entity": e, "events": n} for s, e, n in by],
            "duplicates": dups}


def cmd_count(args) -> int:
    summary = count_summary(args.db)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"events {summary['events']}")
    print(f"requests {summary['requests']}")
    for row in summary["by_entity"]:
        print(f"{row['service']} {row['entity']} {row['events']}")
    print(f"duplicates {summary['duplicates']}")
    return 0


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def _probability(text: str) -> float:
    try:
        p = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError("a probability must be between 0 and 1")
    return p


def _max_size(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 1 <= n <= MAX_MAX_SIZE:
        raise argparse.ArgumentTypeError(f"--max-size must be 1..{MAX_MAX_SIZE}")
    return n


def _named_key(text: str) -> tuple:
    """NAME=BASE64KEY; errors never echo the key."""
    name, eq, key = text.partition("=")
    name = name.strip()
    if not eq or not name or not key.strip():
        raise argparse.ArgumentTypeError("expected NAME=BASE64KEY")
    try:
        return name, decoded_key(key)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"key for {name!r}: {e}") from None


def _env_named_keys(var: str) -> list:
    text = os.environ.get(var, "")
    out = []
    for item in re.split(r"[\s,;]+", text.strip()):
        if item:
            try:
                out.append(_named_key(item))
            except argparse.ArgumentTypeError as e:
                raise SystemExit(f"azure_endpoint: {var}: {e}")
    return out


def build_serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="azure_endpoint.py",
        description="Local HTTPS endpoint that behaves like Azure Event Hubs, Service Bus and "
                    "IoT Hub REST ingestion (SAS-authenticated, stores events in SQLite).",
        epilog="Other subcommands: 'dump --db PATH' (table of stored events), 'count --db PATH "
               "[--json]' (counts, duplicates). Keys: prefer the environment variables "
               "AZURE_ENDPOINT_KEY, AZURE_ENDPOINT_SECONDARY_KEY, AZURE_ENDPOINT_DEVICES "
               "('dev1=KEY dev2/mod=KEY'), AZURE_ENDPOINT_IOTHUB_POLICIES ('name=KEY') so keys "
               "do not show in ps. A second, unrelated CA: --gen-certs-only --certs OTHER_DIR "
               "--ca-name 'Other CA'.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    net = p.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="address to listen on")
    net.add_argument("--port", type=int, default=0, help="port (0 = pick a free one)")
    net.add_argument("--idle-timeout", type=float, default=240.0,
                     help="close idle keep-alive connections after this many seconds")
    net.add_argument("--ciphers", default="DEFAULT",
                     help="OpenSSL cipher list (DEFAULT keeps the CBC suites the CC3200 needs)")

    eh = p.add_argument_group("Event Hubs / Service Bus")
    eh.add_argument("--namespace-host", default=DEFAULT_NAMESPACE_HOST,
                    help="Host header that selects the EH/SB logic ('' disables)")
    eh.add_argument("--policy", default=DEFAULT_POLICY, help="shared access policy name (skn)")
    eh.add_argument("--key", default=None,
                    help="the policy's key text, signed as is (visible in ps: prefer $AZURE_ENDPOINT_KEY)")
    eh.add_argument("--secondary-key", default=None,
                    help="also accept this key (or $AZURE_ENDPOINT_SECONDARY_KEY)")
    eh.add_argument("--eventhub", action="append", default=[], metavar="NAME",
                    help="declare an event hub (repeatable); if no entity is declared "
                         "at all, any name is accepted as an event hub")
    eh.add_argument("--queue", action="append", default=[], metavar="NAME",
                    help="declare a Service Bus queue (repeatable)")
    eh.add_argument("--topic", action="append", default=[], metavar="NAME",
                    help="declare a Service Bus topic (repeatable)")
    eh.add_argument("--partitions", type=int, default=4, help="partitions per event hub")

    iot = p.add_argument_group("IoT Hub")
    iot.add_argument("--iothub-host", default=DEFAULT_IOTHUB_HOST,
                     help="Host header that selects the IoT Hub logic ('' disables)")
    iot.add_argument("--device", action="append", default=[], type=_named_key,
                     metavar="DEVICEID=BASE64KEY",
                     help="register a device (or DEVICEID/MODULEID) and its key (repeatable; "
                          "also $AZURE_ENDPOINT_DEVICES)")
    iot.add_argument("--iothub-policy", action="append", default=[], type=_named_key,
                     metavar="NAME=BASE64KEY",
                     help="hub-level policy (tokens with skn=NAME); also "
                          "$AZURE_ENDPOINT_IOTHUB_POLICIES")

    gen = p.add_argument_group("behaviour")
    gen.add_argument("--clock-offset", type=float, default=0.0,
                     help="seconds added to the server clock (token expiry tests)")
    gen.add_argument("--max-size", type=_max_size, default=DEFAULT_MAX_SIZE,
                     help=f"largest accepted body in bytes (at most {MAX_MAX_SIZE}); larger -> 413")
    gen.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite database")
    gen.add_argument("--reset-db", action="store_true", help="delete stored events at startup")
    gen.add_argument("--verbose", action="store_true", help="log every request on stderr")

    tls = p.add_argument_group("certificates")
    tls.add_argument("--certs", type=Path, default=DEFAULT_CERTS,
                     help="directory with ca.pem, ca.der, ca.key, server.pem, server.key "
                          "(created or refreshed as needed)")
    tls.add_argument("--ca-name", default=DEFAULT_CA_NAME,
                     help="CA common name; a different name in an existing dir makes a new CA")
    tls.add_argument("--san", action="append", default=[], metavar="NAME_OR_IP",
                     help="extra server certificate name (repeatable), e.g. the PC's LAN IP")
    tls.add_argument("--gen-certs-only", action="store_true",
                     help="write the certificates and exit")

    fl = p.add_argument_group("fault injection (deterministic for a given --seed)")
    fl.add_argument("--seed", type=int, default=0, help="random seed")
    fl.add_argument("--fail-503", type=_probability, default=0.0, metavar="P",
                    help="answer 503 Server Busy (SubCode 50002) with Retry-After, store nothing")
    fl.add_argument("--fail-429", type=_probability, default=0.0, metavar="P",
                    help="answer 429 Too Many Requests with Retry-After, store nothing")
    fl.add_argument("--retry-after", type=int, default=1, metavar="N",
                    help="Retry-After seconds sent with 503/429")
    fl.add_argument("--drop-request", type=_probability, default=0.0, metavar="P",
                    help="read part of the request, then close (nothing stored)")
    fl.add_argument("--drop-response", type=_probability, default=0.0, metavar="P",
                    help="store, then close after part of the status line (or nothing)")
    fl.add_argument("--slow", type=float, default=0.0, metavar="S",
                    help="sleep S seconds before responding")
    fl.add_argument("--slow-p", type=_probability, default=1.0, metavar="P",
                    help="probability of --slow")
    fl.add_argument("--chunked", action="store_true",
                    help="send responses with Transfer-Encoding: chunked (not 204s, per RFC 9112)")
    fl.add_argument("--chunk-size", type=int, default=64,
                    help="chunk size for --chunked (the first chunk is at most 7 bytes)")
    return p


def _cert_names(args) -> list:
    return [n for n in (args.namespace_host, args.iothub_host, "localhost", "127.0.0.1", "::1",
                        *args.san) if n]


def cmd_serve(argv: Sequence[str]) -> int:
    parser = build_serve_parser()
    args = parser.parse_args(argv)
    if args.partitions < 1:
        parser.error("--partitions must be at least 1")
    if args.chunk_size < 1:
        parser.error("--chunk-size must be at least 1")

    files, actions = ensure_certs(args.certs, _cert_names(args), args.ca_name)
    for a in actions:
        note(f"{a} in {files.dir}")
    if args.gen_certs_only:
        note(f"certificates ready: {files.ca_pem}, {files.ca_der}, {files.server_pem}")
        return 0

    key = args.key if args.key is not None else os.environ.get("AZURE_ENDPOINT_KEY")
    key2 = (args.secondary_key if args.secondary_key is not None
            else os.environ.get("AZURE_ENDPOINT_SECONDARY_KEY"))
    devices = dict(_env_named_keys("AZURE_ENDPOINT_DEVICES"))
    devices.update(dict(args.device))
    policies = dict(_env_named_keys("AZURE_ENDPOINT_IOTHUB_POLICIES"))
    policies.update(dict(args.iothub_policy))

    cfg = Config(
        namespace_host=args.namespace_host.strip().lower().rstrip("."),
        policy=args.policy,
        eh_keys=[raw_key(k) for k in (key, key2) if k],
        eventhubs={n.lower() for n in args.eventhub},
        queues={n.lower() for n in args.queue},
        topics={n.lower() for n in args.topic},
        partitions=args.partitions,
        iothub_host=args.iothub_host.strip().lower().rstrip("."),
        devices=devices,
        iothub_policies=policies,
        clock_offset=args.clock_offset,
        max_size=args.max_size,
        idle_timeout=args.idle_timeout,
        chunked=args.chunked,
        chunk_size=args.chunk_size,
        retry_after=args.retry_after,
        verbose=args.verbose,
    )
    if cfg.namespace_host and not cfg.eh_keys:
        note("warning: no Event Hubs/Service Bus key (--key or AZURE_ENDPOINT_KEY): "
             "every EH/SB request will get 401")
    faults = Faults(seed=args.seed, drop_request=args.drop_request, fail_503=args.fail_503,
                    fail_429=args.fail_429, slow=args.slow,
                    slow_p=args.slow_p if args.slow > 0 else 0.0,
                    drop_response=args.drop_response)
    store = EventStore(args.db, reset=args.reset_db)
    ssl_ctx = make_ssl_context(files.server_pem, files.server_key, args.ciphers)
    out = Output()
    server = EndpointServer((args.host, args.port), cfg, ssl_ctx, store, faults, out)

    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="serve", daemon=True)
    thread.start()
    port = server.server_address[1]
    note(f"listening on {args.host}:{port}; eventhub/servicebus host "
         f"{cfg.namespace_host or '(off)'} policy {cfg.policy} "
         f"({len(cfg.eh_keys)} key(s)); iothub host {cfg.iothub_host or '(off)'} "
         f"devices [{', '.join(sorted(cfg.devices)) or '-'}]; db {args.db}; ca {files.ca_pem}")
    out.line(f"READY port={port}")
    try:
        while not stop.wait(0.1):
            pass
    finally:
        server.shutdown()
        server.server_close()
        store.close()
        note("stopped")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("dump", "count"):
        sub = argparse.ArgumentParser(prog=f"azure_endpoint.py {argv[0]}")
        sub.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite database")
        if argv[0] == "dump":
            sub.add_argument("--limit", type=int, default=0, help="only the last N events")
            sub.add_argument("--width", type=int, default=40, help="preview width")
            return cmd_dump(sub.parse_args(argv[1:]))
        sub.add_argument("--json", action="store_true", help="print one JSON object")
        return cmd_count(sub.parse_args(argv[1:]))
    if argv and argv[0] == "serve":
        argv = argv[1:]
    return cmd_serve(argv)


if __name__ == "__main__":
    sys.exit(main())
