"""Hostile input to the azure clients, end to end (MicroPython unix build):

- legal but hostile-looking values (quotes, backslashes, NUL, CR/LF inside
  JSON, non-ASCII, binary bodies, odd publisher names) are sent over TLS to
  the local endpoint and stored exactly, or refused with a clear error;
- wrong keys (401), refused connections, missing CA files, bad connection
  strings: the key, and the decoded IoT Hub key, appear in no message, repr
  or stats;
- a hostile server (endless lines, 1 MB of headers, absurd lengths and chunk
  sizes, garbage, a stall, a 1 MB body) costs a clear OSError and no heap:
  the client runs on a 256 KB heap and the server sends megabytes.

Run: python -m unittest tests/e2e/test_hostile_client.py  (MICROPYTHON=build/unix/micropython)
"""

import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_send_e2e import DEV_KEY, EH_KEY, HUB, MICROPYTHON, NS, Endpoint  # noqa: E402

MICROPYTHON = os.path.abspath(MICROPYTHON)
MP_HOSTILE = os.path.join(HERE, "mp_hostile.py")
BAD_EH_KEY = "WrongKey+recognisable/NotTheRealOne0123456789="
BAD_DEV_RAW = b"WRONG-device-key-recognisable-32"
BAD_DEV_KEY = base64.b64encode(BAD_DEV_RAW).decode()
SECRETS = [EH_KEY, EH_KEY[:16], BAD_EH_KEY, BAD_EH_KEY[:16], DEV_KEY, DEV_KEY[:16], BAD_DEV_KEY, BAD_DEV_KEY[:16],
           base64.b64decode(DEV_KEY).decode(), BAD_DEV_RAW.decode()]
MB = 1 << 20

# What the hostile server answers, by publisher name (after reading the request).
SCENARIOS = {
    "endless_line": [b"HTTP/1.1 200 OK\r\nX-Junk: " + b"a" * MB],
    "endless_status": [b"a" * MB],
    "many_headers": [b"HTTP/1.1 201 Created\r\n" + b"X-Junk: y\r\n" * (MB // 11)],
    "blank_lines": [b"\r\n" * (MB // 2)],
    "huge_length": [b"HTTP/1.1 201 Created\r\nContent-Length: 99999999999\r\n\r\n"],
    "huge_chunk": [b"HTTP/1.1 500 Err\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n" + b"c" * 65536],
    "long_needed_header": [b"HTTP/1.1 201 Created\r\nContent-Length: " + b"0" * 2000 + b"\r\n\r\n"],
    "garbage": [bytes((i * 7919 + 13) % 256 for i in range(100000))],
    "nul_error_text": [b"HTTP/1.1 403 Forbidden\r\nContent-Length: 40\r\n\r\n"
                       + (b"\x00\xff<x>SharedAccessKey=k\r\n\x1b[31m" + b"!" * 40)[:40]],
    "retry_after_huge": [b"HTTP/1.1 503 Busy\r\nRetry-After: 99999999999999999999\r\nContent-Length: 0\r\n\r\n"],
    "close_now": [],
    "stall": [b"HTTP/1.1 201 Created\r\n", 5.0],
    "big_body_200": [b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"b" * MB],
}


class HostileServer:
    """TLS with the endpoint's certificate; one scripted answer per connection."""

    def __init__(self, certs):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(os.path.join(certs, "server.pem"), os.path.join(certs, "server.key"))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.stopped = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, raw):
        try:
            conn = self.ctx.wrap_socket(raw, server_side=True)
            conn.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                got = conn.recv(4096)
                if not got:
                    return
                head += got
            path = head.split(b" ", 2)[1].decode()
            scenario = path.split("/publishers/")[1].split("/")[0] if "/publishers/" in path else "?"
            self.seen.append(scenario)
            for step in SCENARIOS.get(scenario, []):
                if isinstance(step, float):
                    time.sleep(step)
                else:
                    conn.sendall(step)
            # A clean end of stream once everything is sent (closing at once
            # could reset the connection before the client read it all), then
            # wait for the client to hang up.
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(65536):
                pass
        except (OSError, ssl.SSLError, IndexError):
            pass
        finally:
            raw.close()

    def stop(self):
        self.stopped = True
        self.sock.close()


def run_mp(scenario, env, *args, heap=None, timeout=180):
    cmd = [MICROPYTHON] + (["-X", "heapsize=" + heap] if heap else []) + [MP_HOSTILE, scenario] + list(args)
    p = subprocess.run(cmd, env=dict(os.environ, **env), capture_output=True, text=True, timeout=timeout, cwd=HERE)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise AssertionError("no result from %s (rc %d):\n%s\n%s" % (scenario, p.returncode, p.stdout[-3000:],
                                                                  p.stderr[-3000:]))


class HostileClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.ep = Endpoint(cls.tmp.name)
        cls.hostile = HostileServer(cls.ep.certs)
        eh = "Endpoint=sb://%s/;SharedAccessKeyName=DataProducer;SharedAccessKey=%s;EntityPath=telemetry"
        iot = "HostName=%s;DeviceId=dev1;SharedAccessKey=%s"
        cls.env = {
            "H_ENDPOINT": "127.0.0.1:%d" % cls.ep.port,
            "H_HOSTILE": "127.0.0.1:%d" % cls.hostile.port,
            "H_CA": os.path.join(cls.ep.certs, "ca.der"),
            "H_EH_CS": eh % (NS, EH_KEY),
            "H_EH_BAD": eh % (NS, BAD_EH_KEY),
            "H_IOT_CS": iot % (HUB, DEV_KEY),
            "H_IOT_BAD": iot % (HUB, BAD_DEV_KEY),
            "H_SECRETS": ",".join(SECRETS),
        }

    @classmethod
    def tearDownClass(cls):
        cls.hostile.stop()
        cls.ep.stop()
        cls.tmp.cleanup()

    def one(self, body):
        rows = self.ep.rows("body = ?", (body,))
        self.assertEqual(len(rows), 1, body)
        return rows[0]

    def test_weird_values_are_stored_exactly(self):
        r = run_mp("weird", self.env)
        self.assertEqual(r["leaks"], [])
        for k in ("single", "empty", "binary", "batch"):
            self.assertEqual(r[k][:2], ["ok", 201], k)
        self.assertEqual(r["iot"][:2], ["ok", 204])
        self.assertEqual(r["iot_batch"][:2], ["ok", 204])
        row = self.one('w-single "q" \\ \x00 \u00e9 \U0001f600\r\n'.encode())
        self.assertEqual(json.loads(row["properties"]),
                         {"Quote": 'a"b\\c', "Tab": "x\ty", "n": "7", "f": "1.5", "b": "True"})
        self.assertEqual(row["partition_key"], 'pk "1" \\ \t')
        self.one(bytes(range(256)))
        row = self.one('w-b1 \x00\r\n"\\'.encode())
        self.assertEqual(json.loads(row["properties"]),
                         {"CRLF": "a\r\nb", "Quote": '"', "Uni": "\u00e9\u20ac", "Nul": "\x00"})
        self.assertEqual(row["partition_key"], 'k\r\n"\x00')
        self.assertEqual(json.loads(self.one(b"w-b2")["properties"]), {"n": "1"})
        self.one(b"w-b3")
        self.one(b"w-b4")
        self.assertEqual(json.loads(self.one(b"\xff\x00w-iot")["properties"]), {"k": 'v "x"', "n": "0"})
        self.one(b"\xffw-iot-b1")
        self.assertEqual(json.loads(self.one("w-iot-b2 \u00e9".encode())["properties"]), {"CRLF": "a\r\nb"})
        # Publisher names are percent-encoded into the path and the token's
        # audience: stored as given, or a clear SendError; never anything else.
        for name, pub in (("pub_space", "dev 1"), ("pub_unicode", "d\u00e9v"), ("pub_slash", "a/b"),
                          ("pub_crlf", "d\r\nX: y"), ("pub_pct", "%2F..%00")):
            kind, value, _ = r[name]
            self.assertIn(kind, ("ok", "SendError"), name)
            if kind == "ok":
                self.assertEqual(self.one(("w-" + name).encode())["publisher"], pub, name)
            else:
                self.assertEqual(self.ep.rows("body = ?", (("w-" + name).encode(),)), [], name)

    def test_keys_never_show(self):
        r = run_mp("secrets", self.env)
        self.assertEqual(r["leaks"], [])
        self.assertGreater(r["texts"], 30)
        for k in ("eh", "eh_batch", "iot", "iot_batch"):
            self.assertEqual(r[k][0], "SendError", k)
            self.assertEqual(r[k][2], 401, k)
        self.assertEqual(r["eh_ok"][:2], ["ok", 201])
        self.assertEqual(r["iot_ok"][:2], ["ok", 204])
        self.assertEqual(r["refused"][0], "SendError")
        self.assertEqual(r["no_ca"][0], "TLSError")
        self.assertEqual(r["bad_cs"][0], "ValueError")
        self.assertEqual(r["bad_b64"][0], "ValueError")

    def test_hostile_server(self):
        self.hostile_server()

    def hostile_server(self, *path):
        names = sorted(SCENARIOS)
        before = len(self.ep.rows("publisher = 'after-hostile'"))
        t0 = time.monotonic()
        r = run_mp("hostile", self.env, ",".join(names), *path, heap="256k")
        elapsed = time.monotonic() - t0
        self.assertEqual(r["leaks"], [])
        for name in names:
            kind, value, status = r[name]
            if name == "big_body_200":
                self.assertEqual((kind, value), ("ok", 200), name)
            elif name == "nul_error_text":
                self.assertEqual((kind, status), ("SendError", 403), name)
            elif name == "retry_after_huge":
                self.assertEqual((kind, status), ("SendError", 503), name)
            else:
                # Cut short, malformed or timed out: a connection failure.
                self.assertEqual((kind, status), ("SendError", None), "%s: %s" % (name, value))
        self.assertEqual(r["after"][:2], ["ok", 201])
        self.assertEqual(len(self.ep.rows("publisher = 'after-hostile'")), before + 1)
        # Megabytes received, none of it kept: the 256 KB heap is enough and
        # what stays allocated between sends is small.
        self.assertLess(r["heap_growth"], 16384)
        print("\nhostile server%s: %d scenarios in %.1f s, heap growth %d bytes"
              % ("".join(" (%s)" % p for p in path), len(names), elapsed, r["heap_growth"]), file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
