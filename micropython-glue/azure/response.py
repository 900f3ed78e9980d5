"""The incremental HTTP/1.1 response reader, fed whatever bytes the socket
delivers (any split, one byte at a time included: a partial response is a
normal state). The one implementation, for every board (docs/protocol.md,
"Responses"): it lives in Python because the WiPy's image has no room for
it next to the native signer and framer, and it costs the heap about what
its native twin would cost the image.

It reads the status line (HTTP/1.1 or 1.0), skips 1xx interim responses,
reads the headers it needs case-insensitively (Content-Length,
Transfer-Encoding, Connection, Retry-After, plus those the caller asks to
keep) and consumes the body: none for 204 and 304; Content-Length; chunked
(extensions and trailers skipped); or, with neither, everything until the
connection closes (`eof`). The first `body_cap` body bytes are kept.

Lines end in LF or CRLF. A line longer than
LINE_CAP is cut: fine for the status line, chunk sizes and headers nobody
needs, and "header line too long" for a header that is needed. Anything
that is not HTTP raises OSError; after an error every call fails until
`reset`.
"""

from micropython import const

LINE_CAP = const(1024)  # BrokerProperties of a Service Bus message is a few hundred bytes
EXCERPT = const(128)  # body bytes kept by default (the service's error text)
MAX_KEPT = const(48)  # headers kept per response: a server sending thousands cannot fill the heap
_BAD = const("malformed or truncated HTTP response")
_TCHAR = const(b"!#$%&'*+-.^_`|~")
_HEX = const(b"0123456789abcdefABCDEF")

# States. const(): compiled in, so no names or globals held in the heap.
_STATUS = const(0)
_HEADERS = const(1)
_BODY = const(2)
_SIZE = const(3)
_DATA = const(4)
_DATA_END = const(5)
_TRAILERS = const(6)
_UNTIL_CLOSE = const(7)
_DONE = const(8)
_FAILED = const(9)


def _is_token(b):
    for c in b:
        if not (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c in _TCHAR):
            return False
    return len(b) > 0


def _has_token(value, t):
    # t is one of the comma-separated tokens of value
    for v in value.split(b","):
        if v.strip() == t:
            return True
    return False


class Response:
    """`keep`: lowercase header names (bytes) to keep in `headers`, a dict of
    str (a name ending in "-" keeps every header with that prefix);
    `keep_all_but`: when given, every other header is kept too, but for the
    names listed (Service Bus sends custom properties as headers of any
    name); at most MAX_KEPT are kept. `body_cap`: body bytes kept in `body`
    (a longer body sets `body_cut`)."""

    def __init__(self, keep=(), body_cap=EXCERPT, *, keep_all_but=None):
        self.keep = keep
        self.keep_all_but = keep_all_but
        self.body_cap = body_cap
        # Allocated once: a reader reused for every request leaves nothing
        # behind to fragment a small heap (body bytes, header dict).
        self._buf = bytearray(body_cap)
        self.headers = {}
        self.reset()

    def reset(self):
        self.status = 0
        self.complete = False
        self.keep_alive = False
        self.retry_after = None
        self.headers.clear()
        self.body_len = 0
        self.body_cut = False
        self._left = 0  # body bytes still to read (Content-Length or chunk)
        self._st = _STATUS
        self._line = b""  # up to LINE_CAP + 1 bytes: one more marks a cut line
        self._len = None
        self._te = self._chunked = self._close = self._ka = self._http10 = False

    @property
    def body(self):
        """The body bytes kept (a view: copy it to keep it past the next response)."""
        return memoryview(self._buf)[:self.body_len]

    @property
    def error_text(self):
        return bytes(self._buf[:min(self.body_len, EXCERPT)])

    @property
    def want(self):
        """What to read next: 0 a line, n exactly n body bytes, 2**32-1 until
        the connection closes."""
        st = self._st
        return self._left if st == _BODY or st == _DATA else 0xFFFFFFFF if st == _UNTIL_CLOSE else 0

    def _fail(self, msg=_BAD):
        self._st = _FAILED
        raise OSError(msg)

    def _keep(self, b):
        k = min(len(b), self.body_cap - self.body_len)
        if k < len(b):
            self.body_cut = True
        if k > 0:
            self._buf[self.body_len:self.body_len + k] = b[:k]
            self.body_len += k

    def _done(self):
        self.complete = True
        self._st = _DONE

    def feed(self, data):
        """Consumes bytes; returns how many (fewer only once complete: the
        rest belongs to whatever follows the response)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("data must be bytes")
        if self._st == _FAILED:
            raise OSError(_BAD)
        i, n = 0, len(data)
        while i < n and not self.complete:
            st = self._st
            if st == _BODY or st == _DATA:
                k = min(n - i, self._left)
                self._keep(data[i:i + k])
                i += k
                self._left -= k
                if not self._left:
                    if st == _BODY:
                        self._done()
                    else:
                        self._st = _DATA_END
            elif st == _UNTIL_CLOSE:
                self._keep(data[i:])
                i = n
            else:
                if type(data) is memoryview:  # (no find() on it)
                    data = bytes(data)
                j = data.find(b"\n", i)
                end = n if j < 0 else j
                if j >= 0 and end > i and data[end - 1] == 13:
                    end -= 1  # the CR of CRLF
                room = LINE_CAP + 1 - len(self._line)
                if room > 0:
                    # The common case (a whole line per read) is one slice.
                    piece = data[i:min(end, i + room)]
                    self._line = piece if not self._line else self._line + piece
                if j < 0:
                    i = n
                else:
                    i = j + 1
                    line = self._line
                    self._line = b""
                    if line and line[-1] == 13:  # a CR that came in the previous read
                        line = line[:-1]
                    cut = len(line) > LINE_CAP
                    self._on_line(line[:LINE_CAP] if cut else line, cut)
        return i

    def _on_line(self, line, cut):
        st = self._st
        if st == _STATUS:
            if not line:
                return  # blank lines before the status line
            if (len(line) < 12 or line[:7] != b"HTTP/1." or not 48 <= line[7] <= 57 or line[8] != 32
                    or (len(line) > 12 and line[12] != 32) or not line[9:12].isdigit() or line[9:12] < b"100"):
                self._fail()
            self.status = int(line[9:12])
            self._http10 = line[7] == 48
            self._st = _HEADERS
        elif st == _HEADERS:
            if line:
                return self._header(line, cut)
            if self.status < 200:
                self.reset()  # an interim response (100 Continue): the real one follows
                return
            self.keep_alive = not self._close and (not self._http10 or self._ka)
            if self.status == 204 or self.status == 304:
                self._done()
            elif self._chunked:
                self._st = _SIZE
            elif self._len is not None and not self._te:
                self._left = self._len
                self._st = _BODY
                if not self._len:
                    self._done()
            else:
                self.keep_alive = False
                self._st = _UNTIL_CLOSE
        elif st == _SIZE:
            k = 0
            while k < len(line) and line[k] in _HEX:
                k += 1
            # Hex digits, then the end of the line or an extension; in a cut
            # line the digits must end before the cut.
            if not k or (line[k] not in b"; \t" if k < len(line) else cut):
                self._fail()
            self._left = int(line[:k], 16)
            if self._left >> 32:
                self._fail()
            self._st = _DATA if self._left else _TRAILERS
        elif st == _DATA_END:
            if line:  # chunk data must end with CRLF
                self._fail()
            self._st = _SIZE
        elif st == _TRAILERS:
            if not line:
                self._done()

    def _header(self, line, cut):
        i = line.find(b":")
        if i < 0:
            if not cut:  # a cut line may have its colon in the part dropped
                self._fail()
            return
        name = line[:i].lower()
        if not _is_token(name):  # also refuses obs-fold and space before the colon
            self._fail()
        if name in (b"content-length", b"transfer-encoding", b"connection", b"retry-after"):
            if cut:
                self._fail("HTTP response header line too long")
            value = line[i + 1:].strip().lower()
            if name == b"content-length":
                if not value.isdigit() or int(value) >> 32 or (self._len is not None and self._len != int(value)):
                    self._fail()
                self._len = int(value)
            elif name == b"transfer-encoding":
                # chunked only when it is the last coding
                self._te = True
                self._chunked = value.split(b",")[-1].strip() == b"chunked"
            elif name == b"connection":
                self._close = self._close or _has_token(value, b"close")
                self._ka = self._ka or _has_token(value, b"keep-alive")
            else:  # seconds (saturating); an HTTP-date is "unknown"
                self.retry_after = min(int(value), 0x7FFFFFFF) if value.isdigit() else None
            return
        for k in self.keep:
            if name == k or (k[-1:] == b"-" and name.startswith(k)):
                break
        else:
            if self.keep_all_but is None or name in self.keep_all_but:
                return
        if cut:
            self._fail("HTTP response header line too long")
        try:
            key = str(name, "ascii")
            if key not in self.headers and len(self.headers) >= MAX_KEPT:
                self._fail("more than %d message headers" % MAX_KEPT)
            self.headers[key] = str(line[i + 1:].strip(), "utf-8")
        except (UnicodeError, ValueError):
            self._fail()

    def eof(self):
        """The connection closed: completes a body that runs until close;
        raises OSError if the response was cut short."""
        if self.complete:
            return
        if self._st == _UNTIL_CLOSE:
            self._done()
            return
        self._st = _FAILED
        raise OSError(_BAD)


def classify(status):
    """0 success (2xx), 1 renew the token (401), 2 fatal, 3 retry (408, 429, 5xx)."""
    if 200 <= status <= 299:
        return 0
    if status == 401:
        return 1
    if status == 408 or status == 429 or 500 <= status <= 599:
        return 3
    return 2
