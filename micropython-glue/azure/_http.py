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
_LINE_CAP = 128  # RESPONSE_LINE_CAP


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
        raise ValueError("Event Hubs/Service Bus batch bodies and properties must be UTF-8 text; "
                         "send binary bodies one by one")
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


def _int_in(v, lo, hi, msg):
    # Like the natives' mp_obj_get_int: bool counts as an int.
    if not isinstance(v, (int, bool)):
        raise TypeError("an int is required")
    if not lo <= v <= hi:
        raise ValueError(msg)
    return int(v)


def _kind(kind):
    return _int_in(kind, 0, 2, "kind must be EVENT_HUB, SERVICE_BUS or IOT_HUB")


def _uint(v, name, bits=64):
    # The natives' azure_get_u64 (and the 32-bit check of backoff_ms).
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError("%s must be an int" % name)
    if v < 0:
        raise ValueError("%s must not be negative" % name)
    if v >> 64:
        raise ValueError("%s must be below 2**64" % name)
    if v >> bits:
        raise ValueError("%s must be below 2**%d" % (name, bits))
    return v


def _max_size(v):
    if not 0 < _uint(v, "max_size") <= 1048576:
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
    # None is "absent" there: refused below as invalid or empty, like the natives.
    host, entity, token = (b"" if v is None else _text(v, n) for v, n in
                           ((host, "host"), (entity, "entity"), (token, "token")))
    publisher, partition_id = _opt(publisher, "publisher"), _opt(partition_id, "partition_id")
    module_id, content_type = _opt(module_id, "module_id"), _opt(content_type, "content_type")
    partition_key = _opt(partition_key, "partition_key")
    props = _properties(properties)
    if _uint(body_len, "body_len") > _max_size(max_size):
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
    status = _int_in(status, 100, 999, "status must be an HTTP status code (100-999)")
    if 200 <= status <= 299:
        return SUCCESS
    if status == 401:
        return RENEW
    if status in (408, 429) or 500 <= status <= 599:
        return RETRY
    return FATAL


def backoff_ms(attempt, rand, *, retry_after=None, base_ms=500, cap_ms=30000):
    if retry_after is not None:
        _uint(retry_after, "retry_after", 32)
    for v, name in ((attempt, "attempt"), (base_ms, "base_ms"), (cap_ms, "cap_ms"), (rand, "rand")):
        _uint(v, name, 32)
    ceiling = min(base_ms << attempt if attempt < 32 else (0 if base_ms == 0 else 1 << 32), 0xFFFFFFFF, cap_ms)
    delay = rand % (ceiling + 1)
    if retry_after is not None:
        delay = max(delay, min(retry_after * 1000, 120000))
    return delay


class Response:
    """The incremental HTTP/1.1 response reader (see src/response.rs): the
    same results on any input, lines kept up to 128 bytes as there."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.status = 0
        self.complete = False
        self.keep_alive = False
        self.retry_after = None
        self.error_text = b""
        self._left = 0  # body bytes still to read (Content-Length or chunk)
        self._st = 0  # 0 status, 1 headers, 2 body, 3 chunk size, 4 chunk data, 5 chunk end, 6 trailers, 7 until close, 8 done, 9 failed
        self._line = b""  # up to _LINE_CAP + 1 bytes: one more marks a cut line
        self._len = None
        self._te = self._chunked = self._close = self._ka = self._http10 = False

    @property
    def want(self):
        # 0: a line; n: n body bytes; 2**32-1: until the connection closes
        st = self._st
        return self._left if st == 2 or st == 4 else 0xFFFFFFFF if st == 7 else 0

    def _fail(self, msg=_BAD_RESPONSE):
        self._st = 9
        raise OSError(msg)

    def _keep(self, b):
        if len(self.error_text) < 128:
            self.error_text += bytes(b[:128 - len(self.error_text)])

    def _done(self):
        self.complete = True
        self._st = 8

    def feed(self, data):
        if self._st == 9:
            raise OSError(_BAD_RESPONSE)
        data = bytes(data)
        i, n = 0, len(data)
        while i < n and not self.complete:
            st = self._st
            if st == 2 or st == 4:
                k = min(n - i, self._left)
                self._keep(data[i:i + k])
                i += k
                self._left -= k
                if not self._left:
                    if st == 2:
                        self._done()
                    else:
                        self._st = 5
            elif st == 7:
                self._keep(data[i:])
                i = n
            else:
                j = data.find(b"\n", i)
                end = n if j < 0 else j
                if len(self._line) <= _LINE_CAP:
                    self._line += data[i:end].replace(b"\r", b"")[:_LINE_CAP + 1 - len(self._line)]
                i = end
                if j >= 0:
                    i += 1
                    cut = len(self._line) > _LINE_CAP
                    line = self._line[:_LINE_CAP]
                    self._line = b""
                    self._on_line(line, cut)
        return i

    def _on_line(self, line, cut):
        st = self._st
        if st == 0:
            if not line:
                return  # blank lines before the status line
            if (len(line) < 12 or line[:7] != b"HTTP/1." or not line[7:8].isdigit() or line[8:9] != b" "
                    or line[12:13] not in (b"", b" ") or not line[9:12].isdigit() or line[9:12] < b"100"):
                self._fail()
            self.status = int(line[9:12])
            self._http10 = line[7:8] == b"0"
            self._st = 1
        elif st == 1:
            if line:
                return self._header(line.lower(), cut)
            if self.status < 200:
                self.reset()  # an interim response (100 Continue): the real one follows
                return
            self.keep_alive = not self._close and (not self._http10 or self._ka)
            if self.status in (204, 304):
                self._done()
            elif self._chunked:
                self._st = 3
            elif self._len is not None and not self._te:
                self._left = self._len
                self._st = 2
                if not self._len:
                    self._done()
            else:
                self.keep_alive = False
                self._st = 7
        elif st == 3:
            k = 0
            while line[k:k + 1] and line[k:k + 1] in b"0123456789abcdefABCDEF":
                k += 1
            # Hex digits, then the end of the line or an extension; in a cut
            # line the digits must end before the cut.
            if not k or (line[k:k + 1] not in b"; \t" if k < len(line) else cut):
                self._fail()
            self._left = int(line[:k], 16)
            if self._left >> 32:
                self._fail()
            self._st = 4 if self._left else 6
        elif st == 5:
            if line:
                self._fail()
            self._st = 3
        elif st == 6:
            if not line:
                self._done()

    def _header(self, line, cut):
        # No str.partition: the WiPy's firmware (core features) lacks it.
        i = line.find(b":")
        name, sep, value = (line, b"", b"") if i < 0 else (line[:i], b":", line[i + 1:])
        if not sep:
            if not cut:  # a cut line may have its colon in the part dropped
                self._fail()
            return
        if not _is_token(name):
            self._fail()
        if name not in (b"content-length", b"transfer-encoding", b"connection", b"retry-after"):
            return
        if cut:
            self._fail("HTTP response header line too long")
        value = value.strip()
        if name == b"content-length":
            if not value.isdigit() or int(value) >> 32 or (self._len is not None and self._len != int(value)):
                self._fail()
            self._len = int(value)
        elif name == b"transfer-encoding":
            # chunked only when it is the last coding
            self._te = True
            self._chunked = value.split(b",")[-1].strip() == b"chunked"
        elif name == b"connection":
            tokens = [t.strip() for t in value.split(b",")]
            self._close = self._close or b"close" in tokens
            self._ka = self._ka or b"keep-alive" in tokens
        else:
            self.retry_after = min(int(value), 0x7FFFFFFF) if value.isdigit() else None

    def eof(self):
        if self.complete:
            return
        if self._st == 7:
            self._done()
            return
        self._st = 9
        raise OSError(_BAD_RESPONSE)
