"""The oracle of tests/micropython/generated_inputs.py: the same generator in
CPython, each expected output computed independently (urllib.parse.quote,
base64, json for a round trip, the response as built), written as that
test's .exp. Every MicroPython build then runs the test against this .exp.

  python tests/oracle/generated_exp.py           writes the .exp
  python tests/oracle/generated_exp.py --check   fails if the committed .exp differs
"""

import base64
import json
import os
import sys
import urllib.parse
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXP = os.path.join(ROOT, "tests", "micropython", "generated_inputs.py.exp")
VALUE_ERROR = "ValueError invalid property, partition key or token: printable ASCII only"


class Rng:
    def __init__(self, seed):
        self.s = seed

    def below(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % n


EXTRA = (0xE9, 0x20AC, 0x1F600, 0x7FF, 0x800, 0xFFFF)


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
    def __init__(self, name, lines):
        self.name, self.lines, self.n, self.crc = name, lines, 0, 0

    def add(self, b):
        self.crc = zlib.crc32(b.encode() if isinstance(b, str) else b, self.crc)
        self.n += 1

    def done(self):
        self.lines.append("%s %d %08x" % (self.name, self.n, self.crc))


def enc(s):
    return urllib.parse.quote(s, safe="")


def json_string(s):
    # docs/protocol.md section 5: " and \\ escaped, \\b \\t \\n \\f \\r, other
    # controls as \\u00XX (uppercase hex), everything else as is.
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif c in "\b\t\n\f\r":
            out.append("\\" + "btnfr"["\b\t\n\f\r".index(c)])
        elif ord(c) < 0x20:
            out.append("\\u%04X" % ord(c))
        else:
            out.append(c)
    r = "".join(out)
    assert json.loads('"%s"' % r) == s  # the escape is valid JSON for the text
    return r


def expected():
    lines = []
    r = Rng(1)
    d = Digest("sr", lines)
    for _ in range(400):
        d.add(enc(text(r, 24)))
    d.done()

    r = Rng(2)
    d = Digest("path", lines)
    for _ in range(400):
        a, b = text(r, 12), text(r, 12)
        d.add("GET /%s/%s" % (enc(a), enc(b)))
    d.done()

    r = Rng(3)
    d = Digest("value", lines)
    for _ in range(600):
        v = text(r, 10, ascii_only=r.below(2) == 0)
        d.add(v if all(c == "\t" or " " <= c <= "~" for c in v) else VALUE_ERROR)
    d.done()

    r = Rng(4)
    d = Digest("json", lines)
    for _ in range(400):
        body, name = text(r, 16), text(r, 6)
        value, pk = text(r, 6), text(r, 4, True)
        b = '[{"Body":"%s","UserProperties":{"%s":"%s"},"BrokerProperties":{"PartitionKey":"%s"}}]' % (
            json_string(body), json_string(name), json_string(value), json_string(pk))
        assert json.loads(b) == [{"Body": body, "UserProperties": {name: value}, "BrokerProperties": {"PartitionKey": pk}}]
        d.add(b)
    d.done()

    r = Rng(5)
    d = Digest("base64", lines)
    for _ in range(300):
        raw = bytes(r.below(256) for _ in range(r.below(40)))
        d.add('[{"body":"%s"}]' % base64.b64encode(raw).decode())
    d.done()

    r = Rng(6)
    d = Digest("response", lines)
    for _ in range(300):
        # The input is built exactly as the test builds it (the same draws);
        # what is checked is what the reader makes of it.
        status = (200, 201, 204, 401, 404, 429, 500, 503)[r.below(8)]
        body = bytes(33 + r.below(90) for _ in range(r.below(300)))
        head = b"HTTP/1.1 %d X\r\n" % status
        retry_after = None
        if r.below(4) == 0:
            retry_after = r.below(100)
            head += b"Retry-After: %d\r\n" % retry_after
        close = r.below(3) == 0
        if close:
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
        i = 0
        while i < len(wire):  # the test's random splits: a reader takes every byte
            i += len(wire[i:i + 1 + r.below(20)])
        d.add(("%d %d %d %s " % (status, 1, 0 if close else 1, retry_after)).encode() + body)
    d.done()
    return lines


def main():
    lines = expected()
    text_out = "\n".join(lines) + "\n"
    if sys.argv[1:] == ["--check"]:
        have = open(EXP).read()
        if have != text_out:
            print("tests/micropython/generated_inputs.py.exp differs from the oracle:\n" + text_out)
            return 1
        print("generated inputs: the .exp matches the oracle (%s)" % ", ".join(l.split()[0] for l in lines))
        return 0
    with open(EXP, "w") as f:
        f.write(text_out)
    print("wrote", os.path.relpath(EXP))
    return 0


if __name__ == "__main__":
    sys.exit(main())
