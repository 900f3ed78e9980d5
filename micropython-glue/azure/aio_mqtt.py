"""azure.aio.IoTHubMQTTClient: IoT Hub over MQTT inside an asyncio event loop.

The second thin driver over the same session core as the blocking client
(azure/mqtt.py: packet ids, in-flight window, $rid correlation, retries,
keep-alive, token renewal, backoff and CONNACK handling are all there, once).
This file only moves bytes and time: asyncio streams
(`asyncio.open_connection(host, port, ssl=ctx, server_hostname=...)`), one
task that keeps the connection (connects, reconnects with the core's backoff,
runs its timers) and, per connection, one task that reads. Frames are
written whole by one task at a time (whichever has bytes; a task that finds
another writing leaves its frames to it). A task cancelled while awaiting
`send` leaves no half-written frame: its event stays in the in-flight window
and is acknowledged or resent like any other, and a write cut short drops
the connection (the broker discards the partial packet; the core resends).
No asyncio.Lock and no wait_for: on a Pico-class heap their modules cost
more than this driver's own bookkeeping.
Handlers may be plain functions or coroutines; each event's handler runs in
a task of its own, so a handler may await the client (e.g. report a twin
property from on_twin_patch). Loaded on first use; a board without asyncio
(the WiPy) never imports it.
"""

try:
    import asyncio
except ImportError:  # (never imported there: azure.aio is for boards with asyncio)
    asyncio = None

import azure.client as _cl
from micropython import const

from .client import SendError, _Auth, _from_connection_string
from .mqtt import setup, event, events as events_, renew_at, handler, handled
from ._mbedtls import context, handshake_error

_CONNECTING = const(1)
_UP = const(2)


class IoTHubMQTTClient(_Auth):
    """The asyncio twin of azure.IoTHubMQTTClient: the same constructor,
    options, handlers and stats; coroutines instead of blocking calls, and
    no poll(): connect() starts the client's own task."""

    @classmethod
    def from_connection_string(cls, conn_str, **kw):
        """The same options as azure.IoTHubMQTTClient.from_connection_string."""
        return _from_connection_string(cls, 2, conn_str, kw)

    def __init__(self, host, path, audience, key, key_name, key_is_base64, iot=True, token=None, endpoint=None,
                 ca_certs=None, insecure_disable_tls_verification=False, keepalive=240, token_ttl=3600,
                 timeout=30, max_retries=6, backoff_base_ms=500, backoff_cap_ms=30000, receive_max=4096,
                 max_size=262144):
        setup(self, host, path, endpoint, ca_certs, insecure_disable_tls_verification, keepalive, timeout,
              max_retries, backoff_base_ms, backoff_cap_ms, receive_max, max_size)
        _Auth.__init__(self, audience, key, key_name, key_is_base64, token, token_ttl)
        self._task = self._reader = self._w = None
        self._writing = False  # a task is writing (the others leave their frames to it)
        self._ev = asyncio.Event()  # replaced on every change: set wakes every waiter

    # Set only when something failed for good (a class default keeps a
    # small board's instance dict a size smaller): what ends the client's task.
    _final = None

    def __repr__(self):
        return "<aio.IoTHubMQTTClient %s/%s>" % (self.host, self.device_id)

    async def __aenter__(self):
        await self.connect()
        return self

    async def __aexit__(self, *exc):
        await self.close()

    @property
    def connected(self):
        return self._core.state == _UP

    # -- the application's calls -------------------------------------------------

    async def connect(self):
        """Starts the client's task and waits until connected (up to `timeout`
        s). Raises ConnectRefused, TLSError or SendError."""
        self._start()
        start = _cl.ticks_ms()
        # Woken by every change, and at least once a second by the connection
        # task (which never waits on the network: see _kick).
        while self._core.state != _UP:
            if self._final is not None:
                raise self._final
            if _cl.ticks_diff(_cl.ticks_ms(), start) >= self._timeout * 1000:
                e = getattr(self._core, "last_error", None)
                raise SendError(None, "not connected within %d s%s" % (self._timeout, ": %s" % e if e else ""))
            await self._ev.wait()

    async def send(self, body, *, properties=None, content_type=None, timeout=None):
        """Sends one event at QoS 1; returns once PUBACKed, else raises
        SendError (timeout: seconds, default the client's; waiting for room
        in the in-flight window included)."""
        b, p = event(body, properties, content_type)
        await self._until(await self._publish(b, p, timeout))

    async def send_batch(self, events, *, timeout=None):
        """Sends a list of events (bodies or (body, properties)), up to 16 in
        flight at once; returns how many once all were acknowledged, else
        raises SendError (timeout: seconds for the whole batch)."""
        es = events_(events)
        start = None if timeout is None else _cl.ticks_ms()  # (else each event's own timeout)
        for i in range(len(es)):  # queued as the window allows, written together
            es[i] = await self._publish(es[i][0], es[i][1], timeout, start, False)
        await self._flush()
        for e in es:
            await self._until(e)
        return len(es)

    def get_twin(self):
        """The device twin: {"desired": {...}, "reported": {...}}. Raises TwinError."""
        c = self._core
        return self._until(c.twin_get(_cl.ticks_ms(), c.timeout_ms), True)

    def patch_twin_reported(self, patch):
        """Updates reported properties; returns the new reported $version."""
        c = self._core
        return self._until(c.twin_patch(patch, _cl.ticks_ms(), c.timeout_ms), True)

    async def close(self):
        """Disconnects and stops the client's tasks; pending sends fail with SendError."""
        t, self._task = self._task, None
        self._bye()
        if t is not None:
            t.cancel()
        self._core.abandon(SendError(None, "client closed"))
        self._notify()

    # -- driving the core ------------------------------------------------------------

    def _start(self):
        if self._task is None or self._task.done():
            if self._final is not None:
                self._final = None
            self._task = asyncio.create_task(self._run())

    def _notify(self):
        ev = self._ev
        self._ev = asyncio.Event()
        ev.set()

    async def _until(self, e, start=False):
        # Waits until the entry is done (the core fails it at its deadline);
        # its result. start: a request just queued (the client's task
        # started if it is not, what was queued written).
        if start:
            self._start()
            self._kick()
        while e[0] is None:
            await self._ev.wait()
        if e[0] is not True:
            raise e[0]
        return e[1]

    async def _publish(self, body, props, timeout, start=None, flush=True):
        # Queues one event, due `timeout` s (the client's by default) after
        # `start` (now by default).
        c = self._core
        if start is None:
            start = _cl.ticks_ms()
        if timeout is not None and not timeout > 0:  # (TypeError for a non-number)
            raise ValueError("timeout must be > 0 seconds")
        limit = c.timeout_ms if timeout is None else int(timeout * 1000)
        self._start()
        while True:
            if _cl.ticks_diff(_cl.ticks_ms(), start) >= limit:
                raise SendError(None, "not sent within %d ms (window full)" % limit)
            e = c.publish(body, props, start, limit)  # (due limit ms after start)
            if e is not None:
                break
            # The window is full: what is queued goes, then wait for a PUBACK
            # (one may come while writing: the event is taken before) or the
            # connection task's tick, at least once a second.
            ev = self._ev
            await self._flush()
            await ev.wait()
            if self._final is not None:
                raise self._final
        if flush:
            await self._flush()
        return e

    async def _flush(self):
        # Writes what the core queued, whole frames, until it has no more.
        # One writer at a time (asyncio's Stream.drain is not reentrant): a
        # task that finds another writing leaves its frames to it.
        if self._writing:
            return
        self._writing = True
        try:
            while True:
                w = self._w
                out = self._core.take(_cl.ticks_ms()) if w else None
                if not out:
                    return
                try:
                    for b in out:
                        w.write(b)
                    await w.drain()
                except asyncio.CancelledError:
                    # The writing task was cancelled: a frame cut short ends
                    # the connection (its events are resent); what others
                    # queued is written by a task of its own.
                    if w.out_buf:
                        self._broken(OSError("a write was cancelled"), w)
                    asyncio.create_task(self._flush())
                    raise
                except Exception as e:
                    self._broken(e, w)
        finally:
            self._writing = False

    def _kick(self):
        # What the core queued, written by a task of its own: the connection
        # task keeps running the timers (a CONNACK or PINGRESP deadline
        # ends a connection whose writes stalled).
        if self._core._out and not self._writing:
            asyncio.create_task(self._flush())

    def _bye(self):
        # DISCONNECT (a clean close) if no task is writing, then the
        # connection closes: written at once, without waiting to drain.
        c = self._core
        if self._w is not None and not self._writing:
            c.disconnect()
            for b in c.take(_cl.ticks_ms()):
                self._w.write(b)
        self._broken(None, self._w)

    def _broken(self, exc, w):
        # Connection w failed with exc (None: closed on purpose) as a reader,
        # writer or the connection task saw it: the connection task
        # reconnects. (A writer may see it after a newer one opened: ignored.)
        if self._w is not w:
            return
        # The handshake runs in the first write and read, and ends before the
        # CONNACK can come: mbedTLS's errors until then (a failed
        # verification is a ValueError, the others negative codes) are named
        # as the blocking connect names them.
        if self._core.state == _CONNECTING and (isinstance(exc, ValueError) or (
                isinstance(exc, OSError) and exc.args and isinstance(exc.args[0], int) and exc.args[0] < 0)):
            exc = handshake_error(exc, self._connect_host, self._port, self._ca_certs, self.host)
        # The connection goes: its reader stops, its socket closes, the
        # session knows.
        w, self._w = self._w, None
        r, self._reader = self._reader, None
        if r is not None:
            r.cancel()
        if w is not None:
            try:
                w.close()
                w.s.close()  # (MicroPython's Stream.close() leaves its socket open)
            except Exception:
                pass
        if exc is None:
            self._core.lost()
        else:
            try:  # the core decides: back off and retry, or (final) raise
                self._core.failed(exc, _cl.ticks_ms())
            except Exception as f:
                self._final = f
        self._notify()

    async def _open(self):
        c = self._core
        token = self._current_token()  # an expired given token: SendError(401), final
        # (transport's tls, else older ports' ssl: the same API)
        ctx = context(_cl.transport.tls or __import__("ssl"), self._ca_certs, self._verify)
        r, w = await asyncio.open_connection(self._connect_host, self._port, ssl=ctx, server_hostname=self.host)
        self._w = w
        c.begin(_cl.ticks_ms(), token, renew_at(self))
        self._reader = asyncio.create_task(self._read(r))
        self._kick()

    async def _run(self):
        # The connection's life: connect (with the core's backoff), timers, reconnect.
        c = self._core
        while True:
            try:
                if self._w is None:
                    if self._final is not None:  # everything pending failed: the task ends
                        return
                    now = _cl.ticks_ms()
                    c.tick(now, _cl.unix_time())  # deadlines run while disconnected too
                    self._notify()
                    d = c.wait_ms(now)
                    if d:
                        await asyncio.sleep_ms(min(d, 1000))
                        continue
                    await self._open()
                if c.tick(_cl.ticks_ms(), _cl.unix_time()):
                    self._bye()  # a fresh token: connect again at once
                    continue
                self._kick()
                self._notify()  # (the timers may have failed a late entry)
                # Until the next timer (at most 1 s): a dropped connection is
                # seen then (a plain sleep holds less than waiting on an event).
                await asyncio.sleep_ms(c.next_timer(_cl.ticks_ms()) or 1)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # opening failed, or the timers found the connection dead
                self._broken(e, self._w)

    async def _read(self, r):
        # One connection's reader: bytes to the core, events to handler tasks.
        c = self._core
        buf = bytearray(32)  # (8 PUBACKs; more is taken without waiting)
        try:
            while True:
                # Whatever has arrived, not just what the packet needs next:
                # each await costs a scheduler pass (a poll of the TLS stream).
                n = await r.readinto(buf)
                if n is None:  # readable, but no whole TLS record yet
                    continue
                if not n:
                    raise OSError("the broker closed the connection")
                while n:
                    c.feed(buf if n == len(buf) else memoryview(buf)[:n], _cl.ticks_ms())
                    # More already decrypted (a full buffer): take it without
                    # waiting on poll, which does not see TLS's own buffer.
                    n = r.s.readinto(buf) if n == len(buf) else 0
                while c.events:
                    asyncio.create_task(self._handle(c.events.pop(0)))
                self._notify()
                self._kick()  # (PUBACKs for messages, method answers: the reader reads on)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            while c.events:  # (what the core reported about the input that ended it)
                asyncio.create_task(self._handle(c.events.pop(0)))
            if self._reader is asyncio.current_task():
                self._reader = None
                self._broken(e, self._w)

    async def _handle(self, ev):
        f, a = handler(self, ev)
        r = e = None
        if f:
            try:
                r = f(*a)
                if hasattr(r, "send"):  # a coroutine function's
                    r = await r
            except Exception as x:  # a handler that raised: reported, the reader goes on
                e = x
        handled(self, ev, f, r, e)
        self._kick()
