"""Constants, the stdout protocol, request errors and small helpers shared by
the endpoint's modules."""

from __future__ import annotations

import datetime as _dt
import sys
import threading
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Optional

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_DB = REPO_ROOT / "build" / "endpoint.sqlite3"
DEFAULT_CERTS = REPO_ROOT / "build" / "certs"
DEFAULT_NAMESPACE_HOST = "demo-ns.servicebus.windows.net"
DEFAULT_IOTHUB_HOST = "demo-hub.azure-devices.net"
DEFAULT_DPS_HOST = "global.azure-devices-provisioning.net"
DEFAULT_ID_SCOPE = "0ne00000A0A"
DEFAULT_POLICY = "DataProducer"
DEFAULT_MANAGE_POLICY = "RootManageSharedAccessKey"
DEFAULT_CA_NAME = "azure_endpoint development CA"
DEFAULT_MAX_SIZE = 256 * 1024
MAX_MAX_SIZE = 1024 * 1024
# Bodies above --max-size are read and thrown away (so keep-alive survives and
# the client sees the 413) up to this many bytes; beyond it the connection is
# closed after the 413.
DISCARD_CAP = 16 * 1024 * 1024

SB_BATCH_TYPE = "application/vnd.microsoft.servicebus.json"
IOT_BATCH_TYPE = "application/vnd.microsoft.iothub.json"

REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request",
    401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 410: "Gone",
    411: "Length Required", 412: "Precondition Failed", 413: "Request Entity Too Large",
    429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
}


class BadRequest(Exception):
    """An error response: status, an Azure-like code and a message.  ``extra``
    are additional response headers (e.g. Allow)."""

    def __init__(self, status: int, code: str, message: str, close: bool = False,
                 extra: Optional[list] = None):
        super().__init__(message)
        self.status, self.code, self.message, self.close = status, code, message, close
        self.extra = extra or []


@dataclass
class Route:
    """What a request addresses.  ``action`` selects the handler (see
    server.ACTIONS); the other fields are filled as the path provides them."""

    service: str                  # eventhub | servicebus | iothub | dps
    kind: str                     # eventhub | queue | topic | subscription | device | module | dps | unknown
    entity: str                   # entity path (queue, topic/subscriptions/sub), hub name, id scope
    resource: str                 # for the audience check
    action: str = "send"
    publisher: Optional[str] = None
    partition_id: Optional[str] = None
    device_id: Optional[str] = None
    module_id: Optional[str] = None
    message_ref: Optional[str] = None      # SB sequence number / message id in a Location
    lock_token: Optional[str] = None
    registration_id: Optional[str] = None
    operation_id: Optional[str] = None

    @property
    def identity(self) -> str:
        return f"{self.device_id}/{self.module_id}" if self.module_id else str(self.device_id)


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


def iso(ts: float) -> str:
    """Seconds since 1970 as ``2026-11-30T13:49:34Z``."""
    try:
        return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return "out of range"


def iso_ms(ts: float) -> str:
    """ISO 8601 with milliseconds, as DPS writes its timestamps."""
    d = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def http_date(ts: float) -> str:
    """RFC 1123 (``Sun, 06 Nov 1994 08:49:37 GMT``), as Service Bus writes
    EnqueuedTimeUtc / LockedUntilUtc."""
    return formatdate(ts, usegmt=True)


def header_text(value: str) -> str:
    """http.client decodes header bytes as latin-1; recover UTF-8 when it was."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def media_type(content_type: Optional[str]) -> tuple:
    if not content_type:
        return "", False
    media, sep, _params = content_type.partition(";")
    return media.strip().lower(), bool(sep)
