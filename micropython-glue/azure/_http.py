"""Request framing and response reading in Python, for firmware that leaves
the native send path out (the WiPy: UPY_AZURE_SEND=0, its image has room
only for the signing core). Same API and the same bytes as the natives in
`_azure` (src/request.rs, batch.rs, response.rs, backoff.rs); the unix build
tests them against each other.
"""

from _azure import sas_token  # noqa: F401  (the native module must be there)

EVENT_HUB = 0
SERVICE_BUS = 1
IOT_HUB = 2
SUCCESS = 0
RENEW = 1
FATAL = 2
RETRY = 3

_HEX = b"0123456789ABCDEF"
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TCHAR = b"!#$%&'*+-.^_`|~"
_RESERVED = (b"host", b"authorization", b"content-type", b"content-length", b"connection",
             b"brokerproperties", b"transfer-encoding", b"expect")
_CT = (b"application/atom+xml;type=entry;charset=utf-8", b"application/vnd.microsoft.servicebus.json",
       b"application/octet-stream", b"application/vnd.microsoft.iothub.json")
_BAD_RESPONSE = "malformed or truncated HTTP response"


def _text(o, name, may_be_bytes=False):
    if isinstance(o, str):
        return o.encode()
    if may_be_bytes and isinstance(o, (bytes, bytearray, memoryview)):
        return bytes(o)
    raise TypeError("%s must be str" % name)


def _opt(o, name):
    return None if o is None else _text(o, name)


def _pct(b):
    out = bytearray()
    for c in b:
        if 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c in b"-._~":
            out.append(c)
        else:
            out.append(37)
            out.append(_HEX[c >> 4])
            out.append(_HEX[c & 15])
    return out


def _value(v, may_be_empty):
    if not (v or may_be_empty) or any(c != 9 and not 32 <= c <= 126 for c in v):
        raise ValueError("invalid property, partition key or token value: printable ASCII only (no CR, LF, NUL)")
    return v


def _is_token(b):
    return b and all(48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c in _TCHAR for c in b)


def _json(b):
    # JSON string contents; the input must be UTF-8 (as the Rust side checks).
    try:
        str(b, "utf-8")
    except (UnicodeError, ValueError):
        raise ValueError("Event Hubs/Service Bus batch bodies and properties must be UTF-8 text")
    out = bytearray()
    for c in b:
        if c >= 32 and c != 34 and c != 92:
            out.append(c)
        elif c in b'"\\':
            out.append(92)
            out.append(c)
        else:
            i = b"\b\t\n\f\r".find(bytes((c,)))
            if i >= 0:
                out.append(92)
                out.append(b"btnfr"[i])
            else:
                out.extend(b"\\u00")
                out.append(_HEX[c >> 4])
                out.append(_HEX[c & 15])
    return out


def _b64(b):
    out = bytearray()
    for i in range(0, len(b), 3):
        g = b[i:i + 3]
        n = (g[0] << 16) | ((g[1] if len(g) > 1 else 0) << 8) | (g[2] if len(g) > 2 else 0)
        for k in range(4):
            out.append(_B64[(n >> (18 - 6 * k)) & 63] if k <= len(g) else 61)
    return out


def _valid_host(h):
    return h and all(48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c in b"-.:_" for c in h)


def _kind(kind):
    if not isinstance(kind, int) or not 0 <= kind <= 2:
        raise ValueError("kind must be EVENT_HUB, SERVICE_BUS or IOT_HUB")
    return kind


def _max_size(v):
    if not isinstance(v, int):
        raise TypeError("max_size must be an int")
    if not 0 < v <= 1048576:
        raise ValueError("max_size must be between 1 and 1048576 bytes")
    return v


def _properties(props):
    if props is None:
        return ()
    if not isinstance(props, dict):
        raise TypeError("properties must be a dict of str to str")
    if len(props) > 16:
        raise ValueError("too many properties: the limit is 16")
    return [(_text(k, "properties"), _text(v, "properties")) for k, v in props.items()]


def frame_request(kind, host, entity, token, body_len, *, publisher=None, partition_id=None,
                  module_id=None, content_type=None, properties=None, partition_key=None,
                  batch=False, keep_alive=True, max_size=262144):
    kind = _kind(kind)
    host, entity, token = _text(host, "host"), _text(entity, "entity"), _text(token, "token")
    publisher, partition_id = _opt(publisher, "publisher"), _opt(partition_id, "partition_id")
    module_id, content_type = _opt(module_id, "module_id"), _opt(content_type, "content_type")
    partition_key = _opt(partition_key, "partition_key")
    props = _properties(properties)
    if not isinstance(body_len, int):
        raise TypeError("body_len must be an int")
    if body_len < 0:
        raise ValueError("body_len must not be negative")
    if body_len > _max_size(max_size):
        raise ValueError("message larger than max_size (256 KB by default, 1 MB at most)")
    if not _valid_host(host):
        raise ValueError("invalid host name: use letters, digits, - and . with an optional :port")
    iot = kind == IOT_HUB
    if publisher is not None and partition_id is not None:
        raise ValueError("invalid combination of arguments (e.g. partition_key for IoT Hub)")
    sub, sub_prefix = (publisher, b"/publishers/") if publisher is not None else (partition_id, b"/partitions/")
    if (batch and content_type is not None) or (
            (sub is not None or partition_key is not None) if iot
            else (module_id is not None or (kind != EVENT_HUB and sub is not None))):
        raise ValueError("invalid combination of arguments (e.g. partition_key for IoT Hub)")
    if iot:
        sub, sub_prefix = module_id, b"/modules/"
    if not entity or sub == b"":
        raise ValueError("entity, publisher, partition, device and module names must not be empty")
    h = bytearray(b"POST /devices/" if iot else b"POST /")
    h.extend(_pct(entity))
    if sub is not None:
        h.extend(sub_prefix)
        h.extend(_pct(sub))
    h.extend(b"/messages/events?api-version=2021-04-12 HTTP/1.1\r\nHost: " if iot
             else b"/messages?timeout=60&api-version=2014-01 HTTP/1.1\r\nHost: ")
    h.extend(host)
    h.extend(b"\r\nAuthorization: ")
    h.extend(_value(token, False))
    h.extend(b"\r\nContent-Type: ")
    h.extend(_value(content_type, False) if content_type is not None else _CT[2 * iot + bool(batch)])
    h.extend(b"\r\nContent-Length: ")
    h.extend(str(body_len).encode())
    if partition_key is not None:
        h.extend(b'\r\nBrokerProperties: {"PartitionKey":"')
        h.extend(_json(_value(partition_key, True)))
        h.extend(b'"}')
    for name, value in props:
        if not _is_token(name) or (not iot and name.lower() in _RESERVED):
            raise ValueError("invalid property name: use letters, digits and !#$%&'*+-.^_`|~, "
                             "not a header the library sets")
        h.extend(b"\r\niothub-app-" if iot else b"\r\n")
        h.extend(name)
        h.extend(b": ")
        h.extend(_value(value, True))
    h.extend(b"\r\nConnection: keep-alive\r\n\r\n" if keep_alive else b"\r\nConnection: close\r\n\r\n")
    return bytes(h)


def frame_batch(kind, events, *, max_size=262144):
    iot = _kind(kind) == IOT_HUB
    max_size = _max_size(max_size)
    if not isinstance(events, (list, tuple)):
        raise TypeError("events must be a list")
    if not events:
        raise ValueError("a batch needs at least one event")
    out = bytearray()
    for ev in events:
        props, pk = None, None
        if isinstance(ev, tuple):
            if not 1 <= len(ev) <= 3:
                raise ValueError("a batch event is (body, properties, partition_key)")
            body = ev[0]
            props = ev[1] if len(ev) > 1 else None
            pk = ev[2] if len(ev) > 2 else None
        else:
            body = ev
        body = _text(body, "body", True)
        props = _properties(props)
        pk = _opt(pk, "partition_key")
        out.append(44 if out else 91)  # ',' or '['
        if iot:
            if pk is not None:
                raise ValueError("invalid combination of arguments (e.g. partition_key for IoT Hub)")
            out.extend(b'{"body":"')
            out.extend(_b64(body))
            out.append(34)
        else:
            out.extend(b'{"Body":"')
            out.extend(_json(body))
            out.append(34)
        for i, (name, value) in enumerate(props):
            if not name:
                raise ValueError("invalid property name: use letters, digits and !#$%&'*+-.^_`|~, "
                                 "not a header the library sets")
            out.extend((b',"properties":{"' if iot else b',"UserProperties":{"') if i == 0 else b',"')
            if iot:
                out.extend(b"iothub-app-")
            out.extend(_json(name))
            out.extend(b'":"')
            out.extend(_json(value))
            out.append(34)
        if props:
            out.append(125)
        if pk is not None:
            out.extend(b',"BrokerProperties":{"PartitionKey":"')
            out.extend(_json(pk))
            out.extend(b'"}')
        out.append(125)
        if len(out) >= max_size:
            raise ValueError("message larger than max_size (256 KB by default, 1 MB at most)")
    out.append(93)
    return bytes(out)


def classify(status):
    if not isinstance(status, int):
        raise TypeError("status must be an int")
    if not 100 <= status <= 999:
        raise ValueError("status must be an HTTP status code (100-999)")
    if 200 <= status <= 299:
        return SUCCESS
    if status == 401:
        return RENEW
    if status in (408, 429) or 500 <= status <= 599:
        return RETRY
    return FATAL


def backoff_ms(attempt, rand, *, retry_after=None, base_ms=500, cap_ms=30000):
    for v in (attempt, rand, base_ms, cap_ms) + (() if retry_after is None else (retry_after,)):
        if not isinstance(v, int):
            raise TypeError("backoff_ms arguments must be ints")
        if not 0 <= v < 1 << 32:
            raise ValueError("backoff_ms arguments must be between 0 and 2**32-1")
    ceiling = min(base_ms << attempt if attempt < 32 else (0 if base_ms == 0 else 1 << 32), 0xFFFFFFFF, cap_ms)
    delay = rand % (ceiling + 1)
    if retry_after is not None:
        delay = max(delay, min(retry_after * 1000, 120000))
    return delay


class Response:
    """The incremental HTTP/1.1 response reader (see src/response.rs)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.status = 0
        self.complete = False
        self.keep_alive = False
        self.retry_after = None
        self.error_text = b""
        self.want = 0  # 0: a line; n: n body bytes; 2**32-1: until close
        self._st = 0  # 0 status, 1 headers, 2 body, 3 chunk size, 4 chunk data, 5 chunk end, 6 trailers, 7 until close, 9 failed
        self._line = b""
        self._len = None
        self._chunked = False
        self._conn = None
        self._http10 = False

    def _fail(self):
        self._st = 9
        raise OSError(_BAD_RESPONSE)

    def _keep(self, b):
        if len(self.error_text) < 128:
            self.error_text += bytes(b[:128 - len(self.error_text)])

    def _done(self):
        self.complete = True
        self.want = 0

    def feed(self, data):
        if self._st == 9:
            raise OSError(_BAD_RESPONSE)
        data = bytes(data)
        i, n = 0, len(data)
        while i < n and not self.complete:
            st = self._st
            if st == 2 or st == 4:
                k = min(n - i, self.want)
                self._keep(data[i:i + k])
                i += k
                self.want -= k
                if not self.want:
                    if st == 2:
                        self._done()
                    else:
                        self._st = 5
            elif st == 7:
                self._keep(data[i:])
                i = n
            else:
                j = data.find(b"\n", i)
                if j < 0:
                    self._line += data[i:]
                    if len(self._line) > 8192:
                        self._fail()
                    i = n
                else:
                    line = (self._line + data[i:j]).rstrip(b"\r")
                    self._line = b""
                    i = j + 1
                    self._on_line(line)
        return i

    def _on_line(self, line):
        st = self._st
        if st == 0:
            if not line:
                return
            if len(line) < 12 or line[:7] != b"HTTP/1." or line[8:9] != b" " or line[12:13] not in (b"", b" "):
                self._fail()
            try:
                self.status = int(line[9:12])
            except ValueError:
                self._fail()
            if not 100 <= self.status <= 999:
                self._fail()
            self._http10 = line[7:8] == b"0"
            self._st = 1
        elif st == 1:
            if line:
                return self._header(line.lower())
            if self.status < 200:
                # An interim response (100 Continue): the real one follows.
                self._st = 0
                self._len, self._chunked, self._conn = None, False, None
                return
            close = self._conn == b"close" or (self._http10 and self._conn != b"keep-alive")
            self.keep_alive = not close
            if self.status in (204, 304):
                self._done()
            elif self._chunked:
                self._st = 3
            elif self._len is not None:
                self.want = self._len
                self._st = 2
                if not self._len:
                    self._done()
            else:
                self.keep_alive = False
                self._st = 7
                self.want = 0xFFFFFFFF
        elif st == 3:
            size = line.split(b";", 1)[0].strip()
            try:
                self.want = int(size, 16)
            except ValueError:
                self._fail()
            if size[:1] in (b"+", b"-") or self.want >= 1 << 32:
                self._fail()
            self._st = 4 if self.want else 6
        elif st == 5:
            if line:
                self._fail()
            self._st = 3
        elif st == 6:
            if not line:
                self._done()

    def _header(self, line):
        name, sep, value = line.partition(b":")
        if not sep or not _is_token(name):
            self._fail()
        value = value.strip()
        if name == b"content-length":
            if not value.isdigit() or (self._len is not None and self._len != int(value)):
                self._fail()
            self._len = int(value)
            if self._len >= 1 << 32:
                self._fail()
        elif name == b"transfer-encoding":
            self._chunked = value.endswith(b"chunked")
        elif name == b"connection":
            self._conn = value
        elif name == b"retry-after":
            self.retry_after = min(int(value), 0x7FFFFFFF) if value.isdigit() else None

    def eof(self):
        if self.complete:
            return
        if self._st == 7:
            self._done()
            return
        self._st = 9
        raise OSError(_BAD_RESPONSE)
