# What the azure package holds in the heap of the WiPy's firmware once an
# IoT Hub device is up over MQTT (issue #19 item 5): `import azure`,
# IoTHubMQTTClient.from_connection_string, connect(), get_twin(), ten sends
# and one direct method answered (through poll()), the client still
# connected. Run on the qemu twin (make qemu-wipy) by bench/wipy_heap_report.py,
# the package's .mpy files loaded from /flash/lib and copied into the heap as
# from the WiPy's FAT (tools/qemu_wipy.py --copy).
#
# The broker is a stand-in written here by hand (not tests/lib/mqtt_broker.py,
# which imports azure at its top and would put the package in the baseline):
# its class and the handler are made before the baseline, and it answers each
# packet as it is written (CONNACK, SUBACK, PUBACK, the twin document). On the
# WiPy the connection is the cc3200's TLS socket, a firmware object; the
# stand-in's instance (made after the baseline) is counted with the package,
# a few dozen bytes more than the board's. Its records are cleared before
# the measure. Prints "HELD <bytes>" after gc.collect() and the names
# (qstrs) interned, as bench/wipy_heap.py does.
import gc
import micropython
import socket
import ssl
import time


def _s16(b):
    return bytes((len(b) >> 8, len(b) & 255)) + b


def _pkt(b0, body):
    n = len(body)
    rl = bytes((n,)) if n < 128 else bytes((n & 127 | 128, n >> 7))
    return bytes((b0,)) + rl + body


class Conn:
    """One scripted broker connection (blocking reads with whole-second
    timeouts, like the cc3200 socket)."""

    def __init__(self):
        self.inbox = b""
        self.data = b""
        self.pubs = 0
        self.answers = 0

    def settimeout(self, t):
        pass

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
            raise OSError(110)  # the timeout ran out: nothing came
        k = min(len(buf), len(self.inbox))
        buf[:k] = self.inbox[:k]
        self.inbox = self.inbox[k:]
        return k

    def close(self):
        pass


def on_method(name, payload):
    return 200, {"ok": 1}


def step(what):
    gc.collect()
    print("STEP", what, gc.mem_alloc() - base)


def connect(host, port, server_hostname, ca_certs=None, verify=True, timeout=30):
    return Conn()


METHOD = _pkt(0x30, _s16(b"$iothub/methods/POST/reboot/?$rid=1") + b'{"delay":5}')
KEY = "SharedAccessKey=c2VjcmV0LWtleS1mb3ItdGhlLWhlYXAtYmVuY2gtMDEyMzQ="

micropython.qstr_info()
gc.collect()
base = gc.mem_alloc()
import azure
import azure.client

azure.client.transport.connect = connect  # the stand-in broker instead of a TLS socket
step("import")
c = azure.IoTHubMQTTClient.from_connection_string("HostName=myhub.azure-devices.net;DeviceId=wipy-01;" + KEY,
                                                  ca_certs="/flash/cert/ca.pem")
c.on_method = on_method
step("client")
c.connect()
step("connect")
twin = c.get_twin()
step("twin")
for i in range(10):
    c.send('{"seq":%d,"temp_c":21,"rh":40}' % i)
step("send")
conn = c._sock
conn.inbox += METHOD
n = c.poll()
print("STATUS mqtt", c.connected, conn.pubs, conn.answers, n, sorted(twin), c.stats["sent"])
import sys

print("MODULES", " ".join(sorted(k for k in sys.modules if k.startswith("azure"))))
del sys
del twin, n
conn = None
gc.collect()
print("HELD", gc.mem_alloc() - base)
micropython.qstr_info()
