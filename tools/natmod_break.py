#!/usr/bin/env python3
"""A deliberately broken _azure.mpy, for make natmod-test's negative control.

Copies IN to OUT with the first SHA-256 round constant (K[0] = 0x428a2f98,
stored once in the module's read-only data) changed: the module still loads
and every function still runs, but every HMAC, and so every token and
derived key, is wrong. natmod-test runs the SAS vectors against it and
requires them to FAIL: a test setup that would pass a wrong module (the
.mpy not loaded, a built-in _azure shadowing it, outputs not compared)
fails the build instead.

  tools/natmod_break.py IN.mpy OUT.mpy
"""

import struct
import sys


def main():
    src, dst = sys.argv[1:3]
    data = open(src, "rb").read()
    k0 = struct.pack("<I", 0x428A2F98)
    n = data.count(k0)
    if n != 1:
        sys.exit("natmod_break: %s holds SHA-256's K[0] %d times, expected once" % (src, n))
    with open(dst, "wb") as f:
        f.write(data.replace(k0, struct.pack("<I", 0x428A2F99)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
