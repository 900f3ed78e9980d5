"""The HTTP side: one handler for every route, the request pipeline (faults,
body, host, route, method, token, action), response framing and the server.

Routing is by ``Host`` (port stripped): the namespace host goes to Event
Hubs / Service Bus, the IoT hub host to IoT Hub, the DPS host to DPS; each
service's module matches its paths (``route_*`` functions) and names an
action; ``ACTIONS`` maps an action to its handler method per HTTP method."""

from __future__ import annotations

import datetime as _dt
import http.server
import json
import os
import re
import socket
import socketserver
import ssl
import sys
import time
import uuid
from typing import Optional
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape as _xml_escape

from . import c2d, dps, ingest, revocation, servicebus
from .auth import AuthError
from .common import DISCARD_CAP, REASONS, BadRequest, Output, Route, note
from .config import Config
from .faults import FaultDecision, Faults
from .store import Store

IOT_ERROR_CODES = {
    400: "ArgumentInvalid", 401: "IotHubUnauthorizedAccess", 404: "DeviceNotFound",
    405: "ArgumentInvalid", 411: "ArgumentInvalid", 412: "PreconditionFailed",
    413: "MessageTooLarge", 429: "ThrottlingException", 500: "ServerError", 503: "ServerBusy",
}
# DPS answers errors with a numeric errorCode (status * 1000 + detail).
DPS_ERROR_CODES = {
    400: 400004, 401: 401002, 404: 404201, 405: 405000, 411: 411000, 412: 412000,
    413: 413000, 429: 429001, 500: 500000, 503: 503000,
}

# action -> {HTTP method: handler method name}
ACTIONS: dict = {}
for _module in (ingest, servicebus, c2d, dps, revocation):
    ACTIONS.update(_module.ACTIONS)


class Handler(ingest.IngestRoutes, servicebus.ServiceBusRoutes, c2d.C2DRoutes, dps.DpsRoutes,
              revocation.RevocationRoutes, http.server.BaseHTTPRequestHandler):
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

    @property
    def cfg(self) -> Config:
        return self.server.cfg

    @property
    def store(self) -> Store:
        return self.server.store

    @property
    def out(self) -> Output:
        return self.server.out

    # -- methods ----------------------------------------------------------
    def _dispatch(self) -> None:
        self._pipeline()

    do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _dispatch

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

    def _flavor(self) -> str:
        """Which service's error format: 'iot', 'dps' or 'sb' (XML)."""
        host = self._host()
        if self.cfg.iothub_host and host == self.cfg.iothub_host:
            return "iot"
        if self.cfg.dps_host and host == self.cfg.dps_host:
            return "dps"
        return "sb"

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

    def _reply(self, status: int, body: bytes = b"", headers: Optional[list] = None) -> None:
        """A success response, or the drop-response fault (the state change
        already happened: the client just never learns of it)."""
        if self._faults.drop_response:
            self._drop_response(status)
            return
        self._send(status, body, headers)

    def _error_body(self, status: int, code: str, message: str, flavor: str) -> tuple:
        tracking = uuid.uuid4().hex
        now = _dt.datetime.now(_dt.timezone.utc)
        stamp = now.strftime("%m/%d/%Y %H:%M:%S")
        if flavor == "iot":
            doc = {
                "Message": f"ErrorCode:{IOT_ERROR_CODES.get(status, 'ServerError')};{code}: {message}",
                "ExceptionMessage": f"Tracking ID:{tracking}-G:0-TimeStamp:{stamp}",
            }
            return json.dumps(doc).encode("utf-8"), "application/json; charset=utf-8"
        if flavor == "dps":
            doc = {"errorCode": DPS_ERROR_CODES.get(status, status * 1000),
                   "trackingId": tracking, "message": f"{code}: {message}",
                   "timestampUtc": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
            return json.dumps(doc).encode("utf-8"), "application/json; charset=utf-8"
        path = urlsplit(self.path).path
        detail = (f"{code}: {message}. TrackingId:{tracking}_G0, "
                  f"SystemTracker:{self._host()}{path}, Timestamp:{stamp}")
        body = f"<Error><Code>{status}</Code><Detail>{_xml_escape(detail)}</Detail></Error>"
        return body.encode("utf-8"), "application/xml; charset=utf-8"

    def _send_error(self, status: int, code: str, message: str, *,
                    extra: Optional[list] = None, close: bool = False) -> None:
        flavor = self._flavor()
        body, ctype = self._error_body(status, code, message, flavor)
        headers = [("Content-Type", ctype)]
        if flavor == "iot":
            headers.append(("iothub-errorcode", IOT_ERROR_CODES.get(status, "ServerError")))
        elif flavor == "dps":
            headers.append(("x-ms-error-code", str(DPS_ERROR_CODES.get(status, status * 1000))))
        headers += extra or []
        self.out.line(f"rejected {status} {self._describe()}: {code}: {message}")
        self._send(status, body, headers, close=close)

    def _describe(self, route: Optional[Route] = None) -> str:
        route = route or getattr(self, "_current", None)
        if route is None:
            return f"host={self._host() or '-'} path={urlsplit(self.path).path}"
        if route.service == "dps":
            return f"dps scope={route.entity} registration={route.registration_id}"
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
    def _segments(self) -> Optional[list]:
        """The decoded path segments, or None if the path has empty ones."""
        target = self.path
        if "://" in target.split("?", 1)[0]:
            target = urlsplit(target).path or "/"
        path = urlsplit(target).path
        raw = path.split("/")[1:] if path.startswith("/") else []
        if not raw or any(seg == "" for seg in raw):
            return None
        return [unquote(seg) for seg in raw]

    def _route(self, host: str) -> Optional[Route]:
        cfg = self.cfg
        segs = self._segments()
        if segs is None:
            return None
        if cfg.namespace_host and host == cfg.namespace_host:
            return (ingest.route_namespace(cfg, segs) or revocation.route(cfg, segs)
                    or servicebus.route(cfg, segs))
        if cfg.iothub_host and host == cfg.iothub_host:
            return ingest.route_iothub(cfg, segs) or c2d.route(cfg, segs)
        if cfg.dps_host and host == cfg.dps_host:
            return dps.route(cfg, segs)
        return None

    def _query(self) -> dict:
        return {k.lower(): v[-1] for k, v in
                parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}

    # -- the pipeline, for every method ----------------------------------------------
    def _pipeline(self) -> None:
        cfg = self.cfg
        self._current = None
        self._faults = self.server.faults.draw()
        if self._faults.drop_request:
            self._drop_request()
            return
        host = self._host()
        try:
            body, size, too_large = self._read_body(cfg.max_size)
        except BadRequest as e:
            self._send_error(e.status, e.code, e.message, close=e.close)
            if e.close and e.status == 413:
                self._lingering_close()
            return

        if not host:
            self._send_error(400, "BadRequest", "missing Host header")
            return
        if host not in [h for h in (cfg.namespace_host, cfg.iothub_host, cfg.dps_host) if h]:
            self._send_error(404, "NotFound",
                             f"no namespace, IoT hub or provisioning service named {host!r} here")
            return
        route = self._route(host)
        if route is None:
            self._send_error(404, "NotFound",
                             f"no such endpoint: {self.command} {urlsplit(self.path).path}")
            return
        self._current = route
        methods = ACTIONS[route.action]
        if self.command not in methods:
            allowed = ", ".join(methods)
            self._send_error(405, "MethodNotAllowed",
                             f"{self.command} is not supported here; use {allowed}",
                             extra=[("Allow", allowed)])
            return

        try:
            if route.service == "dps":
                self._authorize_dps(route)
            elif route.service == "iothub":
                self._authorize_iot(route)
            else:
                self._authorize_sb(route)
        except AuthError as e:
            self._send_error(401, e.code, e.message)
            return
        except BadRequest as e:
            self._send_error(e.status, e.code, e.message, close=e.close, extra=e.extra)
            return

        try:
            getattr(self, methods[self.command])(route, body, size, too_large)
        except BadRequest as e:
            self._send_error(e.status, e.code, e.message, close=e.close, extra=e.extra)

    def _refused_by_fault(self) -> bool:
        """503/429 with Retry-After, drawn per request; True if sent (then
        nothing may change)."""
        retry = [("Retry-After", str(self.cfg.retry_after))]
        if self._faults.fail_503:
            self.out.line(f"fault 503 {self._describe()}")
            self._send_error(503, "ServerBusy",
                             "SubCode=50002. The server is busy. Please retry the operation.",
                             extra=retry)
            return True
        if self._faults.fail_429:
            self.out.line(f"fault 429 {self._describe()}")
            self._send_error(429, "Throttled",
                             "Too many requests. Please retry the operation later.", extra=retry)
            return True
        return False

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



class EndpointServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address, cfg: Config, ssl_ctx: ssl.SSLContext, store: Store,
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

