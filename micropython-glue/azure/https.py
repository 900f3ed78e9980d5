"""Clients that send events to Event Hubs, Service Bus and IoT Hub over HTTPS.

One TLS connection is kept alive across sends and reopened when it drops.
The token (azure/client.py `_Auth`) is signed on the device and renewed at
80% of its lifetime, or given. Retryable failures (408, 429, 5xx, connection
errors) are retried with capped exponential backoff and full jitter,
honouring Retry-After. `send` returns only once the service acknowledged the
event (201/204); otherwise it raises `SendError`: the caller always knows.

Delivery is at-least-once: when a connection drops after the service stored
an event but before its answer arrived, the retry stores it again.

Every board runs the same code: the native module `_azure` signs tokens,
frames request heads and batch bodies and computes backoff; `response`
reads the answers; this file holds the HTTPS clients' core (the services'
paths, queries and content types, the connection's life) and the Event Hubs
client. The Service Bus and IoT Hub clients add their own methods in
azure/servicebus.py and azure/iothub.py. The clock, sleep, jitter and the
network are reached through azure.client (`C.`), where tests script them.
"""

import _azure
from micropython import const

import azure.client as C
from .client import _Auth, SendError, _from_connection_string, _body, _props, _text
from .response import Response, classify

# Service REST details (docs/protocol.md). const(): compiled into the code
# that uses them, not module globals (no names or dict entries in the heap).
_EH_QUERY = const("timeout=60&api-version=2014-01")
_IOT_QUERY = const("api-version=2021-04-12")
_CT_ATOM = const("application/atom+xml;type=entry;charset=utf-8")
_CT_SB_BATCH = const("application/vnd.microsoft.servicebus.json")
_CT_OCTETS = const("application/octet-stream")
_CT_IOT_BATCH = const("application/vnd.microsoft.iothub.json")

_MAX_SIZE_DEFAULT = const(262144)  # 256 KB: the Basic tier's limit


# One protocol, two drivers (issue #21). The request core (_Client._request)
# does no I/O: it yields what it needs as (op, arg) and its driver answers:
# _CONNECT (None): open the connection (self._sock); _WRITE (bytes);
# _READ (Response.want: 0 a line, n body bytes): the bytes read, b"" at the
# end; _SLEEP (ms). An I/O error is thrown into the core where it yielded.
# The drivers: _Client._run here (the socket, blocking) and azure/aio_http.py
# (asyncio streams). Each client method that talks to the service runs such
# a generator with `self._run` (receive.py's too), so it is blocking here
# and a coroutine there.
_CONNECT = const(0)
_WRITE = const(1)
_READ = const(2)
_SLEEP = const(3)


class _Client(_Auth):
    """What every HTTPS client shares: the connection, retries (and, from
    _Auth, the token).

    `path` is the request path's names (percent-encoded by the framer);
    `iot` selects IoT Hub's content types and `iothub-app-` properties."""

    def __init__(self, host, path, audience, key, key_name, key_is_base64, iot=False, token=None,
                 endpoint=None, ca_certs=None, insecure_disable_tls_verification=False,
                 token_ttl=3600, max_retries=6, timeout=30, max_size=_MAX_SIZE_DEFAULT,
                 keep_alive=True, backoff_base_ms=500, backoff_cap_ms=30000, receive_max=4096):
        # The options checked once, now, and the endpoint split, by
        # azure/_connstr.py (loaded for this only): a bad value would
        # otherwise surface only inside a send (or, for the retry settings,
        # only after a first failure).
        from . import _transient

        self._connect_host, self._port = _transient("_connstr", "options", endpoint, host, max_size, token_ttl,
                                                    max_retries, receive_max, backoff_base_ms, backoff_cap_ms)
        _Auth.__init__(self, audience, key, key_name, key_is_base64, token, token_ttl)
        self.host = host
        self._path = path
        self._iot = iot
        self._query = _IOT_QUERY if iot else _EH_QUERY
        self._ca_certs = ca_certs
        self._verify = not insecure_disable_tls_verification
        self.max_retries = max_retries
        self._timeout = timeout
        self.max_size = max_size
        self._keep_alive = keep_alive
        # Received message bodies kept (azure/receive.py): a longer one raises.
        self.receive_max = receive_max
        self._backoff = (backoff_base_ms, backoff_cap_ms)
        self._sock = None
        # The request's parts checked once, now, by the native framer (types,
        # empty names, host, max_size, a given token's bytes): bad input
        # fails here, not in the first send.
        _azure.frame_head("POST", path, host, self._token, 0, None, None, None, None, None, True, max_size)
        self._resp = Response()
        self._rbuf = bytearray(256)
        self._rview = memoryview(self._rbuf)
        # Counters a device can report home.
        self.stats = {"sent": 0, "requests": 0, "retries": 0, "connects": 0, "renewals": 0}

    def __repr__(self):
        # Never the key or the token.
        return "<%s %s/%s>" % (type(self).__name__, self.host, self._path[1 if self._iot else 0])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        s = self._sock
        if s is not None:
            self._sock = None
            try:
                s.close()
            except OSError:
                pass

    # -- sending -------------------------------------------------------------

    def send(self, body, *, properties=None, partition_key=None, content_type=None):
        """Sends one event; returns when the service acknowledged it."""
        body = _body(body)
        props = _props(properties)
        if partition_key is not None and self._iot:
            raise ValueError("IoT Hub has no partition key")
        if content_type is None:
            content_type = _CT_OCTETS if self._iot else _CT_ATOM
        return self._run(self._request("POST", self._path, body, content_type, props, partition_key, 1))

    def send_batch(self, events):
        """Sends a list of events in one request. Each event is a body (str or
        bytes), or a tuple (body, properties) or (body, properties, partition_key)."""
        if not isinstance(events, (list, tuple)):
            raise TypeError("events must be a list")
        # frame_batch takes the events as they are (it checks every body,
        # tuple and property): no per-event copies, which would cost more heap
        # than the batch itself. Only property values that are not str are
        # converted, in a copy of that event.
        norm = events
        for i, ev in enumerate(events):
            if isinstance(ev, tuple) and len(ev) > 1 and isinstance(ev[1], dict):
                p = _props(ev[1])
                if p is not ev[1]:
                    if norm is events:
                        norm = list(events)
                    norm[i] = (ev[0], p) + ev[2:]
        body = _azure.frame_batch(norm, self._iot, self.max_size)
        return self._run(self._request("POST", self._path, body, _CT_IOT_BATCH if self._iot else _CT_SB_BATCH,
                                       None, None, len(norm)))

    # -- one request, with the token, the connection and retries ------------

    def _head(self, method, path, body, content_type, props, partition_key, query):
        # (method, path, host, token, body_len, query, content_type,
        #  properties, prefix, partition_key, keep_alive, max_size)
        return _azure.frame_head(method, path, self.host, self._current_token(), len(body),
                                 self._query if query is None else query, content_type, props,
                                 "iothub-app-" if self._iot else None, partition_key,
                                 self._keep_alive, self.max_size)

    def _request(self, method, path, body, content_type=None, props=None, partition_key=None, count=0,
                 query=None, resp=None):
        """The request core: sends one request until the service answers it
        for good; returns the status of a 2xx answer (the response is in
        `resp`, default self._resp) or raises SendError. `count` events are
        counted as sent. A generator, run by the client's driver:
        `self._run(self._request(...))`, blocking here, a coroutine in azure.aio."""
        r = self._resp if resp is None else resp
        # Frame once up front: bad input raises before anything is sent.
        head = self._head(method, path, body, content_type, props, partition_key, query)
        attempt = 0
        renewed = False
        while True:
            status = None
            reused = self._sock is not None
            try:
                while status is None:
                    if self._sock is None:
                        yield _CONNECT, None
                        self.stats["connects"] += 1
                    self.stats["requests"] += 1
                    r.reset()
                    try:
                        # A small body goes out with the head in one write: as
                        # two small writes (two TLS records), Nagle holds the
                        # second until the server ACKs the first, which it
                        # delays (40 ms on Linux, up to 200 ms elsewhere).
                        if len(body) <= 1024:
                            yield _WRITE, head + body
                        else:
                            yield _WRITE, head
                            yield _WRITE, body
                        # The driver bounds each read (socket timeout, or
                        # asyncio's); this bounds the whole response (a server
                        # trickling header lines forever).
                        start = C.ticks_ms()
                        while not r.complete:
                            if C.ticks_diff(C.ticks_ms(), start) > 2000 * self._timeout:
                                raise OSError("no complete response within %d s" % (2 * self._timeout))
                            data = yield _READ, r.want
                            if not data:
                                r.eof()  # raises OSError if the response was cut short
                                break
                            if r.feed(data) < len(data):
                                # Bytes after the response: never expected; do not reuse the connection.
                                r.keep_alive = False
                                break
                        if not (r.keep_alive and self._keep_alive):
                            self.close()
                        status = r.status
                    except OSError:
                        # Only a kept-alive connection that failed before any
                        # answer began (the server had closed it while idle)
                        # is reopened at once, once; an answer that went wrong
                        # is the server's, and goes to the retry policy (for a
                        # receive, sending again would lock a second message).
                        if not reused or r.status:
                            raise
                        reused = False
                        self.close()
            except C.transport.TLSError:
                self.close()
                raise
            except OSError as e:
                self.close()
                err = "connection failed (%s)" % e
            if status is not None:
                verdict = classify(status)
                if verdict == 0:
                    self.stats["sent"] += count
                    return status
                err = _text(r.error_text) or "HTTP %d" % status
                if verdict == 1 and not renewed and not self._given:
                    # 401: the token may have just expired; sign a fresh one once.
                    # (A given token cannot be renewed: its 401 is final.)
                    renewed = True
                    self._token = None
                    head = self._head(method, path, body, content_type, props, partition_key, query)
                    continue
                if verdict != 3:
                    raise SendError(status, err)
            if attempt >= self.max_retries:
                raise SendError(status, "gave up after %d attempt%s: %s" % (attempt + 1, "s" if attempt else "", err))
            retry_after = r.retry_after if status is not None else None
            yield _SLEEP, _azure.backoff_ms(attempt, C._rand32(), retry_after, self._backoff[0], self._backoff[1])
            attempt += 1
            self.stats["retries"] += 1
            if not self._given and (self._token is None or C.unix_time() >= self._renew_at):
                head = self._head(method, path, body, content_type, props, partition_key, query)

    def _run(self, g):
        # The blocking driver: does each I/O the core asks for at once, on
        # the socket. Blocking reads wait until the buffer is full, so it
        # reads exactly what the response reader wants next: a line (bounded:
        # a server that never sends LF cannot exhaust the heap), or n bytes.
        v = e = None
        while True:
            try:
                op, a = g.send(v) if e is None else g.throw(e)
            except StopIteration as x:
                return x.value
            v = e = None
            try:
                if op == _READ:
                    buf = self._rbuf
                    if a:
                        n = self._sock.readinto(buf, min(a, len(buf)))
                        v = self._rview[:n] if n else b""
                    else:
                        v = self._sock.readline(len(buf))
                elif op == _WRITE:
                    self._sock.write(a)
                elif op == _CONNECT:
                    self._sock = C.transport.connect(self._connect_host, self._port, self.host,
                                                     self._ca_certs, self._verify, self._timeout)
                else:
                    C.sleep_ms(a)
            except OSError as x:
                e = x


class EventHubClient(_Client):
    """Sends to an Event Hub, optionally as a publisher (per-device token,
    the device can only post as itself) or to one partition."""

    @classmethod
    def from_connection_string(cls, conn_str, **kw):
        """event_hub=, publisher= (a per-device token) or partition_id=, and the common options."""
        return _from_connection_string(cls, 0, conn_str, kw)
