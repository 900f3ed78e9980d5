"""IoT Hub's MQTT 3.1.1 over TLS (shared/docs/azure-mqtt.md §1-§5, §10): an
asyncio listener in its own thread next to the threaded HTTPS server, sharing
its Config, Store (the same SQLite file), TLS context and stdout.

Packets are read and written by amqtt's classes (mqtt_codec.py); the IoT Hub
rules are here:

* CONNECT: client id = device id (``device/module`` for a module), username
  ``{hub host}/{id}/?api-version=..`` (further ``&`` parameters accepted),
  password = SAS token, checked by the HTTPS path's code (ingest.authorize_iot:
  device keys, hub policies, devices DPS assigned).  Level != 4 -> CONNACK 1;
  empty client id -> 2; malformed username, no password, client id and
  username disagreeing -> 4; a token refused -> 5; refusing (fault) -> 3.
  A second connection of the same identity drops the first.  Clean session 0
  keeps the subscriptions (in memory, while the server runs) and CONNACK says
  session present.
* Keep-alive: closed after 1.5 x keep-alive of silence, at most 1767 s
  (keep-alive 0 too); CONNECT must come within 10 s of the TLS handshake.
* Telemetry ``devices/{id}/messages/events/{bag}`` -> one row in ``events``
  (service iothub, the bag's application properties as properties, ``$.x``
  system properties under the HTTPS names in broker_properties, plus
  iothub-connection-device-id), committed before the PUBACK (QoS 1).  RETAIN
  adds the application property ``mqtt-retain=true``.  QoS 2 closes.
* SUBSCRIBE: only the documented filters, granted min(requested, 1); any
  other filter closes the connection (as IoT Hub does).  UNSUBSCRIBE works.
* Twin: GET -> ``res/200`` with both documents; reported PATCH -> ``res/204``
  with the new ``$version`` (``res/400`` for a patch IoT Hub refuses).
  Desired patches from the CLI, direct methods from the CLI (mailbox.py).
  Twin answers, desired patches and method requests go out at QoS 0.
* Cloud-to-device: the HTTPS path's queue (c2d.py): a queued message for a
  connected device subscribed to devicebound goes out at QoS 1 with its bag
  (``%24.mid``, ``%24.to``, ``%24.cid``, ``%24.ct``, ``%24.ce``, ``%24.exp``,
  application properties), locked like an HTTPS receive; the PUBACK completes
  it; a drop puts the unacknowledged ones back in the queue (next connect
  delivers them again, delivery count + 1, DUP set).
* Will: emitted as telemetry with ``iothub-MessageType=Will`` when the
  connection ends without DISCONNECT (not when a newer connection replaced it).

Faults (MqttOptions): drop every Nth telemetry PUBLISH before storing it
(``drop_publish``) or after storing it, before the PUBACK (``drop_puback``);
delay PUBACKs; refuse every CONNECT; refuse for S seconds after each drop
the endpoint causes; close when the token's ``se`` passes; answer every Nth
twin request with 429 (or another status).

stdout lines (see also azure_endpoint.py's docstring): ``MQTT-READY port=N``,
``mqtt connected ...``, ``mqtt refused ...``, ``mqtt closed ...``,
``accepted iothub ... transport=mqtt``, ``delivered c2d ... transport=mqtt``,
``completed c2d ...``, ``twin ...``, ``method ...``, ``fault mqtt-...``."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import quote

from . import c2d, mailbox, twin
from . import iothub_topics as topics
from . import mqtt_codec as codec
from .auth import AuthError
from .common import BadRequest, Output, note
from .config import Config
from .ingest import authorize_iot
from .store import EventRow, Store

DEFAULT_PORT = 8883
MAX_MESSAGE = 256 * 1024
MAX_PACKET = MAX_MESSAGE + 64 * 1024          # body + topic + bag
KEEPALIVE_CAP = 1767.0
C2D_WINDOW = 8                                  # C2D messages in flight per connection

CONNACK_ACCEPTED, CONNACK_PROTOCOL, CONNACK_IDENTIFIER = 0, 1, 2
CONNACK_UNAVAILABLE, CONNACK_BAD_CREDENTIALS, CONNACK_NOT_AUTHORIZED = 3, 4, 5


@dataclass
class MqttOptions:
    port: Optional[int] = None            # None: no MQTT listener
    drop_publish: int = 0                 # every Nth telemetry PUBLISH: close, store nothing
    drop_puback: int = 0                  # every Nth: store, then close before the PUBACK
    delay_puback_ms: int = 0
    refuse_connect: bool = False          # every CONNECT -> CONNACK 3
    refuse_seconds: float = 0.0           # after each endpoint-made drop
    token_expiry_disconnect: bool = False
    twin_fail: int = 0                    # every Nth twin request fails
    twin_fail_status: int = 429
    connect_timeout: float = 10.0
    poll_interval: float = 0.05


class _Closed(Exception):
    pass


@dataclass
class Session:
    """What survives a connection with clean session 0."""
    subscriptions: dict = field(default_factory=dict)      # filter -> granted QoS


class MqttServer:
    def __init__(self, cfg: Config, opts: MqttOptions, ssl_ctx: ssl.SSLContext, store: Store,
                 out: Output, host: str = "127.0.0.1"):
        self.cfg, self.opts, self.ssl_ctx, self.store, self.out = cfg, opts, ssl_ctx, store, out
        self.host = host
        self.port: Optional[int] = None
        self.connections: dict = {}       # identity -> Connection
        self.sessions: dict = {}          # identity -> Session
        self.refuse_until = 0.0
        self.telemetry_count = 0
        self.twin_count = 0
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle (called from the main thread) ---------------------------------------
    def start(self) -> int:
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self.port

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:     # noqa: BLE001 - reported to start()
            if not self._ready.is_set():
                self._error = e
                self._ready.set()
            else:
                note(f"mqtt: listener stopped: {type(e).__name__}: {e}")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._accept, self.host, self.opts.port,
                                            ssl=self.ssl_ctx, ssl_handshake_timeout=10)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        poller = asyncio.create_task(self._poll())
        try:
            await self._stop.wait()
        finally:
            poller.cancel()
            server.close()
            for conn in list(self.connections.values()):
                conn.abort("server stopping", will=False)

    async def _accept(self, reader, writer) -> None:
        conn = Connection(self, reader, writer)
        try:
            await conn.run()
        except Exception as e:          # noqa: BLE001 - one connection never stops the server
            note(f"mqtt: connection error: {type(e).__name__}: {e}")
            conn.abort(f"internal error {type(e).__name__}")

    # -- shared state -------------------------------------------------------------------------
    def now(self) -> float:
        return self.cfg.now()

    def refusing(self) -> bool:
        return self.opts.refuse_connect or time.monotonic() < self.refuse_until

    def dropped_by_fault(self) -> None:
        if self.opts.refuse_seconds > 0:
            self.refuse_until = max(self.refuse_until,
                                    time.monotonic() + self.opts.refuse_seconds)

    # -- the mailbox, C2D and timeouts, every poll_interval ------------------------------------
    async def _poll(self) -> None:
        while True:
            try:
                self._poll_once()
            except Exception as e:      # noqa: BLE001 - a locked DB must not end the loop
                note(f"mqtt: poll: {type(e).__name__}: {e}")
            await asyncio.sleep(self.opts.poll_interval)

    def _poll_once(self) -> None:
        for row in mailbox.pending(self.store):
            getattr(self, f"_request_{row['kind']}", self._request_unknown)(row)
        for rid in mailbox.expire_methods(self.store, time.time()):
            self.out.line(f"method timeout rid={rid}")
        self._deliver_c2d()

    def _request_unknown(self, row: dict) -> None:
        mailbox.finish(self.store, row["id"], "failed", status=400,
                       error=f"unknown request kind {row['kind']!r}")

    def _request_drop(self, row: dict) -> None:
        targets = [c for ident, c in self.connections.items()
                   if row["device_id"] in (None, ident, ident.split("/")[0])]
        seconds = float(row["number"] or 0)
        if seconds > 0:
            self.refuse_until = max(self.refuse_until, time.monotonic() + seconds)
        for conn in targets:
            conn.abort("dropped by mqtt-drop", fault=True)
        self.out.line(f"fault mqtt-drop connections={len(targets)} refuse-seconds={seconds:g}")
        mailbox.finish(self.store, row["id"], "done", status=200,
                       response=json.dumps({"dropped": len(targets)}).encode())

    def _request_desired(self, row: dict) -> None:
        identity, version = row["device_id"], int(row["number"])
        conn = self.connections.get(identity)
        if conn is None or topics.TWIN_DESIRED not in conn.subscriptions:
            self.out.line(f"twin desired-patch device={identity} version={version} sent=0")
            mailbox.finish(self.store, row["id"], "done", status=404,
                           error="the device is not connected or not subscribed to "
                                 "desired property patches")
            return
        conn.send(codec.publish(f"$iothub/twin/PATCH/properties/desired/?$version={version}",
                                bytes(row["payload"] or b"")))
        self.out.line(f"twin desired-patch device={identity} version={version} sent=1")
        mailbox.finish(self.store, row["id"], "done", status=200)

    def _request_method(self, row: dict) -> None:
        identity = row["device_id"]
        conn = self.connections.get(identity)
        if conn is None or topics.METHODS not in conn.subscriptions:
            why = ("is not connected" if conn is None
                   else "has not subscribed to $iothub/methods/POST/#")
            mailbox.finish(self.store, row["id"], "failed", status=404,
                           error=f"DeviceNotOnline: device {identity!r} {why}")
            self.out.line(f"method not-delivered device={identity} name={row['name']} "
                          f"rid={row['id']}")
            return
        if not mailbox.finish(self.store, row["id"], "sent", from_states=("pending",)):
            return
        conn.send(codec.publish(f"$iothub/methods/POST/{quote(row['name'], safe='')}/"
                                f"?$rid={row['id']}", bytes(row["payload"] or b"")))
        self.out.line(f"method sent device={identity} name={row['name']} rid={row['id']}")

    def _deliver_c2d(self) -> None:
        ready = [c for c in self.connections.values() if c.c2d_subscribed and
                 len(c.c2d_inflight) < C2D_WINDOW and c.module_id is None]
        if not ready:
            return
        now = self.now()
        waiting = {r[0] for r in self.store.query(
            "SELECT DISTINCT device_id FROM c2d_messages WHERE state='queued' OR"
            " (state='locked' AND locked_until<=?)", (now,))}
        for conn in ready:
            while conn.device_id in waiting and len(conn.c2d_inflight) < C2D_WINDOW:
                msg = c2d.take_next(self.store, conn.device_id, now,
                                    lock_seconds=self.cfg.c2d_lock_seconds,
                                    max_delivery=self.cfg.c2d_max_delivery)
                if msg is None:
                    break
                conn.send_c2d(msg)


class Connection:
    def __init__(self, server: MqttServer, reader, writer):
        self.server, self.reader, self.writer = server, reader, writer
        self.cfg, self.store, self.out = server.cfg, server.store, server.out
        self.identity = ""
        self.device_id = ""
        self.module_id: Optional[str] = None
        self.subscriptions: dict = {}
        self.c2d_inflight: dict = {}          # packet id -> c2d message dict
        self.will: Optional[tuple] = None     # (topic, payload, retain)
        self.closed = False
        self.registered = False               # accepted: in server.connections
        self._next_pid = 0
        self._timers: list = []
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.peer = f"{peer[0]}:{peer[1]}"

    # -- output -----------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if not self.closed:
            self.writer.write(data)

    def _packet_id(self) -> int:
        for _ in range(65535):
            self._next_pid = self._next_pid % 65535 + 1
            if self._next_pid not in self.c2d_inflight:
                return self._next_pid
        raise RuntimeError("no free packet id")

    def _describe(self) -> str:
        s = f"iothub hub={self.cfg.iothub_name} device={self.device_id}"
        return s + (f" module={self.module_id}" if self.module_id else "")

    # -- closing ------------------------------------------------------------------------------
    def abort(self, reason: str, will: bool = True, fault: bool = False) -> None:
        """Close without a word (as a network drop looks), release what the
        connection held, emit the will (unless ``will`` is False)."""
        if self.closed:
            return
        self.closed = True
        for timer in self._timers:
            timer.cancel()
        try:
            self.writer.transport.abort()
        except Exception:               # noqa: BLE001
            pass
        self._release(reason, will)
        if fault:
            self.server.dropped_by_fault()

    def _release(self, reason: str, will: bool) -> None:
        srv = self.server
        if not self.registered:
            return
        if srv.connections.get(self.identity) is self:
            del srv.connections[self.identity]
        now = self.server.now()
        for msg in self.c2d_inflight.values():
            c2d.settle(self.store, self.device_id, msg["lock_token"], now, "queued")
        self.c2d_inflight.clear()
        if will and self.will is not None:
            self._emit_will()
        self.out.line(f"mqtt closed device={self.identity} reason={reason}")

    def _emit_will(self) -> None:
        topic, payload, retain = self.will
        self.will = None
        try:
            self._store_telemetry(topics.parse_publish_topic(topic), payload, retain,
                                  extra={"iothub-MessageType": "Will"})
        except Exception as e:          # noqa: BLE001
            note(f"mqtt: will of {self.identity}: {e}")

    async def _graceful_close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        for timer in self._timers:
            timer.cancel()
        self._release(reason, will=False)
        try:
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except Exception:               # noqa: BLE001
            self.writer.transport.abort()

    # -- the connection's life ------------------------------------------------------------------
    async def run(self) -> None:
        opts = self.server.opts
        try:
            pkt = await asyncio.wait_for(codec.read_packet(self.reader, MAX_PACKET),
                                         opts.connect_timeout)
        except (asyncio.TimeoutError, codec.ProtocolViolation, ConnectionError,
                asyncio.IncompleteReadError, ssl.SSLError, OSError) as e:
            note(f"mqtt: {self.peer}: no CONNECT ({type(e).__name__}: {e})")
            self.abort("no CONNECT", will=False)
            return
        if pkt is None:
            self.abort("closed before CONNECT", will=False)
            return
        if pkt.fixed_header.packet_type != codec.CONNECT:
            note(f"mqtt: {self.peer}: first packet is not CONNECT")
            self.abort("first packet not CONNECT", will=False)
            return
        keepalive = await self._connect(pkt)
        if keepalive is None:
            return
        limit = min(keepalive * 1.5, KEEPALIVE_CAP) if keepalive else KEEPALIVE_CAP
        reason, will = "closed by the device", True
        try:
            while not self.closed:
                try:
                    pkt = await asyncio.wait_for(codec.read_packet(self.reader, MAX_PACKET), limit)
                except asyncio.TimeoutError:
                    reason = f"keep-alive: nothing for {limit:g} s"
                    break
                if pkt is None:
                    break
                if await self._handle(pkt) is False:
                    reason, will = "DISCONNECT", False
                    break
                await self.writer.drain()
        except codec.ProtocolViolation as e:
            reason = f"protocol violation: {e}"
        except _Closed as e:
            reason = str(e)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError) as e:
            reason = f"connection lost ({type(e).__name__})"
        if not will:
            await self._graceful_close(reason)
        else:
            self.abort(reason)

    async def _connect(self, pkt) -> Optional[int]:
        """Check CONNECT; answer CONNACK.  Returns the keep-alive, or None if
        refused (the connection is then closed)."""
        srv, vh, p = self.server, pkt.variable_header, pkt.payload
        self.identity = p.client_id or ""

        async def refuse(code: int, why: str) -> None:
            self.out.line(f"mqtt refused code={code} device={self.identity or '-'}: {why}")
            self.send(codec.connack(code))
            await self._graceful_close("refused")

        if vh.proto_name != "MQTT" or vh.proto_level != 4:
            await refuse(CONNACK_PROTOCOL, f"protocol {vh.proto_name!r} level {vh.proto_level} "
                                           "(IoT Hub speaks MQTT 3.1.1: 'MQTT' level 4)")
            return None
        if vh.reserved_flag or (not vh.will_flag and (vh.will_qos or vh.will_retain_flag)) \
                or vh.will_qos == 3 or (vh.password_flag and not vh.username_flag):
            note(f"mqtt: {self.peer}: malformed CONNECT flags {vh.flags:#04x}")
            self.abort("malformed CONNECT flags", will=False)
            return None
        if not self.identity:
            await refuse(CONNACK_IDENTIFIER, "empty client id (IoT Hub needs the device id)")
            return None
        if srv.refusing():
            await refuse(CONNACK_UNAVAILABLE, "server unavailable (fault injection)")
            return None
        device, _, module = self.identity.partition("/")
        if not device or "/" in module:
            await refuse(CONNACK_IDENTIFIER, f"client id {self.identity!r} is not "
                                             "'device' or 'device/module'")
            return None
        self.device_id, self.module_id = device, module or None
        user = p.username or ""
        host, _, rest = user.partition("/")
        path, q, _query = rest.partition("?")
        if not q or host.lower().rstrip(".") != self.cfg.iothub_host or \
                path != self.identity + "/":
            await refuse(CONNACK_BAD_CREDENTIALS,
                         f"username {user!r} is not '{self.cfg.iothub_host}/{self.identity}/"
                         "?api-version=...'")
            return None
        if p.password is None:
            await refuse(CONNACK_BAD_CREDENTIALS, "no password (a SAS token)")
            return None
        resource = f"{self.cfg.iothub_host}/devices/{device}"
        if module:
            resource += f"/modules/{module}"
        try:
            checked = authorize_iot(self.cfg, self.store, p.password, resource, self.identity,
                                    device)
        except AuthError as e:
            await refuse(CONNACK_NOT_AUTHORIZED, e.detail)
            return None
        except BadRequest as e:
            await refuse(CONNACK_NOT_AUTHORIZED, f"{e.code}: {e.message}")
            return None
        if vh.will_flag:
            try:
                wt = topics.parse_publish_topic(p.will_topic or "")
            except topics.BagError:
                wt = None
            if wt is None or wt.kind != "telemetry" or \
                    (wt.device_id, wt.module_id) != (self.device_id, self.module_id):
                await refuse(CONNACK_BAD_CREDENTIALS, f"will topic {p.will_topic!r} is not this "
                                                      "device's telemetry topic")
                return None
            self.will = (p.will_topic, bytes(p.will_message or b""), vh.will_retain_flag)
        old = srv.connections.get(self.identity)
        if old is not None:
            old.abort("replaced by a new connection of the same device", will=False)
        session_present = False
        if vh.clean_session_flag:
            srv.sessions.pop(self.identity, None)
            session = Session()
        else:
            session = srv.sessions.get(self.identity)
            session_present = session is not None
            if session is None:
                session = srv.sessions[self.identity] = Session()
        self.subscriptions = session.subscriptions
        srv.connections[self.identity] = self
        self.registered = True
        self.send(codec.connack(CONNACK_ACCEPTED, session_present))
        await self.writer.drain()
        if srv.opts.token_expiry_disconnect:
            delay = max(0.0, checked["se"] - srv.now())
            self._timers.append(asyncio.get_running_loop().call_later(
                delay, self._token_expired, checked["se"]))
        self.out.line(f"mqtt connected device={self.identity} keepalive={vh.keep_alive} "
                      f"clean={int(vh.clean_session_flag)} session-present={int(session_present)}")
        return vh.keep_alive

    def _token_expired(self, se: int) -> None:
        self.out.line(f"fault mqtt-token-expired device={self.identity} se={se}")
        self.abort(f"token expired (se={se})", fault=True)

    @property
    def c2d_subscribed(self) -> bool:
        return any(topics.is_c2d_filter(f) for f in self.subscriptions)

    # -- packets --------------------------------------------------------------------------------
    async def _handle(self, pkt):
        ptype = pkt.fixed_header.packet_type
        if ptype == codec.PUBLISH:
            await self._publish(pkt)
        elif ptype == codec.PUBACK:
            self._puback(pkt.variable_header.packet_id)
        elif ptype == codec.SUBSCRIBE:
            self._subscribe(pkt)
        elif ptype == codec.UNSUBSCRIBE:
            for f in pkt.payload.topics:
                self.subscriptions.pop(f, None)
            self.send(codec.unsuback(pkt.variable_header.packet_id))
        elif ptype == codec.PINGREQ:
            self.send(codec.pingresp())
        elif ptype == codec.DISCONNECT:
            return False
        else:
            raise codec.ProtocolViolation(f"{codec.TYPE_NAMES[ptype]} from a device "
                                          "(IoT Hub takes no QoS 2 and no second CONNECT)")
        return True

    def _subscribe(self, pkt) -> None:
        codes = []
        for topic_filter, qos in pkt.payload.topics:
            if not topics.allowed_filter(topic_filter, self.device_id, self.module_id):
                raise _Closed(f"subscription to {topic_filter!r}, which IoT Hub does not offer")
            granted = min(qos, 1)
            self.subscriptions[topic_filter] = granted
            codes.append(granted)
        self.send(codec.suback(pkt.variable_header.packet_id, codes))
        self.out.line(f"mqtt subscribed device={self.identity} "
                      + " ".join(f"{t}@{q}" for (t, _), q in zip(pkt.payload.topics, codes)))

    def _puback(self, packet_id: int) -> None:
        msg = self.c2d_inflight.pop(packet_id, None)
        if msg is None:
            note(f"mqtt: {self.identity}: PUBACK for packet id {packet_id}, which is not in flight")
            return
        if c2d.settle(self.store, self.device_id, msg["lock_token"], self.server.now(),
                      "completed"):
            self.out.line(f"completed c2d {self._describe()} id={msg['id']} transport=mqtt")
        else:
            self.out.line(f"c2d lock-lost {self._describe()} id={msg['id']} transport=mqtt")

    def send_c2d(self, msg: dict) -> None:
        pid = self._packet_id()
        self.c2d_inflight[pid] = msg
        # a message delivered before (unacknowledged on a dropped connection, an
        # expired lock) goes out again with DUP set
        self.send(codec.publish(topics.c2d_topic(self.device_id, msg), msg["body"], qos=1,
                                packet_id=pid, dup=msg["delivery_count"] > 1))
        self.out.line(f"delivered c2d {self._describe()} id={msg['id']} "
                      f"delivery={msg['delivery_count']} transport=mqtt")

    async def _publish(self, pkt) -> None:
        qos, pid = pkt.qos, pkt.packet_id
        if qos == 2:
            raise _Closed("PUBLISH at QoS 2, which IoT Hub does not support")
        try:
            topic = topics.parse_publish_topic(pkt.topic_name)
        except topics.BagError as e:
            raise _Closed(f"PUBLISH with an undecodable property bag: {e}") from None
        if topic is None:
            raise _Closed(f"PUBLISH to {pkt.topic_name!r}, which IoT Hub does not take")
        body = bytes(pkt.data or b"")
        if topic.kind == "telemetry":
            await self._telemetry(topic, pkt, body)
            return
        if topic.kind == "method-res":
            self._method_response(topic, body)
        else:
            self._twin_request(topic, body)
        if qos == 1:
            self.send(codec.puback(pid))

    # -- telemetry ------------------------------------------------------------------------------
    async def _telemetry(self, topic, pkt, body: bytes) -> None:
        srv, opts = self.server, self.server.opts
        if (topic.device_id, topic.module_id) != (self.device_id, self.module_id):
            raise _Closed(f"telemetry on {pkt.topic_name!r}, another identity's topic")
        if len(body) + len(topic.bag) > MAX_MESSAGE:
            raise _Closed(f"message of {len(body)} bytes + {len(topic.bag)} of properties "
                          f"exceeds {MAX_MESSAGE}")
        srv.telemetry_count += 1
        n = srv.telemetry_count
        if opts.drop_publish and n % opts.drop_publish == 0:
            self.out.line(f"fault mqtt-drop-publish device={self.identity} publish={n}")
            self.abort("fault mqtt-drop-publish", fault=True)
            raise _Closed("fault mqtt-drop-publish")
        request = self._store_telemetry(topic, body, pkt.retain_flag)
        self.out.line(f"accepted {self._describe()} events=1 bytes={len(body)} "
                      f"request={request} transport=mqtt")
        if opts.drop_puback and n % opts.drop_puback == 0:
            self.out.line(f"fault mqtt-drop-puback device={self.identity} publish={n}")
            self.abort("fault mqtt-drop-puback", fault=True)
            raise _Closed("fault mqtt-drop-puback")
        if pkt.qos != 1:
            return
        if opts.delay_puback_ms > 0:
            pid = pkt.packet_id
            self._timers.append(asyncio.get_running_loop().call_later(
                opts.delay_puback_ms / 1000.0, self.send, codec.puback(pid)))
        else:
            self.send(codec.puback(pkt.packet_id))

    def _store_telemetry(self, topic, body: bytes, retain: bool, extra=None) -> int:
        app, system = topics.split_properties(topics.parse_bag(topic.bag))
        if retain:
            app["mqtt-retain"] = "true"
        app.update(extra or {})
        system["iothub-connection-device-id"] = self.device_id
        if self.module_id:
            system["iothub-connection-module-id"] = self.module_id
        row = EventRow("iothub", self.cfg.iothub_name, None, None, None, self.device_id, body,
                       app, system)
        return self.store.store([row], self.server.now())

    # -- twin -------------------------------------------------------------------------------------
    def _twin_answer(self, status: int, rid: str, body: bytes = b"", version=None) -> None:
        topic = f"$iothub/twin/res/{status}/?$rid={quote(rid, safe='')}"
        if version is not None:
            topic += f"&$version={version}"
        if topics.TWIN_RES not in self.subscriptions:
            self.out.line(f"twin answer-dropped device={self.identity} status={status} rid={rid} "
                          "(not subscribed to $iothub/twin/res/#)")
            return
        self.send(codec.publish(topic, body))

    def _twin_request(self, topic, body: bytes) -> None:
        srv, opts = self.server, self.server.opts
        if not topic.rid:
            raise _Closed("twin request without $rid")
        srv.twin_count += 1
        if opts.twin_fail and srv.twin_count % opts.twin_fail == 0:
            status = opts.twin_fail_status
            self.out.line(f"fault mqtt-twin-fail device={self.identity} status={status} "
                          f"rid={topic.rid}")
            self._twin_answer(status, topic.rid, json.dumps(
                {"errorCode": status * 1000 + 1,
                 "message": "injected failure (--mqtt-twin-fail)"}).encode())
            return
        if topic.kind == "twin-get":
            doc = twin.get(self.store, self.identity)
            self.out.line(f"twin get device={self.identity} rid={topic.rid} "
                          f"desired={doc['desired']['$version']} "
                          f"reported={doc['reported']['$version']}")
            self._twin_answer(200, topic.rid, json.dumps(doc).encode())
            return
        try:
            version = twin.patch(self.store, self.identity, "reported", twin.parse_patch(body),
                                 self.server.now())
        except twin.TwinError as e:
            self.out.line(f"twin reported-refused device={self.identity} rid={topic.rid}: {e}")
            self._twin_answer(400, topic.rid, json.dumps(
                {"errorCode": 400004, "message": str(e)}).encode())
            return
        self.out.line(f"twin reported device={self.identity} rid={topic.rid} version={version}")
        self._twin_answer(204, topic.rid, version=version)

    # -- direct methods ---------------------------------------------------------------------------
    def _method_response(self, topic, body: bytes) -> None:
        rid = topic.rid or ""
        ok = rid.isdigit() and mailbox.finish(self.store, int(rid), "done", status=topic.status,
                                              response=body, from_states=("sent",),
                                              device_id=self.identity)
        self.out.line(f"method {'answered' if ok else 'answer-ignored'} device={self.identity} "
                      f"rid={rid} status={topic.status}")
