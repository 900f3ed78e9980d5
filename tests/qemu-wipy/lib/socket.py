# The cc3200 port's `socket` module, played by a script: the WiPy twin under
# qemu has no network, so the tests say what "the server" answers and read
# back what the client sent. Same names and call forms as the WiPy's
# (ports/cc3200/mods/modsocket.c): socket(AF_INET, SOCK_STREAM, IPPROTO_SEC),
# getaddrinfo, settimeout, connect, write, readinto, readline, close.
#
#   import socket
#   socket.answer(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")  # per request, in order
#   socket.answer(socket.CLOSE)   # the server closes instead of answering
#   socket.refuse(1)              # the next connect fails with OSError
#   ... run the client ...
#   socket.requests               # every request written, as bytes
#   socket.opened, socket.closed  # connection counts
#
# A request is complete when its head and Content-Length body bytes are in.

AF_INET = 2
SOCK_STREAM = 1
IPPROTO_TCP = 6
IPPROTO_SEC = 0x102  # the cc3200's TLS socket
CLOSE = None

_answers = []
_refusals = [0]
requests = []
opened = 0
closed = 0


def answer(*responses):
    _answers.extend(responses)


def refuse(n):
    _refusals[0] += n


def reset():
    global opened, closed
    del _answers[:]
    del requests[:]
    _refusals[0] = 0
    opened = closed = 0


def getaddrinfo(host, port, *a):
    if not isinstance(host, str) or not 0 < port < 65536:
        raise OSError(-2)
    return [(AF_INET, SOCK_STREAM, IPPROTO_TCP, "", (host, port))]


def _content_length(head):
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            return int(line[15:])
    return 0


class socket:
    def __init__(self, family=AF_INET, type=SOCK_STREAM, proto=IPPROTO_TCP):
        self.proto = proto
        self.connected = False
        self._out = b""
        self._in = b""
        self._eof = False
        self.timeout = None

    def settimeout(self, t):
        self.timeout = t

    def connect(self, addr):
        global opened
        if _refusals[0]:
            _refusals[0] -= 1
            raise OSError(111)  # ECONNREFUSED
        opened += 1
        self.connected = True

    def _check(self):
        if not self.connected:
            raise OSError(9)  # EBADF

    def write(self, b):
        self._check()
        if self._eof:
            raise OSError(104)  # ECONNRESET: the server had closed
        self._out += bytes(b)
        end = self._out.find(b"\r\n\r\n")
        if end >= 0:
            n = end + 4 + _content_length(self._out[:end])
            if len(self._out) >= n:
                # (No copies when the request is all there is: the stand-in's
                # records share the twin's heap with the package.)
                if len(self._out) == n:
                    requests.append(self._out)
                    self._out = b""
                else:
                    requests.append(self._out[:n])
                    self._out = self._out[n:]
                r = _answers.pop(0) if _answers else CLOSE
                if r is CLOSE:
                    self._eof = True
                else:
                    self._in += r
        return len(b)

    send = write

    def readinto(self, buf, n=None):
        self._check()
        n = len(buf) if n is None else min(n, len(buf))
        k = min(n, len(self._in))
        buf[:k] = self._in[:k]
        self._in = self._in[k:]
        return k

    def readline(self, n=-1):
        self._check()
        i = self._in.find(b"\n")
        end = len(self._in) if i < 0 else i + 1
        if 0 <= n < end:
            end = n
        line, self._in = self._in[:end], self._in[end:]
        return line

    def close(self):
        global closed
        if self.connected:
            closed += 1
        self.connected = False
