"""The scripted world of the receive and provisioning tests
(tests/micropython/receive_*.py, dps_provision.py): a clock that moves when
the client sleeps, connections that answer scripted replies and record the
requests. Imported from tests/lib (unix: MICROPYPATH; the qemu twins:
/flash/lib)."""
import azure
import azure.client as C

# ---- the scripted world (each test file carries its own copy) -------------
# The clock moves only when the client sleeps; each connection answers the
# requests written to it with the next REPLIES entry (b"": the server closes).
T0 = 1700000000
now = [0]
slept = []
REPLIES = []
REQS = []


def _sleep_ms(ms):
    slept.append(ms)
    now[0] += ms


C.sleep_ms = _sleep_ms
C.ticks_ms = lambda: now[0]
C.ticks_diff = lambda a, b: a - b
C.unix_time = lambda: T0 + now[0] // 1000
C._rand32 = lambda: 0


class Sock:
    def __init__(self):
        self.out = b""
        self.inb = b""

    def settimeout(self, t):
        pass

    def write(self, b):
        self.out += bytes(b)
        i = self.out.find(b"\r\n\r\n")
        if i >= 0:
            n = 0
            for line in self.out[:i].split(b"\r\n"):
                if line[:16] == b"Content-Length: ":
                    n = int(line[16:])
            if len(self.out) >= i + 4 + n:
                REQS.append(self.out[:i + 4 + n])
                self.out = self.out[i + 4 + n:]
                self.inb += REPLIES.pop(0) if REPLIES else b""
        return len(b)

    def readinto(self, buf, n):
        k = min(n, len(self.inb))
        buf[:k] = self.inb[:k]
        self.inb = self.inb[k:]
        return k

    def readline(self, n):
        i = self.inb.find(b"\n")
        k = len(self.inb) if i < 0 else i + 1
        k = min(k, n)
        line = self.inb[:k]
        self.inb = self.inb[k:]
        return line

    def close(self):
        pass


C.transport.connect = lambda *a: Sock()


def line(i=-1):
    # The request line of request i.
    return str(REQS[i].split(b"\r\n")[0], "ascii")


def header(i, name):
    for h in REQS[i].split(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        k, v = h.split(b": ", 1)
        if k.lower() == name:
            return str(v, "ascii")


def body(i=-1):
    return REQS[i].split(b"\r\n\r\n", 1)[1]


def reply(status, body=b"", headers=b""):
    return b"HTTP/1.1 %d X\r\n%sContent-Length: %d\r\n\r\n%s" % (status, headers, len(body), body)


def reset():
    del REPLIES[:]
    del REQS[:]
    del slept[:]


def err(e):
    # An exception as its type, status and text (the key in no message).
    return "%s %s %s" % (type(e).__name__, getattr(e, "status", "-"), e)
# ---------------------------------------------------------------------------
