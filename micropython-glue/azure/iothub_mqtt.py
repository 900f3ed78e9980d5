"""azure.IoTHubMQTTClient: IoT Hub over MQTT, driven by a blocking socket.

A thin driver: it opens the TLS connection (azure/transport.py), writes what
the session core (azure/mqtt.py) gives it, reads what the core asks for and
calls the user's handlers. Every protocol decision is the core's, shared
with the asyncio driver (azure/aio_mqtt.py). No threads: the application's
main loop calls poll(). Socket timeouts are whole seconds or non-blocking
reads (the WiPy has neither select nor floats). Loaded on first use of
`azure.IoTHubMQTTClient`.
"""

import azure.client as _cl  # (tests script its clock, sleep, jitter and transport)
from micropython import const

from .client import SendError, _Auth, _from_connection_string
from .mqtt import setup, event, events as events_, renew_at, handler, handled

_UP = const(2)

try:
    from select import poll as _poll  # (the WiPy has no select: whole-second socket timeouts there)
except ImportError:
    _poll = None


class IoTHubMQTTClient(_Auth):
    """One IoT Hub device (or module) over MQTT: telemetry (QoS 1), the
    device twin, direct methods and cloud-to-device messages.

    Handlers (attributes, None by default): on_message(msg), PUBACKed once
    it returns; on_method(name, payload) -> (status, payload); on_twin_patch(patch)
    with "$version"; on_error(exc) for input dropped as hostile or unexpected.
    They run inside poll() and inside the blocking calls."""

    @classmethod
    def from_connection_string(cls, conn_str, **kw):
        """device_id= when the string has none; endpoint=, ca_certs=,
        keepalive=240, token_ttl=3600, timeout=30, token=,
        insecure_disable_tls_verification=False, max_retries=6,
        backoff_base_ms=500, backoff_cap_ms=30000, receive_max=4096."""
        return _from_connection_string(cls, 2, conn_str, kw)

    def __init__(self, host, path, audience, key, key_name, key_is_base64, iot=True, token=None, endpoint=None,
                 ca_certs=None, insecure_disable_tls_verification=False, keepalive=240, token_ttl=3600,
                 timeout=30, max_retries=6, backoff_base_ms=500, backoff_cap_ms=30000, receive_max=4096,
                 max_size=262144):
        setup(self, host, path, endpoint, ca_certs, insecure_disable_tls_verification, keepalive, timeout,
               max_retries, backoff_base_ms, backoff_cap_ms, receive_max, max_size)
        _Auth.__init__(self, audience, key, key_name, key_is_base64, token, token_ttl)
        self._sock = self._poller = None
        self._t = 2

    def __repr__(self):
        return "<IoTHubMQTTClient %s/%s>" % (self.host, self.device_id)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def connected(self):
        return self._core.state == _UP

    # -- the application's calls -------------------------------------------------

    def connect(self):
        """Connects (retrying with backoff for up to `timeout` seconds).
        Raises ConnectRefused (final refusals at once), TLSError or SendError."""
        start = _cl.ticks_ms()
        limit = self._timeout * 1000
        while self._core.state != _UP:
            left = limit - _cl.ticks_diff(_cl.ticks_ms(), start)
            if left <= 0:
                raise SendError(None, "not connected within %d s%s" % (self._timeout, self._why()))
            self._step(left)

    def send(self, body, *, properties=None, content_type=None, timeout=None):
        """Sends one event at QoS 1; returns once IoT Hub acknowledged it
        (PUBACK), else raises SendError (nothing is lost silently)."""
        b, p = event(body, properties, content_type)
        e = self._publish(b, p, timeout)
        self._until(e)
        if e[0] is not True:
            raise e[0]

    def send_batch(self, events):
        """Sends a list of events (each a body or (body, properties)), all
        in flight at once (up to 16 unacknowledged); returns how many once
        every one was acknowledged, else raises SendError."""
        es = events_(events)
        for i in range(len(es)):
            es[i] = self._publish(es[i][0], es[i][1], None)
        for e in es:
            self._until(e)
        for e in es:
            if e[0] is not True:
                raise e[0]
        return len(es)

    def get_twin(self):
        """The device twin: {"desired": {...}, "reported": {...}}. Raises TwinError."""
        c = self._core
        return self._request(c.twin_get(_cl.ticks_ms(), c.timeout_ms))

    def patch_twin_reported(self, patch):
        """Updates reported properties (members update, None deletes);
        returns the new reported $version. Raises TwinError."""
        c = self._core
        return self._request(c.twin_patch(patch, _cl.ticks_ms(), c.timeout_ms))

    def poll(self, timeout_ms=0):
        """Reads what arrived and runs the handlers, answers methods, pings
        when due and reconnects when needed (with backoff). Waits up to
        timeout_ms for something to arrive. Returns how many events it handled."""
        start = _cl.ticks_ms()
        n = 0
        while True:
            # Once something was handled, only what is already there (at most
            # 64 events a call: a flooding broker cannot keep poll() forever).
            left = 0 if n else timeout_ms - _cl.ticks_diff(_cl.ticks_ms(), start)
            k = self._step(max(0, left))
            n += k
            if (not k and (n or left <= 0)) or n >= 64:
                return n

    def close(self):
        """Disconnects; pending sends and requests fail with SendError."""
        if self._sock is not None:
            self._core.disconnect()
            try:
                self._write()
            except OSError:
                pass
        self._drop()
        self._core.abandon(SendError(None, "client closed"))

    # -- driving the core ------------------------------------------------------------

    def _publish(self, body, props, timeout):
        c = self._core
        limit = c.timeout_ms if timeout is None else timeout * 1000
        while True:
            e = c.publish(body, props, _cl.ticks_ms(), limit)
            if e is not None:
                return e
            self._step(1000)  # the window is full: wait for a PUBACK

    def _request(self, e):
        self._until(e)
        if e[0] is not True:
            raise e[0]
        return e[1]

    def _until(self, e):
        # Drives I/O until the entry is done (the core fails it at its deadline).
        while e[0] is None:
            self._step(1000)

    def _why(self):
        e = getattr(self._core, "last_error", None)
        return ": %s" % e if e else ""

    def _drop(self):
        s = self._sock
        self._sock = None
        if s is not None:
            try:
                s.close()
            except OSError:
                pass
        self._core.lost()

    def _fail(self, exc):
        self._drop()  # (failed() marks the session lost again: harmless)
        self._core.failed(exc, _cl.ticks_ms())  # raises when retrying cannot help

    def _open(self, token):
        c = self._core
        self._sock = s = _cl.transport.connect(self._connect_host, self._port, self.host, self._ca_certs,
                                               self._verify, self._timeout)
        self._t = 2
        self._poller = None
        if _poll and not hasattr(s, "settimeout"):
            self._poller = _poll()
            self._poller.register(s, 1)  # POLLIN
        c.begin(_cl.ticks_ms(), token, renew_at(self))

    def _step(self, wait_ms):
        """One round: connect if due, write, read (waiting up to wait_ms for
        the first byte), run the timers and the handlers. Returns how many
        events were handled."""
        c = self._core
        token = None
        if self._sock is None:
            now = _cl.ticks_ms()
            c.tick(now, _cl.unix_time())  # deadlines run while disconnected too
            d = c.wait_ms(now)
            if d:
                _cl.sleep_ms(min(d, wait_ms, 1000))
                return 0
            try:  # (outside the handlers below: these are not connection failures)
                token = self._current_token()
            except Exception as e:  # an unset clock (ValueError), an expired given token (SendError 401): final
                c.abandon(e)
                raise
        try:
            if token is not None:
                self._open(token)
            self._write()
            self._read(wait_ms)
            if c.tick(_cl.ticks_ms(), _cl.unix_time()):
                # Reconnect with a fresh token before this one expires.
                c.disconnect()
                self._write()
                self._drop()
                return 0
            self._write()
        except OSError as e:  # ConnectRefused, TLSError, socket errors, malformed data, a dead connection
            self._fail(e)
        return self._dispatch()

    def _mode(self, t):
        # t: 0 non-blocking, 1 a one-second wait, else blocking with the
        # client's timeout. The WiPy's sockets (and the scripted ones) take
        # whole-second timeouts; mbedTLS's SSLSocket only setblocking (its
        # socket keeps the timeout it connected with) and waits through poll.
        if t != self._t:
            s = self._sock
            if hasattr(s, "settimeout"):
                s.settimeout(t if t < 2 else self._timeout)
            else:
                s.setblocking(t != 0)
            self._t = t

    def _write(self):
        out = self._core.take(_cl.ticks_ms())
        if not out:
            return
        self._mode(2)  # blocking: a frame is written whole or the connection fails
        for b in out:
            self._sock.write(b)

    def _read(self, wait_ms):
        # Reads what has arrived, waiting up to about wait_ms (at most 1 s,
        # so the timers run) for the first byte; a packet begun is read to its
        # end within the socket timeout. Returns how many bytes were read.
        c = self._core
        got = 0
        timed = hasattr(self._sock, "settimeout")
        while True:
            mid = c.partial()
            self._mode(2 if mid else (1 if timed and wait_ms >= 1000 and not got else 0))
            try:
                n = self._sock.readinto(c.rx_view())
            except OSError as e:
                if e.args[0] not in (11, 110):  # EAGAIN, ETIMEDOUT: nothing came
                    raise
                n = None
            if n is None:
                if mid:
                    raise OSError("the broker stopped in the middle of a packet")
                if got or wait_ms <= 0 or self._t:
                    return got
                # Nothing yet: wait for it (poll where there is one), then read once more.
                ms = min(wait_ms, c.next_timer(_cl.ticks_ms()) or 1)
                if self._poller:
                    self._poller.poll(ms)
                else:
                    _cl.sleep_ms(min(ms, 20))
                wait_ms = 0
                continue
            if not n:
                raise OSError("the broker closed the connection")
            got += n
            c.rx_done(n, _cl.ticks_ms())
            if c.events:
                return got

    def _dispatch(self):
        c = self._core
        n = 0
        while c.events:
            ev = c.events.pop(0)
            n += 1
            f, a = handler(self, ev)
            r = e = None
            if f:
                try:
                    r = f(*a)
                except Exception as x:
                    e = x
            handled(self, ev, f, r, e)
        if n and self._sock is not None:
            try:
                self._write()
            except OSError as e:
                self._fail(e)
        return n
