# A scripted byte stream for asyncio on a board without a network: what "the
# server" sends, chunk by chunk, each after a delay, and what the client
# wrote. It is a stream to select.poll (io.IOBase with ioctl), so
# asyncio.StreamReader/Writer run over it unchanged, as over a socket.
import io
import time

_POLL = const(3)
_CLOSE = const(4)
_POLLIN = const(1)
_POLLOUT = const(4)


class ScriptedStream(io.IOBase):
    def __init__(self, chunks=(), delay_ms=0):
        # chunks: bytes, or (delay_ms, bytes) to send that long after the
        # previous one; the end of the script is the end of the stream.
        self.script = [c if isinstance(c, tuple) else (delay_ms, c) for c in chunks]
        self.written = bytearray()
        self.closed = False
        self._at = time.ticks_ms()
        self._cur = b""

    def _ready(self):
        if self._cur:
            return True
        if not self.script:
            return True  # EOF is readable
        return time.ticks_diff(time.ticks_ms(), self._at) >= self.script[0][0]

    def read(self, n=-1):
        if not self._ready():
            return None  # would block
        if not self._cur and self.script:
            self._cur = self.script.pop(0)[1]
            self._at = time.ticks_ms()
        n = len(self._cur) if n < 0 else n
        out, self._cur = self._cur[:n], self._cur[n:]
        return out

    def readinto(self, buf):
        b = self.read(len(buf))
        if b is None:
            return None
        buf[:len(b)] = b
        return len(b)

    def readline(self):
        # (not used by asyncio's read(n); a line from what is there)
        b = self.read()
        return b

    def write(self, buf):
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
