"""A scripted IoT Hub MQTT broker for the MQTT client tests
(tests/micropython/mqtt_*.py), with a clock that moves only when the client
sleeps or waits on a socket timeout. Its packet bytes are written and read
here, by hand, independently of the native codec the client uses, so the
two check each other. Imported from tests/lib (unix: MICROPYPATH; the qemu
twins: /flash/lib).

    import mqtt_broker as B
    c = B.client(keepalive=60)        # a fresh client, broker and clock
    B.BROKER.connack = [5]            # CONNACK codes for the next connects
    B.BROKER.push(B.publish(topic, payload, qos, pid))   # to the device
    c.connect(); c.send("x")          # every packet is printed, both ways
"""
import azure
import azure.client as C

T0 = 1700000000
DEV_KEY = "ZGV2aWNlLWtleS0wMTIzNDU2Nzg5YWJjZGVm"
IOT = "HostName=hub.azure-devices.net;DeviceId=dev1;SharedAccessKey=" + DEV_KEY
now_ms = 0
QUIET = False
STALL = False  # asyncio streams (AStream) take no bytes: a drain waits
RAND = 0x3FFFFFFF
slept = [0]


def _unix_time():
    return T0 + now_ms // 1000


def _ticks_ms():
    return now_ms


def _ticks_diff(a, b):
    return a - b


def _sleep_ms(ms):
    global now_ms
    if not isinstance(ms, int) or ms < 0:
        print("  BAD sleep", ms)
    slept[0] += ms
    now_ms += ms


def _rand32():
    return RAND


def say(*a):
    if not QUIET:
        print(*a)


SESSION = True  # print connects, CONNECT/CONNACK/SUBSCRIBE/PING/DISCONNECT, closes


def ssay(*a):
    if SESSION:
        say(*a)


# ---- packets, by hand -------------------------------------------------------

def rl(n):
    out = bytearray()
    while True:
        d = n % 128
        n //= 128
        out.append(d | (128 if n else 0))
        if not n:
            return bytes(out)


def s16(x):
    b = x.encode() if isinstance(x, str) else bytes(x)
    return bytes((len(b) >> 8, len(b) & 255)) + b


def pkt(b0, body=b""):
    return bytes((b0,)) + rl(len(body)) + body


def publish(topic, payload=b"", qos=0, pid=0, dup=False):
    if isinstance(payload, str):
        payload = payload.encode()
    return pkt(0x30 | qos << 1 | (8 if dup else 0), s16(topic) + (bytes((pid >> 8, pid & 255)) if qos else b"") + payload)


def puback(pid):
    return pkt(0x40, bytes((pid >> 8, pid & 255)))


def _u16(b, i):
    return b[i] << 8 | b[i + 1]


def _str(b, i):
    n = _u16(b, i)
    return str(bytes(b[i + 2:i + 2 + n]), "utf-8"), i + 2 + n


def _short(b, n=40):
    b = bytes(b)
    return repr(b[:n]) + ("..%d" % len(b) if len(b) > n else "")


# ---- the broker ----------------------------------------------------------------

class Broker:
    def __init__(self):
        self.connack = []  # codes for the next CONNECTs (then 0)
        self.refuse = []  # errnos for the next connects (then accepted)
        self.twin = {"desired": {"interval": 30, "$version": 4}, "reported": {"fw": "1.0", "$version": 5}}
        self.twin_status = []  # statuses for the next twin requests (then 200/204)
        self.twin_raw = None  # a GET answer body sent as is
        self.twin_silent = False  # twin requests get no answer
        self.drop_on_publish = 0  # the connection dies on the n-th telemetry PUBLISH (no PUBACK)
        self.puback_delay = 0  # ms before each PUBACK
        self.no_puback = False
        self.pingresp = True
        self.granted = None  # SUBACK codes (default: what was asked)
        self.telemetry = []  # (topic, body, dup) in arrival order
        self.methods = []  # (status, rid, body) answers
        self.tokens = {}
        self.conns = []
        self.n_pub = 0
        self.n_methods = 0
        self.max_inflight = 0  # most PUBACKs owed at once

    def push(self, b, conn=None):
        (conn or self.conns[-1]).inbox += b


BROKER = Broker()


class Conn:
    def __init__(self, n):
        self.n = n
        self.inbox = b""
        self.later = []  # (at_ms, bytes)
        self.data = b""
        self.dead = False
        self.closed = False
        self.timeout = None
        self.reads = 0

    def setblocking(self, f):
        self.timeout = None if f else 0

    def settimeout(self, t):
        if t is not None and not isinstance(t, int):
            print("  BAD timeout", t)  # the WiPy has no float timeouts
        self.timeout = t

    def write(self, b):
        if self.closed:
            raise OSError(9)
        if self.dead:
            raise OSError(32)
        self.data += bytes(b)
        while True:
            p = self._next()
            if p is None:
                break
            self._handle(p)
        return len(b)

    def _next(self):
        d = self.data
        if len(d) < 2:
            return None
        v, m, i = 0, 1, 1
        while True:
            if i >= len(d):
                return None
            c = d[i]
            v += (c & 127) * m
            m *= 128
            i += 1
            if c < 128:
                break
        if len(d) < i + v:
            return None
        p = d[:i + v]
        self.data = d[i + v:]
        return p, d[0], i

    def _deliver(self):
        global now_ms
        keep = []
        for at, b in self.later:
            if at <= now_ms:
                self.inbox += b
            else:
                keep.append((at, b))
        self.later = keep

    def readinto(self, buf, n=-1):
        global now_ms
        if self.closed:
            raise OSError(9)
        self.reads += 1
        self._deliver()
        if not self.inbox:
            if self.dead:
                return 0
            if self.timeout:
                # A blocking read waits out its timeout, or until a delayed answer is due.
                now_ms = min([now_ms + self.timeout * 1000] + [at for at, _ in self.later])
                self._deliver()
                if not self.inbox:
                    raise OSError(110)
            else:
                return None  # non-blocking: nothing yet
        k = len(buf) if n < 0 else min(n, len(buf))
        k = min(k, len(self.inbox))
        buf[:k] = self.inbox[:k]
        self.inbox = self.inbox[k:]
        return k

    def close(self):
        ssay("  close #%d" % self.n)
        self.closed = True

    def _handle(self, p):
        b = BROKER
        p, b0, i = p
        t = b0 >> 4
        if t == 1:
            _, j = _str(p, i)  # "MQTT"
            level, flags, ka = p[j], p[j + 1], _u16(p, j + 2)
            cid, j = _str(p, j + 4)
            user, j = _str(p, j)
            pw, j = _str(p, j)
            if pw not in b.tokens:
                b.tokens[pw] = "T%d" % (len(b.tokens) + 1)
            se = int(pw[pw.find("&se=") + 4:].split("&")[0])
            ssay("  -> CONNECT level=%d flags=%02x ka=%d id=%s user=%s token=%s se=+%d"
                % (level, flags, ka, cid, user, b.tokens[pw], se - T0))
            code = b.connack.pop(0) if b.connack else 0
            ssay("  <- CONNACK %d" % code)
            self.inbox += pkt(0x20, bytes((0, code)))
            if code:
                self.dead = True
        elif t == 8:
            pid = _u16(p, i)
            j = i + 2
            fs = []
            while j < len(p):
                f, j = _str(p, j)
                fs.append("%s q%d" % (f, p[j]))
                j += 1
            ssay("  -> SUBSCRIBE %d %s" % (pid, ", ".join(fs)))
            codes = b.granted or bytes(int(f[-1]) for f in fs)
            self.inbox += pkt(0x90, bytes((pid >> 8, pid & 255)) + bytes(codes))
        elif t == 3:
            qos, dup = (b0 >> 1) & 3, b0 >> 3 & 1
            topic, j = _str(p, i)
            pid = 0
            if qos:
                pid = _u16(p, j)
                j += 2
            body = bytes(p[j:])
            self._publish(topic, body, qos, pid, dup)
        elif t == 4:
            say("  -> PUBACK %d" % _u16(p, i))
        elif t == 12:
            ssay("  -> PINGREQ")
            if b.pingresp:
                self.inbox += pkt(0xD0)
        elif t == 14:
            ssay("  -> DISCONNECT")
            self.dead = True
        else:
            say("  -> type %d %s" % (t, _short(p)))

    def _publish(self, topic, body, qos, pid, dup):
        b = BROKER
        if topic.startswith("$iothub/twin/"):
            rid = topic[topic.find("$rid=") + 5:]
            get = topic.startswith("$iothub/twin/GET/")
            say("  -> twin %s rid=%s %s" % ("GET" if get else "PATCH", rid, _short(body, 60)))
            if b.twin_silent:
                return
            st = b.twin_status.pop(0) if b.twin_status else (200 if get else 204)
            if st >= 300:
                self.inbox += publish("$iothub/twin/res/%d/?$rid=%s" % (st, rid), b'{"message":"busy"}')
            elif get:
                if b.twin_raw is not None:
                    doc = b.twin_raw
                else:
                    import json

                    doc = json.dumps(b.twin)
                self.inbox += publish("$iothub/twin/res/200/?$rid=%s" % rid, doc)
            else:
                v = b.twin["reported"]["$version"] + 1
                b.twin["reported"]["$version"] = v
                self.inbox += publish("$iothub/twin/res/204/?$rid=%s&$version=%d" % (rid, v))
            return
        if topic.startswith("$iothub/methods/res/"):
            st = int(topic[20:topic.find("/", 20)])
            rid = topic[topic.find("$rid=") + 5:]
            say("  -> method answer %d rid=%s %s" % (st, rid, _short(body, 60)))
            b.n_methods += 1
            if not QUIET:
                b.methods.append((st, rid, body))
            return
        b.n_pub += 1
        b.telemetry.append((topic, body, dup))
        say("  -> PUBLISH q%d%s id=%d %s %s" % (qos, " DUP" if dup else "", pid, topic, _short(body)))
        if b.drop_on_publish and b.n_pub == b.drop_on_publish:
            say("  (broker drops the connection)")
            self.dead = True
            return
        if qos and not b.no_puback:
            b.max_inflight = max(b.max_inflight, len(self.later) + 1)
            if b.puback_delay:
                self.later.append((now_ms + b.puback_delay, puback(pid)))
            else:
                self.inbox += puback(pid)


def _connect(host, port, server_hostname, ca_certs=None, verify=True, timeout=30):
    b = BROKER
    n = len(b.conns) + 1
    if b.refuse:
        e = b.refuse.pop(0)
        ssay("  connect: errno %d" % e)
        raise OSError(e)
    ssay("  connect #%d %s:%d sni=%s verify=%s timeout=%s" % (n, host, port, server_hostname, verify, timeout))
    c = Conn(n)
    b.conns.append(c)
    return c


_REAL = (C.ticks_ms, C.ticks_diff, C.sleep_ms)
C.transport.connect = _connect
C.unix_time = _unix_time
C.ticks_ms = _ticks_ms
C.ticks_diff = _ticks_diff
C.sleep_ms = _sleep_ms
C._rand32 = _rand32


def show_error(e):
    # The codec's own texts are shorter on the WiPy's build (flash): printed
    # by what they name, so one .exp holds on every build.
    m = str(e)
    for k in ("remaining length", "property bag", "IoT Hub topic"):
        if m.startswith("mqtt: ") and k in m:
            m = "mqtt: bad " + k
    print("  on_error:", type(e).__name__, m)


def client(cs=IOT, **kw):
    """A fresh client, broker and clock (T0)."""
    global now_ms, BROKER
    now_ms = 0
    slept[0] = 0
    BROKER = Broker()
    c = azure.IoTHubMQTTClient.from_connection_string(cs, **kw)
    c.on_error = show_error
    return c


def at(secs):
    global now_ms
    now_ms = secs * 1000


def call(f, *a, **kw):
    try:
        r = f(*a, **kw)
        say("  ->", r if not isinstance(r, dict) else sorted_repr(r))
        return r
    except Exception as e:
        print("  raised", type(e).__name__, e)


def sorted_repr(d):
    if isinstance(d, dict):
        return "{" + ", ".join("%r: %s" % (k, sorted_repr(d[k])) for k in sorted(d)) + "}"
    return repr(d)


def stats(c):
    s = c.stats
    print("  stats " + " ".join("%s=%d" % (k, s[k]) for k in sorted(s)), "t=%d" % (now_ms // 1000))


# ---- asyncio: the same broker behind asyncio streams, on the real clock ------

class _NowSock:
    def __init__(self, a):
        self.a = a

    def readinto(self, buf):
        return self.a._take(buf)


class AStream:
    """One scripted connection as an asyncio stream (reader and writer)."""

    out_buf = b""  # (asyncio's Stream: what drain() has yet to write)

    def __init__(self, conn):
        self.c = conn
        self.s = _NowSock(self)  # (the stream's socket: reads that do not wait)

    def _take(self, buf):
        c = self.c
        if c.closed:
            raise OSError(9)
        if not c.inbox:
            return 0 if c.dead else None
        k = min(len(buf), len(c.inbox))
        buf[:k] = c.inbox[:k]
        c.inbox = c.inbox[k:]
        return k

    async def readinto(self, buf):
        import asyncio

        c = self.c
        while True:
            c._deliver()
            if c.inbox or c.dead or c.closed:
                break
            await asyncio.sleep_ms(2)
        return self._take(buf)

    def write(self, b):
        if STALL or self.out_buf:  # the network takes nothing: bytes wait in out_buf, as asyncio's Stream keeps them
            self.out_buf += bytes(b)
        else:
            self.c.write(b)

    async def drain(self):
        import asyncio

        while STALL and self.out_buf:
            await asyncio.sleep_ms(5)
        if self.out_buf:
            self.c.write(self.out_buf)
            self.out_buf = b""
        await asyncio.sleep_ms(0)

    def close(self):
        self.c.close()


async def _open_connection(host, port, ssl=None, server_hostname=None):
    s = AStream(_connect(host, port, server_hostname))
    return s, s


def aio_client(cs=IOT, **kw):
    """A fresh asyncio client and broker; the clock is the real one (asyncio
    sleeps on it), so timeouts here are whole real seconds."""
    global BROKER, SESSION
    import asyncio
    import azure.aio_mqtt as A

    SESSION = False  # (other tasks write those: their order against the test's prints varies)
    C.ticks_ms, C.ticks_diff, C.sleep_ms = _REAL
    asyncio.open_connection = _open_connection
    A.context = lambda tls, ca_certs, verify: None  # (no TLS context: the broker stand-in is the stream)
    BROKER = Broker()
    c = A.IoTHubMQTTClient.from_connection_string(cs, **kw)
    c.on_error = show_error
    return c
