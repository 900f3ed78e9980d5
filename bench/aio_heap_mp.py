# The heap a connected IoT Hub MQTT client holds on the armv6m qemu board
# built with asyncio (make qemu-aio: MICROBIT, Cortex-M0 like a Pico W's
# M0+, _azure.mpy and the package's .mpy loaded from its flash into the
# heap), the asyncio client (MODE = "aio", azure.aio.IoTHubMQTTClient) or the
# blocking one (MODE = "blocking", azure.IoTHubMQTTClient), after the same
# steps as bench/wipy_heap_mqtt.py: connect(), get_twin(), ten sends and one
# direct method answered, the client still connected. bench/aio_bench.py
# prepends MODE and runs this once per mode (a fresh interpreter each).
#
# The broker is a stand-in written here, made before the baseline: a stream
# object that answers each packet as it is written (CONNACK, SUBACK, PUBACK,
# the twin document); for asyncio it is polled like a socket (io.IOBase with
# ioctl), so asyncio's own Stream runs over it as over a TLS socket. _azure
# and asyncio are imported before the baseline too (both modes use _azure;
# the application imported asyncio): "HELD" is what the package and the
# client hold; "AZURE_MPY" what `import _azure` took.
import gc
import io
import micropython
import socket
import ssl
import time

try:
    MODE
except NameError:
    MODE = "aio"
try:
    PRELOAD  # True: asyncio's stream and event modules loaded before the baseline (an application that uses them)
except NameError:
    PRELOAD = False

gc.collect()
m0 = gc.mem_alloc()
import _azure

gc.collect()
print("AZURE_MPY", gc.mem_alloc() - m0)
if MODE == "aio":
    import asyncio

    # This script's own timeout around connect() (asyncio.funcs, loaded on
    # first use): before the baseline, as it is not the client's.
    asyncio.wait_for_ms
    if PRELOAD:
        # asyncio's own modules that the client uses, each loaded on first
        # use: its streams (asyncio.open_connection) and Event; what each costs.
        gc.collect()
        m0 = gc.mem_alloc()
        for name in ("StreamReader", "Event"):
            m1 = gc.mem_alloc()
            getattr(asyncio, name)
            gc.collect()
            print("PRELOAD_MODULE", name, gc.mem_alloc() - m1)
        print("PRELOAD", gc.mem_alloc() - m0)


def _s16(b):
    return bytes((len(b) >> 8, len(b) & 255)) + b


def _pkt(b0, body):
    n = len(body)
    rl = bytes((n,)) if n < 128 else bytes((n & 127 | 128, n >> 7))
    return bytes((b0,)) + rl + body


class Conn(io.IOBase):
    """One scripted broker connection: a blocking socket with timeouts for
    the blocking client, a pollable non-blocking stream for asyncio."""

    def __init__(self):
        self.inbox = b""
        self.data = b""
        self.pubs = 0
        self.answers = 0
        self.timed = False

    def settimeout(self, t):
        self.timed = True

    def write(self, b):
        d = self.data + bytes(b)
        while len(d) >= 2:
            n, m, i = 0, 1, 1
            while d[i] & 128:
                n += (d[i] & 127) * m
                m *= 128
                i += 1
            n += d[i] * m
            i += 1
            if len(d) < i + n:
                break
            self._handle(d[0], d[i:i + n])
            d = d[i + n:]
        self.data = d
        return len(b)

    def _handle(self, b0, p):
        t = b0 >> 4
        if t == 1:  # CONNECT
            self.inbox += b"\x20\x02\x00\x00"
        elif t == 8:  # SUBSCRIBE: grant what was asked
            j, codes = 2, b""
            while j < len(p):
                j += 2 + (p[j] << 8 | p[j + 1])
                codes += p[j:j + 1]
                j += 1
            self.inbox += _pkt(0x90, p[:2] + codes)
        elif t == 3:  # PUBLISH
            n = p[0] << 8 | p[1]
            topic = bytes(p[2:2 + n])
            if topic.startswith(b"$iothub/twin/GET/"):
                rid = topic[topic.find(b"$rid=") + 5:]
                self.inbox += _pkt(0x30, _s16(b"$iothub/twin/res/200/?$rid=" + rid)
                                   + b'{"desired":{"interval":30,"$version":4},"reported":{"fw":"1.0","$version":5}}')
            elif topic.startswith(b"$iothub/methods/res/"):
                self.answers += 1
            elif (b0 >> 1) & 3:  # telemetry at QoS 1
                self.pubs += 1
                self.inbox += b"\x40\x02" + p[2 + n:4 + n]
        elif t == 12:  # PINGREQ
            self.inbox += b"\xd0\x00"

    def readinto(self, buf, n=-1):
        if not self.inbox:
            if self.timed:
                raise OSError(110)  # the timeout ran out: nothing came
            return None  # non-blocking: nothing yet
        k = min(len(buf), len(self.inbox))
        buf[:k] = self.inbox[:k]
        self.inbox = self.inbox[k:]
        return k

    def ioctl(self, req, arg):
        if req == 3:  # MP_STREAM_POLL: always writable, readable once something is there
            return (arg & 4) | (arg & 1 if self.inbox else 0)
        return 0

    def close(self):
        pass


def no_context(*a):
    return None


def on_method(name, payload):
    return 200, {"ok": 1}


def connect(host, port, server_hostname, ca_certs=None, verify=True, timeout=30):
    return Conn()


async def open_connection(host, port, ssl=None, server_hostname=None):
    s = asyncio.StreamReader(Conn())  # (asyncio.stream.Stream: reader and writer)
    return s, s


METHOD = _pkt(0x30, _s16(b"$iothub/methods/POST/reboot/?$rid=1") + b'{"delay":5}')
CS = "HostName=myhub.azure-devices.net;DeviceId=pico-01;SharedAccessKey=c2VjcmV0LWtleS1mb3ItdGhlLWhlYXAtYmVuY2gtMDEyMzQ="
BODY = '{"seq":%d,"temp_c":21,"rh":40}'
base = 0


def step(what):
    gc.collect()
    print("STEP", what, gc.mem_alloc() - base)


def done(c, conn, twin, n):
    print("STATUS", MODE, c.connected, conn.pubs, conn.answers, n, sorted(twin), c.stats["sent"])


def blocking():
    global base
    micropython.qstr_info()
    gc.collect()
    base = gc.mem_alloc()
    import azure
    import azure.client

    azure.client.transport.connect = connect
    step("import")
    c = azure.IoTHubMQTTClient.from_connection_string(CS, ca_certs="/flash/cert/ca.pem")
    # On a board with `tls` (a Pico W) the blocking client's transport.connect
    # loads azure/_mbedtls.py, as the async client does; this board has no tls
    # and the connection is the stand-in, so it is loaded here, for the same bill.
    import azure._mbedtls
    c.on_method = on_method
    step("client")
    c.connect()
    step("connect")
    twin = c.get_twin()
    step("twin")
    for i in range(10):
        c.send(BODY % i)
    step("send")
    conn = c._sock
    conn.inbox += METHOD
    n = c.poll()
    done(c, conn, twin, n)
    del twin, conn
    gc.collect()
    print("HELD", gc.mem_alloc() - base)
    micropython.qstr_info()
    return c


async def aio():
    global base
    micropython.qstr_info()
    gc.collect()
    base = gc.mem_alloc()
    import azure
    import azure.aio

    asyncio.open_connection = open_connection  # the stand-in broker instead of a TLS stream
    step("import")
    c = azure.aio.IoTHubMQTTClient.from_connection_string(CS, ca_certs="/flash/cert/ca.pem")
    c.on_method = on_method
    import azure.aio_mqtt

    # No TLS context: the stand-in is the stream. (The driver's helper is
    # `context(tls, ca_certs, verify)` from azure/_mbedtls.py, or its own
    # `_context(ca_certs, verify)` in older trees: whichever it has.)
    for name in ("context", "_context"):
        if hasattr(azure.aio_mqtt, name):
            setattr(azure.aio_mqtt, name, no_context)
    step("client")
    try:  # (bounded: a failure is named, not waited out by the board's runner)
        await asyncio.wait_for_ms(c.connect(), 5000)
    except Exception as e:
        print("CONNECT FAILED", repr(e), repr(getattr(c._core, "last_error", None)))
        raise
    step("connect")
    twin = await c.get_twin()
    step("twin")
    for i in range(10):
        await c.send(BODY % i)
    step("send")
    conn = c._w.s
    conn.inbox += METHOD
    for _ in range(100):
        await asyncio.sleep_ms(10)
        if conn.answers:
            break
    await asyncio.sleep_ms(100)  # quiet: the tasks the answer started have ended (the blocking run is quiet too)
    done(c, conn, twin, conn.answers)
    del twin, conn
    gc.collect()
    print("HELD", gc.mem_alloc() - base)
    micropython.qstr_info()
    return c


if MODE == "aio":
    asyncio.run(aio())
else:
    blocking()
