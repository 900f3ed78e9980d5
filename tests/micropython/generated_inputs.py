# Generated inputs, compared with an independent oracle: tests/oracle/
# generated_exp.py runs the same generator in CPython, computes what each
# output must be with CPython's own urllib.parse.quote, json and base64 (and
# the response it built), and writes this file's .exp; `make oracle-test`
# checks the .exp is what the oracle says. Every build runs this file against
# that .exp (unix, unix-wipy, the qemu boards), so all of them agree with the
# oracle and with each other on the same thousands of inputs, not on lists.
#
# Inputs: names over the whole unreserved set and beyond (every ASCII byte,
# non-ASCII), texts with every control character 0x00-0x1F, non-ASCII text,
# arbitrary bytes, responses fed in random splits. Output: per category, the
# number of cases and a CRC-32 of every output in order.
import _azure
from azure.response import Response


class Rng:
    # A 31-bit LCG: the same numbers in CPython and on every board.
    def __init__(self, seed):
        self.s = seed

    def below(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % n


EXTRA = (0xE9, 0x20AC, 0x1F600, 0x7FF, 0x800, 0xFFFF)  # é € 😀 and UTF-8 length edges


def text(r, n, ascii_only=False):
    out = []
    for _ in range(r.below(n) + 1):
        k = r.below(10)
        if k < 7 or ascii_only:
            out.append(chr(r.below(128)))
        else:
            out.append(chr(EXTRA[r.below(len(EXTRA))]))
    return "".join(out)


class Digest:
    def __init__(self, name):
        self.name = name
        self.n = 0
        self.crc = 0

    def add(self, b):
        if isinstance(b, str):
            b = b.encode()
        self.crc = _azure.crc32(b, self.crc)
        self.n += 1

    def done(self):
        print(self.name, self.n, "%08x" % self.crc)


def error(f, *a):
    try:
        return f(*a)
    except ValueError as e:
        return "ValueError " + str(e)


# 1. Percent-encoding of the token's sr= (and what the signature covers).
r = Rng(1)
d = Digest("sr")
for _ in range(400):
    uri = text(r, 24)
    t = _azure.sas_token(uri, "k", None, expiry=1)
    d.add(t[len("SharedAccessSignature sr="):t.index("&sig=")])
d.done()

# 2. Path names percent-encoded into the request line.
r = Rng(2)
d = Digest("path")
for _ in range(400):
    h = _azure.frame_head("GET", (text(r, 12), text(r, 12)), "h", None)
    d.add(h[:h.index(b" HTTP/1.1")])
d.done()

# 3. Header values: printable ASCII and tab pass as they are, anything else is refused.
r = Rng(3)
d = Digest("value")
for _ in range(600):
    v = text(r, 10, ascii_only=r.below(2) == 0)
    out = error(_azure.frame_head, "POST", ("x",), "h", None, 0, None, None, {"p": v})
    d.add(out if isinstance(out, str) else out[out.index(b"\r\np: ") + 5:out.index(b"\r\nConnection")])
d.done()

# 4. Batch bodies: JSON escaping of texts with every control character.
r = Rng(4)
d = Digest("json")
for _ in range(400):
    body = text(r, 16)
    name = text(r, 6)
    d.add(_azure.frame_batch([(body, {name: text(r, 6)}, text(r, 4, True))]))
d.done()

# 5. IoT Hub batch bodies: base64 of arbitrary bytes.
r = Rng(5)
d = Digest("base64")
for _ in range(300):
    d.add(_azure.frame_batch([bytes(r.below(256) for _ in range(r.below(40)))], True))
d.done()

# 6. Responses built from random parts, fed in random splits.
r = Rng(6)
d = Digest("response")
for _ in range(300):
    status = (200, 201, 204, 401, 404, 429, 500, 503)[r.below(8)]
    body = bytes(33 + r.below(90) for _ in range(r.below(300)))
    head = b"HTTP/1.1 %d X\r\n" % status
    if r.below(4) == 0:
        head += b"Retry-After: %d\r\n" % r.below(100)
    if r.below(3) == 0:
        head += b"Connection: close\r\n"
    if status == 204:
        body = b""
        wire = head + b"\r\n"
    elif r.below(2):
        wire = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    else:
        wire = head + b"Transfer-Encoding: chunked\r\n\r\n"
        i = 0
        while i < len(body):
            k = 1 + r.below(64)
            wire += b"%x\r\n" % len(body[i:i + k]) + body[i:i + k] + b"\r\n"
            i += k
        wire += b"0\r\n\r\n"
    resp = Response(body_cap=400)
    i = 0
    while i < len(wire):
        k = 1 + r.below(20)
        i += resp.feed(wire[i:i + k])
    d.add(("%d %d %d %s " % (resp.status, resp.complete, resp.keep_alive, resp.retry_after)).encode() + bytes(resp.body))
d.done()
