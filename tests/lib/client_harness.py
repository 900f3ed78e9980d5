"""The scripted world of the client tests (tests/micropython/client_*.py):
a recorded clock, deterministic jitter, and sockets that play scripted
replies and record what the client wrote. Imported by the tests from
tests/lib (unix: MICROPYPATH; the qemu twin: /flash/lib); a test changes its
switches through the module (H.SHOW_CONNECT = True, ...)."""
import azure
import azure.client as C

# ---- the scripted world (the same harness in every client_*.py: each test
# file must run alone, also piped to a board's REPL) ------------------------
# The clock: milliseconds since T0; only sleep_ms and the server's scripted
# think time move it. Sockets: each connect takes the next SCRIPT entry, an
# errno (connect fails) or a list of replies, one per request written.
T0 = 1700000000
KEY = "SeCrEtKeY+0123456789abcdefXYZ="
NS = "ns.servicebus.windows.net"
EH = "Endpoint=sb://%s/;SharedAccessKeyName=send;SharedAccessKey=%s;EntityPath=hub" % (NS, KEY)
SB = "Endpoint=sb://%s/;SharedAccessKeyName=send;SharedAccessKey=%s;EntityPath=q" % (NS, KEY)
DEV_KEY = "ZGV2aWNlLWtleS0wMTIzNDU2Nzg5YWJjZGVm"  # b"device-key-0123456789abcdef"
IOT = "HostName=hub.azure-devices.net;DeviceId=dev1;SharedAccessKey=" + DEV_KEY
now_ms = 0
RAND = 0x3FFFFFFF  # what the jitter source returns
SCRIPT = []
opened = []
socks = 0
tokens = {}
SHOW_CONNECT = False
SHOW_RAW = False
QUIET = False  # no per-event lines (loops over many scripted runs)
CUTS = ()  # offsets in each reply that no read crosses (how the bytes are split)
closes = 0
stalls = 0
last_body = [b""]


def _unix_time():
    return T0 + now_ms // 1000


def _ticks_ms():
    return now_ms


def _ticks_diff(a, b):
    return a - b


def _sleep_ms(ms):
    global now_ms
    if not QUIET:
        print("  sleep", ms)
    now_ms += ms


def _rand32():
    return RAND


class R:
    """One scripted reply: the bytes the server sends, then what a read
    past them gets ("stall": OSError 110, "eof": b""); secs the server
    takes; write_err: the request's write fails with that errno; tick: the
    milliseconds each read takes."""

    def __init__(self, data=b"", after="stall", secs=0, write_err=0, tick=0):
        self.tick = tick  # ms each read takes (a trickling server)
        self.data = data
        self.after = after
        self.secs = secs
        self.write_err = write_err


def ok(status=201, extra=b""):
    return R(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n%s\r\n" % (status, extra))


def err(status, text=b"", extra=b"", after="stall"):
    return R(b"HTTP/1.1 %d E\r\n%sContent-Length: %d\r\n\r\n%s" % (status, extra, len(text), text), after)


def show_request(n, req):
    i = req.find(b"\r\n\r\n")
    head, body = req[:i], req[i + 4:]
    last_body[0] = body
    if QUIET:
        return
    if SHOW_RAW:
        print("  #%d raw" % n, head + b"\r\n\r\n", body)
        return
    lines = head.split(b"\r\n")
    h = {}
    for line in lines[1:]:
        k, v = line.split(b": ", 1)
        h[str(k, "ascii").lower()] = str(v, "ascii")
    tok = h.get("authorization", "")
    if tok not in tokens:
        tokens[tok] = "T%d" % (len(tokens) + 1)
    se = int(tok[tok.find("&se=") + 4:].split("&")[0])
    cl = int(h["content-length"])
    print("  #%d %s %s se=+%d %s%s" % (n, str(lines[0].split(b" ")[1].split(b"?")[0], "ascii"), tokens[tok],
                                     se - T0, h["connection"], "" if cl == len(body) else " BAD LENGTH"))


class Sock:
    def __init__(self, n, replies):
        self.n = n
        self.replies = replies
        self.out = b""
        self.inbuf = b""
        self.after = "eof"
        self.reply = None
        self.tick = 0
        self.pos = 0
        self.closed = False

    def settimeout(self, t):
        pass

    def write(self, b):
        if self.closed:
            raise OSError(9)
        if self.reply is None:  # a new request
            # A connection whose script is done was closed by the server.
            self.reply = self.replies.pop(0) if self.replies else R(b"", "eof", write_err=32)
            if self.reply.write_err:
                if not QUIET:
                    print("  #%d write: errno %d" % (self.n, self.reply.write_err))
                self.reply = None
                raise OSError(32)
        self.out += bytes(b)
        return len(b)

    def _deliver(self):
        global now_ms
        if self.closed:
            raise OSError(9)
        if self.reply is not None:
            show_request(self.n, self.out)
            self.out = b""
            self.inbuf = self.reply.data
            self.pos = 0
            self.after = self.reply.after
            now_ms += self.reply.secs * 1000
            self.tick = self.reply.tick
            self.reply = None
        now_ms += self.tick

    def _empty(self):
        global stalls
        if self.after == "eof":
            return 0
        stalls += 1
        if not QUIET:
            print("  #%d read: timed out" % self.n)
        raise OSError(110)

    def _room(self, k):
        # A read ends at the next cut.
        for c in CUTS:
            if self.pos < c < self.pos + k:
                k = c - self.pos
                break
        self.pos += k
        return k

    def readinto(self, buf, n=-1):
        self._deliver()
        if n < 0:
            n = len(buf)
        if not self.inbuf:
            return self._empty()
        k = self._room(min(n, len(self.inbuf)))
        for i in range(k):
            buf[i] = self.inbuf[i]
        self.inbuf = self.inbuf[k:]
        return k

    def readline(self, n=-1):
        self._deliver()
        if not self.inbuf:
            self._empty()
            return b""
        i = self.inbuf.find(b"\n")
        k = len(self.inbuf) if i < 0 else i + 1
        if 0 <= n < k:
            k = n
        k = self._room(k)
        line = self.inbuf[:k]
        self.inbuf = self.inbuf[k:]
        return line

    def close(self):
        global closes
        closes += 1
        if not QUIET:
            print("  close #%d" % self.n)
        self.closed = True


def _connect(host, port, server_hostname, ca_certs=None, verify=True, timeout=30):
    global socks
    socks += 1
    if QUIET:
        pass
    elif SHOW_CONNECT:
        print("  connect #%d %s:%d sni=%s ca=%s verify=%s timeout=%s"
              % (socks, host, port, server_hostname, ca_certs, verify, timeout))
    else:
        print("  connect #%d" % socks)
    if not SCRIPT:
        if not QUIET:
            print("  (unscripted connect)")
        raise OSError(111)
    s = SCRIPT.pop(0)
    if isinstance(s, int):
        if not QUIET:
            print("  connect #%d: errno %d" % (socks, s))
        raise OSError(s)
    if isinstance(s, Exception):
        if not QUIET:
            print("  connect #%d: %s" % (socks, type(s).__name__))
        raise s
    s = Sock(socks, s)
    opened.append(s)
    return s


C.transport.connect = _connect
C.unix_time = _unix_time
C.ticks_ms = _ticks_ms
C.ticks_diff = _ticks_diff
C.sleep_ms = _sleep_ms
C._rand32 = _rand32


def client(cls=None, cs=EH, script=(), **kw):
    """A fresh client at T0 with a fresh script."""
    global now_ms, socks
    now_ms = 0
    socks = 0
    tokens.clear()
    opened.clear()
    SCRIPT[:] = list(script)
    cls = cls or azure.EventHubClient
    return cls.from_connection_string(cs, **kw)


def at(secs):
    global now_ms
    now_ms = secs * 1000


def send(c, body="x", **kw):
    _call(c.send, body, **kw)


def batch(c, events):
    _call(c.send_batch, events)


def _call(f, *a, **kw):
    try:
        print("  ->", f(*a, **kw))
    except azure.SendError as e:
        print("  -> SendError", e.status, repr(e.text), isinstance(e, OSError))
    except Exception as e:
        print("  ->", type(e).__name__, e)


def stats(c):
    # "left": scripted connects and replies the client did not use.
    left = sum(1 if isinstance(x, (int, Exception)) else len(x) or 1 for x in SCRIPT)
    left += sum(len(x.replies) for x in opened)
    s = c.stats
    print("  stats sent=%d requests=%d retries=%d connects=%d renewals=%d; left %d"
          % (s["sent"], s["requests"], s["retries"], s["connects"], s["renewals"], left))
