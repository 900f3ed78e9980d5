"""azure.aio.EventHubClient, ServiceBusClient, IoTHubClient: the HTTPS
clients inside an asyncio event loop (issue #21).

Each is its blocking twin (azure/https.py, servicebus.py, iothub.py) with
another driver: every request is the same protocol core
(`_Client._request` in azure/https.py: framing, the response reader,
retries and backoff, the 401 renewal, Retry-After, keep-alive reuse), every
receive and settle is receive.py's, and the outbox's flush keeps its one
bookkeeping (azure/outbox.py); this file only does the I/O the core asks
for, with asyncio streams, and sleeps with asyncio. Methods that talk to the service return
coroutines: `await c.send(...)`, `await c.send_batch(...)`,
`await c.receive()`, `await c.complete(m)`..., `await c.close()`,
`async with`. One request at a time per client (one HTTP/1.1
connection): concurrent callers wait their turn. A task cancelled while
awaiting a request closes the connection (nothing half-written is reused);
its event was then either stored or not: at-least-once, as on a timeout.

Only the TLS handshake's computation runs without yielding (MicroPython's
own stream code). Loaded on first use; a board without asyncio never
imports it.
"""

try:
    import asyncio
    import select
except ImportError:  # (never imported there: azure.aio is for boards with asyncio)
    asyncio = None

import azure
from micropython import const

# The core's requests (azure/https.py): connect, write, read, sleep.
_CONNECT = const(0)
_WRITE = const(1)
_READ = const(2)
_SLEEP = const(3)
_CHUNK = const(512)  # bytes asked of the stream per read


async def _connect(c):
    # TCP through asyncio (a non-blocking connect), then TLS over the same
    # socket without a blocking handshake: it runs inside the first write
    # and read, as asyncio.open_connection(..., ssl=ctx) does it.
    from ._mbedtls import context, nodelay

    # (transport's tls, else older ports' ssl: the same API, as azure/aio_mqtt.py)
    ctx = context(azure.client.transport.tls or __import__("ssl"), c._ca_certs, c._verify)
    s = (await asyncio.wait_for_ms(asyncio.open_connection(c._connect_host, c._port), c._timeout * 1000))[0].s
    # A connection that failed (refused, unreachable) fails here, as the
    # blocking connect does, not in the first write: the same stats and errors.
    p = select.poll()
    p.register(s, select.POLLOUT)
    if p.poll(0)[0][1] & (select.POLLERR | select.POLLHUP):
        try:
            s.read(1)  # (raises the socket's own error)
        finally:
            s.close()
        raise OSError(111)  # ECONNREFUSED
    nodelay(s)
    try:
        s = ctx.wrap_socket(s, server_hostname=c.host, do_handshake_on_connect=False)
    except (OSError, ValueError):
        s.close()
        raise
    s.setblocking(False)
    return asyncio.StreamReader(s)


async def _drive(c, g):
    # The asyncio driver of a protocol generator: its I/O as awaits, each
    # bounded by the client's timeout. Errors are thrown into the core where
    # it asked, as the blocking driver's are.
    v = e = None
    tmo = c._timeout * 1000
    while True:
        try:
            op, a = g.send(v) if e is None else g.throw(e)
        except StopIteration as x:
            return x.value
        v = e = None
        try:
            if op == _READ:
                v = await asyncio.wait_for_ms(c._sock.read(min(a, _CHUNK) if a else _CHUNK), tmo)
                c._fresh = False
            elif op == _WRITE:
                s = c._sock
                s.write(a)
                await asyncio.wait_for_ms(s.drain(), tmo)
            elif op == _CONNECT:
                c._sock = await _connect(c)
                c._fresh = True
            else:
                await asyncio.sleep_ms(a)
        except asyncio.TimeoutError:
            e = OSError(110)  # ETIMEDOUT, as a socket timeout is to the blocking driver
        except (OSError, ValueError) as x:
            e = x
            # The handshake runs in the first write and read of a connection:
            # mbedTLS's own errors there (a failed verification is a
            # ValueError, the others negative codes) are the TLS handshake's,
            # as the blocking connect reports them.
            if c._fresh and (isinstance(x, ValueError) or (x.args and isinstance(x.args[0], int) and x.args[0] < 0)):
                from ._mbedtls import handshake_error

                e = handshake_error(x, c._connect_host, c._port, c._ca_certs, c.host)
            elif isinstance(x, ValueError):
                raise


class _Async:
    _lock = None
    _fresh = False

    def _run(self, g):
        # Every request, receive, settle and flush: a coroutine here.
        return self._locked(g)

    async def _locked(self, g):
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            try:
                return await _drive(self, g)
            except asyncio.CancelledError:
                # Cancelled mid-request: whatever was half-written or unread
                # goes with the connection.
                self.close()
                raise

    def send(self, body, *, properties=None, partition_key=None, content_type=None, timeout=None):
        """`await c.send(...)`: the blocking client's send. With `timeout`
        (seconds, the whole send: waiting for the connection's turn and the
        retries included), azure.SendError when the event was not delivered
        within it; the request is then cancelled as a cancelled task's is
        (its connection closed: nothing half-written is reused). An event
        whose answer did not come in time may have been stored: at least
        once, as on any timeout."""
        if timeout is not None and not timeout > 0:  # (TypeError for a non-number)
            raise ValueError("timeout must be > 0 seconds")
        from .https import _Client

        a = _Client.send(self, body, properties=properties, partition_key=partition_key, content_type=content_type)
        return a if timeout is None else _within(a, timeout)

    def send_batch(self, events, *, timeout=None):
        """`await c.send_batch(events)`: the blocking client's send_batch;
        `timeout` as send's, for the whole batch. (send's lines again: a
        shared helper's name costs a small board more than they do.)"""
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be > 0 seconds")
        from .https import _Client

        a = _Client.send_batch(self, events)
        return a if timeout is None else _within(a, timeout)

    def close(self):
        """Closes the connection (the next request opens a new one); `await
        c.close()`. (The request core calls it too, without awaiting.)"""
        s = self._sock
        if s is not None:
            self._sock = None
            try:
                s.s.close()  # (asyncio's Stream.close() leaves the socket open)
            except OSError:
                pass
        return asyncio.sleep_ms(0)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()


async def _within(a, timeout):
    try:
        return await asyncio.wait_for_ms(a, int(timeout * 1000))
    except asyncio.TimeoutError:
        raise azure.SendError(None, "not sent within %s s" % timeout)


_classes = {}


def __getattr__(name):
    # azure.aio.<name>: the blocking client's class with this driver, made
    # on first use (its blocking module loaded then, not before).
    cls = _classes.get(name)
    if cls is None:
        if name not in ("EventHubClient", "ServiceBusClient", "IoTHubClient"):
            raise AttributeError(name)
        cls = _classes[name] = type(name, (_Async, getattr(azure, name)), {})
    return cls


async def flush(box, client, batch, max_events, room):
    # Outbox.flush with an asyncio client (azure/outbox.py, which knows one
    # by its lock): the same bookkeeping, each send awaited.
    sent = 0
    while True:
        b = box._take(batch, max_events, sent, room)
        if b is None:
            return sent
        await client.send_batch(b[0])
        sent += box._sent(b)
