# A scripted byte stream for the clients on a board without a network: what
# "the server" sends, chunk by chunk, each after a delay, and what the client
# wrote. For asyncio it is a stream to select.poll (io.IOBase with ioctl), so
# asyncio's Stream runs over it unchanged, as over a socket; the blocking
# client reads it through readinto(buf, n) and readline(n), as a socket.
import io
import time
from micropython import const

_POLL = const(3)
_CLOSE = const(4)
_POLLIN = const(1)
_POLLOUT = const(4)


class ScriptedStream(io.IOBase):
    def __init__(self, chunks=(), delay_ms=0):
        # chunks: bytes, or (delay_ms, bytes) to send that long after the
        # previous one (or after the client's first write, for the first);
        # the end of the script is the end of the stream.
        self.script = [c if isinstance(c, tuple) else (delay_ms, c) for c in chunks]
        self.written = bytearray()
        self.closed = False
        self._at = None  # the clock starts with the first request written
        self._cur = b""

    def _ready(self):
        if self._cur or not self.script:
            return True  # bytes, or the end of the stream
        return self._at is not None and time.ticks_diff(time.ticks_ms(), self._at) >= self.script[0][0]

    def read(self, n=-1):
        if self.closed:
            raise OSError(9)  # EBADF
        if not self._ready():
            return None  # would block
        if not self._cur and self.script:
            self._cur = self.script.pop(0)[1]
            self._at = time.ticks_ms()
        n = len(self._cur) if n is None or n < 0 else n
        out, self._cur = self._cur[:n], self._cur[n:]
        return out

    def readinto(self, buf, n=None):
        b = self.read(len(buf) if n is None else n)
        if b is None:
            return None
        buf[:len(b)] = b
        return len(b)

    def readline(self, limit=-1):
        # (the blocking client's: every scripted chunk is there at once)
        out = b""
        while limit < 0 or len(out) < limit:
            b = self.read(1)
            if not b:
                break
            out += b
            if b == b"\n":
                break
        return out

    def write(self, buf):
        if self.closed:
            raise OSError(32)  # EPIPE
        if self._at is None:
            self._at = time.ticks_ms()
        self.written.extend(buf)
        return len(buf)

    def close(self):
        self.closed = True

    def ioctl(self, req, arg):
        if req == _POLL:
            return (arg & _POLLOUT) | (arg & _POLLIN if self._ready() else 0)
        if req == _CLOSE:
            self.closed = True
        return 0
