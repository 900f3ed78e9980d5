"""The IoT Hub MQTT session, without I/O (the core of azure.IoTHubMQTTClient).

Why a core without I/O: the same session must run under a blocking main loop
(azure/iothub_mqtt.py, `poll()`), under asyncio (azure/aio_mqtt.py) and in
tests that feed it bytes by hand (h11's shape, docs/style.md). So this class
never touches a socket or a clock: the drivers give it the bytes they read
(`rx_view()`/`rx_done()`), the time (ticks_ms for timers, unix time for the
token), and write what `take()` returns. Everything that is protocol lives
here, once: packet ids, the in-flight table (at most 16 QoS 1 publishes;
resent with DUP after a reconnect), `$rid` correlation and the timeouts and
retries (429/5xx) of twin requests, twin/method/C2D dispatch, the keep-alive
schedule, when to reconnect for a fresh token, reconnect backoff, and what a
CONNACK refusal means. Framing and parsing are the native codec's
(`_azure.mqtt_*`, Rust): no MQTT bytes are built or read in Python.

Requests and publishes are small lists the caller holds: slot 0 is None
while pending, then True (done; slot 1 holds the result) or the exception.
"""

import json

import _azure
import azure.client as _cl  # (a module: tests script its _rand32 and ticks_diff)
from micropython import const

from .client import SendError, _body, _props, _text

_DOWN = const(0)
_CONNECTING = const(1)
_UP = const(2)
WINDOW = const(16)  # QoS 1 publishes awaiting PUBACK (IoT Hub's MQTT 5 Receive Maximum)

# Events the drivers hand to the user's handlers (core.events).
EV_MESSAGE = const(1)  # (1, Message, packet id to PUBACK once handled, 0 for QoS 0)
EV_METHOD = const(2)  # (2, name, rid, payload): answer with method_response
EV_PATCH = const(3)  # (3, desired patch dict with "$version")
EV_ERROR = const(4)  # (4, exception): hostile or unexpected input, dropped

_GET = const(0)
_PATCH = const(1)
_RESYNC = const(2)  # the GET after a reconnect: desired changes made while offline


class ConnectRefused(SendError):
    """The broker refused the connection (CONNACK return code `code`).
    `final`: retrying with the same credentials cannot help (1, 2, 4, 5)."""

    def __init__(self, code):
        why = ("bad protocol version", "client id rejected", "server unavailable",
               "bad user name or password: check the key and the clock", "not authorized: token refused or device disabled")
        SendError.__init__(self, None, "CONNACK %d: %s" % (code, why[code - 1] if 0 < code < 6 else "refused"))
        self.code = code
        self.final = code != 3


class TwinError(SendError):
    """A twin request that failed: `status` is IoT Hub's status (400, 429...)
    or None when no answer came in time."""


class Message:
    """A cloud-to-device message: `body` (bytes), `properties` (dict of the
    application properties and any system ones not below, e.g. "$.to",
    "iothub-ack"), `message_id`, `correlation_id`, `content_type`."""

    def __init__(self, body, props):
        self.body = body
        self.message_id = props.pop("$.mid", None)
        self.correlation_id = props.pop("$.cid", None)
        self.content_type = props.pop("$.ct", None)
        self.properties = props

    def __repr__(self):
        return "<Message %s, %d bytes>" % (self.message_id, len(self.body))


class Session:
    """One device's MQTT session with IoT Hub. `stats` is shared with the driver."""

    def __init__(self, client_id, username, device_id, topic, keepalive, timeout, max_retries, backoff,
                 receive_max, filters):
        if not (isinstance(keepalive, int) and isinstance(receive_max, int) and 0 < keepalive <= 65535
                and 16 <= receive_max <= 1048576):
            raise ValueError("keepalive must be 1..65535 (s), receive_max 16..1048576")
        self.client_id = client_id
        self.username = username
        self.device_id = device_id
        self.topic = topic  # telemetry: devices/{id}/messages/events/
        self.keepalive = keepalive
        self.timeout_ms = timeout * 1000
        self.max_retries = max_retries
        self._backoff = backoff
        self.receive_max = receive_max
        self._filters = filters
        self.state = _DOWN
        self.ready = False  # SUBACK seen: twin requests may go
        self.inflight = {}  # packet id -> [state, head, body, start, limit, sent]
        self.reqs = {}  # $rid -> [state, result, body, start, limit, kind, attempts, retry_at, sent]
        self.events = []
        self._out = []
        self._pid = 0
        self._rid = 0
        self._sub = 0
        self.attempt = 0  # connection attempts failed in a row (last_error: the last, once one failed)
        self._retry_at = None  # ticks when the next attempt may start
        self._wait = 0
        self.desired_version = -1
        self.renew_at = None
        self._last_tx = self._since = 0
        self._ping = None  # ticks the unanswered PINGREQ went out
        self._hdr = bytearray(5)
        self._n = 0
        self._pkt = None
        self._skip = 0
        self.stats = {"sent": 0, "connects": 0, "renewals": 0, "received": 0, "resent": 0, "pings": 0,
                      "retries": 0, "errors": 0}

    # -- connection life -------------------------------------------------------

    def begin(self, now, token, renew_at):
        """A fresh transport is open: the CONNECT to write first. `renew_at`:
        unix time to reconnect with a fresh token (None: a given token)."""
        self.state = _CONNECTING
        self.ready = False
        self._out = [_azure.mqtt_connect(self.client_id, self.username, token, self.keepalive, False)]
        self._n = self._skip = 0
        self._pkt = self._ping = None
        self._last_tx = self._since = now
        self.renew_at = renew_at

    def lost(self):
        """The transport is gone: unanswered requests go again after the next CONNACK."""
        self.state = _DOWN
        self.ready = False
        self._out = []
        self._pkt = None
        for e in self.reqs.values():
            e[8] = 0

    def failed(self, exc, now):
        """A connection attempt (or a connection) failed with exc: sets when
        the next attempt may start (capped exponential backoff, full jitter),
        or abandons everything and raises exc when retrying cannot help: a
        final CONNACK refusal, a TLS failure, an expired given token."""
        self.lost()
        self.last_error = exc
        if exc.final if isinstance(exc, ConnectRefused) else isinstance(exc, (SendError, _cl.transport.TLSError,
                                                                               ValueError)):
            self.abandon(exc)
            raise exc
        b = self._backoff
        self._wait = _azure.backoff_ms(min(self.attempt, 20), _cl._rand32(), None, b[0], b[1])
        self._retry_at = now
        self.attempt += 1

    def wait_ms(self, now):
        """How long until the next connection attempt may start."""
        if self._retry_at is None:
            return 0
        return max(0, self._wait - _cl.ticks_diff(now, self._retry_at))

    def abandon(self, exc):
        """Reports every pending publish and request as failed with exc."""
        for t in (self.inflight, self.reqs):
            for e in t.values():
                e[0] = exc
            t.clear()

    def take(self, now):
        """What to write now, or []: a list of buffers, each one write. Small
        frames are joined, up to 1 KB a buffer: one TLS record (29 bytes of
        overhead) and one TCP segment for several packets, not one each."""
        out = self._out
        if not out:
            return out
        self._out = []
        self._last_tx = now
        units = []
        buf = None
        for b in out:  # (bodies may be memoryviews: the outbox's)
            if buf is not None and len(buf) + len(b) <= 1024:
                buf += b  # (in place: units holds it)
            elif len(b) > 1024:  # a large body: written as it is, not copied
                units.append(b)
                buf = None
            else:
                buf = bytearray(b)
                units.append(buf)
        return units

    # -- requests from the application ------------------------------------------

    def _next_pid(self):
        while True:
            self._pid = self._pid % 65535 + 1
            if self._pid not in self.inflight and self._pid != self._sub:
                return self._pid

    def publish(self, body, props, now, limit_ms):
        """Queues one telemetry event at QoS 1 (props: str -> str, "$.ct"
        for the content type). None when WINDOW publishes are in flight (wait
        for a PUBACK, then ask again); else the entry, done when PUBACKed."""
        if len(self.inflight) >= WINDOW:
            return None
        pid = self._next_pid()
        # Framed now: bad properties raise here, before anything is queued.
        e = [None, _azure.mqtt_publish(self.topic, props, pid, len(body), False), body, now, limit_ms, 0]
        self.inflight[pid] = e
        if self.state == _UP:
            self._send_pub(e)
        return e

    def _send_pub(self, e):
        h = e[1]
        if e[5]:  # written before, on a connection that dropped: DUP
            h = bytearray(h)
            h[0] |= 8
            self.stats["resent"] += 1
        e[5] = 1
        self._out.append(h)
        self._out.append(e[2])

    def twin_get(self, now, limit_ms):
        """Asks for the twin: the entry's result is {"desired", "reported"}."""
        return self._request(_GET, b"", now, limit_ms)

    def twin_patch(self, patch, now, limit_ms):
        """Updates reported properties: the entry's result is the new reported $version."""
        if not isinstance(patch, dict):
            raise TypeError("patch must be a dict")
        return self._request(_PATCH, json.dumps(patch).encode(), now, limit_ms)

    def _request(self, kind, body, now, limit_ms):
        self._rid += 1
        rid = str(self._rid)
        e = [None, None, body, now, limit_ms, kind, 0, None, 0]
        self.reqs[rid] = e
        if self.ready:
            self._send_req(rid, e)
        return e

    def _send_req(self, rid, e):
        t = "$iothub/twin/PATCH/properties/reported/?$rid=" if e[5] == _PATCH else "$iothub/twin/GET/?$rid="
        self._out.append(_azure.mqtt_publish(t + rid, None, 0, len(e[2]), False))
        self._out.append(e[2])
        e[7] = None
        e[8] = 1

    def method_response(self, rid, status, payload):
        """Answers direct method request rid (payload: anything json.dumps
        takes; None sends an empty body)."""
        try:
            body = b"" if payload is None else json.dumps(payload).encode()
        except (TypeError, ValueError) as e:
            status, body = 500, b'{"error":"result not JSON"}'
        if self.state == _UP:  # (after a drop the caller has timed out anyway)
            self._out.append(_azure.mqtt_publish("$iothub/methods/res/%d/?$rid=%s" % (status, rid), None, 0,
                                                 len(body), False))
            self._out.append(body)

    def ack(self, pid):
        """PUBACK for a received QoS 1 message, once its handler returned."""
        if pid and self.state == _UP:
            self._out.append(_azure.mqtt_packet(4, pid))

    def disconnect(self):
        """Queues DISCONNECT (a clean close: the hub emits no will)."""
        self._out.append(_azure.mqtt_packet(14, 0))

    # -- timers ------------------------------------------------------------------

    def tick(self, now, unix):
        """Runs the timers: deadlines of publishes and requests, twin retries,
        keep-alive. Returns True when the driver should reconnect now for a
        fresh token (DISCONNECT, then connect again); raises OSError when the
        connection is dead (no CONNACK or no PINGRESP in time)."""
        td = _cl.ticks_diff
        for t in (self.inflight, self.reqs):
            late = None
            for k, e in t.items():  # (entries of both hold start, limit at 3, 4)
                if td(now, e[3]) >= e[4]:
                    late = late or []
                    late.append(k)
            for k in late or ():
                e = t.pop(k)
                s = e[4] // 1000
                if t is self.inflight:
                    e[0] = SendError(None, "no PUBACK in %d s" % s)
                else:
                    e[0] = TwinError(None, "no twin answer in %d s" % s)
        if self.state == _CONNECTING:
            if td(now, self._since) >= self.timeout_ms:
                raise OSError("no CONNACK in %d s" % (self.timeout_ms // 1000))
        elif self.state == _UP:
            if self.ready:
                for rid, e in self.reqs.items():
                    if not e[8] and (e[7] is None or td(now, e[7]) >= 0):
                        self._send_req(rid, e)
            if self.renew_at is not None and unix >= self.renew_at:
                return True
            if self._ping is not None:
                if td(now, self._ping) >= self.timeout_ms:
                    raise OSError("no PINGRESP in %d s" % (self.timeout_ms // 1000))
            elif td(now, self._last_tx) >= self.keepalive * 1000:
                self._out.append(_azure.mqtt_packet(12, 0))
                self._ping = now
                self.stats["pings"] += 1
        return False

    def next_timer(self, now):
        """Milliseconds until tick() has something to do (at most 1 s)."""
        if self.state == _UP and self._ping is None:
            return max(0, min(1000, self.keepalive * 1000 - _cl.ticks_diff(now, self._last_tx)))
        return 1000

    # -- bytes from the broker ---------------------------------------------------

    def partial(self):
        """True in the middle of a packet."""
        return self._n > 0 or self._skip > 0

    def rx_view(self):
        """Where the next bytes read go: exactly as many as the packet needs
        next (a blocking read waits for all it asks for)."""
        if self._skip:
            return memoryview(bytearray(min(self._skip, 256)))
        if self._pkt is None:  # the fixed header, 2 bytes then one at a time
            return memoryview(self._hdr)[self._n:max(2, self._n + 1)]
        return memoryview(self._pkt)[self._n:]

    def rx_done(self, n, now):
        """n bytes were read into rx_view(). Raises ConnectRefused on a
        CONNACK refusal and OSError when the stream cannot be trusted (a
        malformed fixed header): the connection must be dropped."""
        self._ping = None  # the broker is alive
        if self._skip:
            self._skip -= n
            return
        self._n += n
        if self._pkt is None:
            try:
                h = _azure.mqtt_header(self._hdr[:self._n])
            except ValueError as e:  # a malformed fixed header: reported, and the stream cannot be trusted
                self._error(e)
                raise OSError("broker sent malformed data (%s)" % e)
            if h is None:
                return
            total = h[2] + h[3]
            if total > self.receive_max:
                self._skip = total - self._n
                self._n = 0
                self._error(ValueError("mqtt: %d-byte packet over receive_max: skipped" % total))
                return
            self._pkt = bytearray(total)
            self._pkt[:self._n] = self._hdr[:self._n]
            if self._n < total:
                return
        elif self._n < len(self._pkt):
            return
        pkt = self._pkt
        self._pkt = None
        self._n = 0
        self._packet(pkt, now)

    def feed(self, data, now):
        """rx_view/rx_done for bytes already read (tests, stream drivers)."""
        i = 0
        while i < len(data):
            v = self.rx_view()
            k = min(len(v), len(data) - i)
            v[:k] = data[i:i + k]
            i += k
            self.rx_done(k, now)

    def _error(self, exc):  # (the driver counts it when it reports it)
        self.events.append((EV_ERROR, exc))

    def _packet(self, pkt, now):
        try:
            p = _azure.mqtt_parse(pkt)
        except ValueError as e:  # framing is intact: skip the packet
            self._error(e)
            return
        t = p[0]
        if t == 3:
            self._incoming(pkt, p, now)
        elif t == 4:
            e = self.inflight.pop(p[1], None)
            if e is not None:
                e[0] = True
                self.stats["sent"] += 1
        elif t == 2:
            if self.state != _CONNECTING:
                self._error(ValueError("mqtt: unexpected CONNACK"))
            elif p[2]:
                self.state = _DOWN
                raise ConnectRefused(p[2])
            else:
                self._connected(now)
        elif t == 9:
            if p[1] == self._sub:
                self._sub = 0
                self.ready = True
                for i, c in enumerate(p[2]):
                    if c & 0x80:
                        self._error(ValueError("mqtt: subscription %s refused" % self._filters[i][0]))
                for rid, e in self.reqs.items():
                    if not e[8] and e[7] is None:
                        self._send_req(rid, e)

    def _connected(self, now):
        self.state = _UP
        self.attempt = 0
        self._retry_at = None
        self.stats["connects"] += 1
        self._sub = self._next_pid()
        self._out.append(_azure.mqtt_subscribe(self._sub, self._filters))
        if self.desired_version >= 0:
            # IoT Hub pushes desired patches only while connected: after a
            # reconnect, GET the twin (once subscribed) and hand on the desired
            # document if its $version moved on meanwhile.
            self._request(_RESYNC, b"", now, self.timeout_ms)
        # Unacknowledged publishes again, in the order they were made.
        for pid in sorted(self.inflight):
            self._send_pub(self.inflight[pid])

    def _incoming(self, pkt, p, now):
        qos, pid = p[1], p[3]
        topic = memoryview(pkt)[p[4]:p[5]]  # (classified in place: no copy)
        payload = bytes(pkt[p[6]:])
        self.stats["received"] += 1
        try:
            kind, a, b, props = _azure.mqtt_topic(topic, self.device_id)
        except ValueError as e:
            kind = -1
            self._error(e)
        if kind == 1:
            self._twin_answer(a, b, props, payload, now)
        elif kind == 2:
            doc = _loads(payload)
            if not isinstance(doc, dict):
                self._error(ValueError("mqtt: desired patch %d not JSON" % a))
            elif a > self.desired_version:  # older or repeated versions were seen already
                self.desired_version = a
                self.events.append((EV_PATCH, doc))
        elif kind == 3:
            doc = _loads(payload) if payload else None
            if doc is _BAD:
                self.method_response(b, 400, {"error": "payload is not JSON"})
                self._error(ValueError("mqtt: method %s: payload not JSON" % a))
            else:
                self.events.append((EV_METHOD, a, b, doc))
        elif kind == 4:
            self.events.append((EV_MESSAGE, Message(payload, props), pid if qos else 0))
            return  # PUBACK once the handler returned (ack)
        elif kind == 0:
            self._error(ValueError("mqtt: PUBLISH on unsubscribed %s" % str(topic[:80], "utf-8")))
        if qos:
            self.ack(pid)

    def _twin_answer(self, status, rid, props, payload, now):
        e = self.reqs.get(rid)
        if e is None:
            self._error(ValueError("mqtt: twin answer for unknown $rid %s" % rid[:16]))
            return
        if (status == 429 or status >= 500) and e[6] < self.max_retries:
            b = self._backoff
            e[7] = now + _azure.backoff_ms(e[6], _cl._rand32(), None, b[0], b[1])
            e[6] += 1
            e[8] = 0
            self.stats["retries"] += 1
            return
        del self.reqs[rid]
        if status >= 300:
            e[0] = TwinError(status, _text(payload[:200]))
        elif e[5] != _PATCH:
            doc = _loads(payload)
            if not isinstance(doc, dict) or not isinstance(doc.get("desired"), dict):
                e[0] = TwinError(status, "twin: not a JSON document")
            else:
                v = doc["desired"].get("$version")
                if isinstance(v, int) and (e[5] == _GET or v > self.desired_version):
                    if e[5] == _RESYNC:
                        self.events.append((EV_PATCH, doc["desired"]))
                    self.desired_version = v
                e[1] = doc
                e[0] = True
            if e[5] == _RESYNC and e[0] is not True:
                self._error(e[0])
        else:
            try:
                e[1] = int(props["$version"])
            except (KeyError, ValueError):
                e[1] = None
            e[0] = True


def setup(c, host, path, endpoint, ca_certs, insecure, keepalive, timeout, max_retries, backoff_base_ms,
           backoff_cap_ms, receive_max, max_size):
    # What both drivers (blocking and asyncio) set up from the same options,
    # checked (and the endpoint split: IoT Hub's MQTT port is 8883) by
    # azure/_connstr.py as for the HTTPS clients, loaded for this only.
    from . import _transient

    c._connect_host, c._port = _transient("_connstr", "options", endpoint, host, max_size, 1, max_retries,
                                          receive_max, backoff_base_ms, backoff_cap_ms, 8883, timeout)
    c.host = host
    c.device_id = dev = path[1]
    c.module_id = mod = path[3] if len(path) == 6 else None
    cid = dev if mod is None else dev + "/" + mod
    c._ca_certs = ca_certs
    c._verify = not insecure
    c._timeout = timeout
    c.max_size = max_size
    filters = [("$iothub/methods/POST/#", 0), ("$iothub/twin/res/#", 0),
               ("$iothub/twin/PATCH/properties/desired/#", 0)]
    if mod is None:  # modules get no cloud-to-device messages
        filters.append(("devices/%s/messages/devicebound/#" % dev, 1))
    c._core = core = Session(cid, host + "/" + cid + "/?api-version=2021-04-12", dev, "/".join(path) + "/", keepalive, timeout,
                             max_retries, (backoff_base_ms, backoff_cap_ms), receive_max, filters)
    c.stats = core.stats
    c.on_message = c.on_method = c.on_twin_patch = c.on_error = None


def handler(c, ev):
    """The user's handler for event ev and its arguments, for the driver to
    call (or await); then give handled() what came of it. (None: no handler,
    or no call: an EV_ERROR.)"""
    k = ev[0]
    if k == EV_METHOD:
        return c.on_method, (ev[1], ev[3])
    if k == EV_ERROR:
        return None, None
    return (c.on_message if k == EV_MESSAGE else c.on_twin_patch), (ev[1],)


def handled(c, ev, f, r, exc):
    """What the protocol does once handler f (None: none) returned r or
    raised exc: a message is PUBACKed only once handled (else IoT Hub
    delivers it again); a method is always answered (500 if its handler
    raised or returned no (status, payload), 501 with no handler); what went
    wrong is reported."""
    k = ev[0]
    if k == EV_METHOD:
        if exc is None:
            try:
                status, payload = r if f else (501, {"error": "no method handler"})
            except Exception as e:  # not a (status, payload) pair
                exc = e
        if exc is not None:
            status, payload = 500, {"error": "%s: %s" % (type(exc).__name__, exc)}
        c._core.method_response(ev[2], status, payload)
    elif k == EV_ERROR:
        exc = ev[1]
    elif k == EV_MESSAGE and exc is None:
        c._core.ack(ev[2])
    if exc is not None:
        report(c, exc)


def report(c, exc):
    # Hostile input the core dropped, or a handler that raised: counted,
    # given to on_error, else printed; the client carries on.
    c.stats["errors"] += 1
    if c.on_error:
        c.on_error(exc)
    else:
        import sys

        sys.print_exception(exc)


def renew_at(c):
    # When the core should reconnect with a fresh token (None: a given one).
    return None if c._given else c._renew_at


def events(evs):
    # send_batch's list (bodies or (body, properties)): every event checked before any is queued.
    if not isinstance(evs, (list, tuple)):
        raise TypeError("events must be a list")
    es = []
    for ev in evs:
        es.append(event(ev[0], ev[1] if len(ev) > 1 else None, None) if isinstance(ev, tuple) else event(ev, None, None))
    return es


def event(body, properties, content_type):
    body = _body(body)
    props = _props(properties)
    if content_type is not None:
        props = dict(props or ())
        props["$.ct"] = content_type
    return body, props


_BAD = object()


def _loads(b):
    try:
        return json.loads(b)
    except ValueError:
        return _BAD

