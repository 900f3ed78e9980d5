# Benchmark 1 on the MicroPython unix build: SAS token generation with
# _azure.sas_token (a) and the pure-MicroPython algorithm of sas_pure.py (b).
# Usage: micropython bench/sas_bench.py [REPS]  (run from bench/ or with it on sys.path)
# Prints one JSON line. Each figure is the median over REPS repetitions, (a)
# and (b) interleaved in slices within every repetition.
import gc
import hashlib
import json
import sys
import time

import _azure

import sas_pure

URI = "https://demo-ns.servicebus.windows.net/telemetry/publishers/wipy-kitchen-01"
KEY = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGho="  # a 44-character key text, as the portal shows
NAME = "DataProducer"
EXPIRY = 1800000000

# Tokens per timed repetition: each repetition takes some tens of ms.
N_RUST = 2000
N_PURE = 200
N_HEAP = 100
CHUNKS = 10


def rust(n):
    f = _azure.sas_token
    for _ in range(n):
        f(URI, KEY, NAME, expiry=EXPIRY)


def pure(n):
    f = sas_pure.sas_token
    for _ in range(n):
        f(URI, KEY, NAME, EXPIRY)


M1 = b"x" * 55  # SHA-256 of 55 bytes: 1 compression
M9 = b"x" * (64 * 9 - 9)  # 9 compressions


def sha1(n):
    h = hashlib.sha256
    for _ in range(n):
        h(M1).digest()


def sha9(n):
    h = hashlib.sha256
    for _ in range(n):
        h(M9).digest()


def empty(n):
    for _ in range(n):
        pass


def median(xs):
    xs = sorted(xs)
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def _cpu_clock():
    # This process's CPU time (CLOCK_PROCESS_CPUTIME_ID through the unix
    # port's ffi module): other processes on the machine do not inflate it
    # the way they inflate wall time.
    import struct

    import ffi

    cg = ffi.open("libc.so.6").func("i", "clock_gettime", "ip")
    buf = bytearray(16)

    def cpu_ns():
        cg(2, buf)  # CLOCK_PROCESS_CPUTIME_ID (Linux)
        s, ns = struct.unpack("qq", buf)
        return s * 1000000000 + ns

    cpu_ns()
    return cpu_ns


try:
    _cpu_ns = _cpu_clock()
    CLOCK = "cpu"
except (ImportError, OSError, AttributeError):
    CLOCK = "wall"


def _clock_overhead_us():
    xs = []
    for _ in range(21):
        a = _cpu_ns()
        xs.append((_cpu_ns() - a) / 1000)
    return median(xs)


def timed_us(fn, n):
    """Microseconds per call: CPU time where Linux tells it, else wall time."""
    if CLOCK == "cpu":
        t0 = _cpu_ns()
        fn(n)
        return ((_cpu_ns() - t0) / 1000 - OVERHEAD) / n
    t0 = time.ticks_us()
    fn(n)
    return time.ticks_diff(time.ticks_us(), t0) / n


def heap_bytes(fn, n):
    gc.collect()
    gc.disable()
    try:
        a = gc.mem_alloc()
        fn(n)
        b = gc.mem_alloc()
    finally:
        gc.enable()
    return (b - a) / n


def check():
    # RFC 4231 test cases 1 and 6 (key longer than a block) for the pure HMAC.
    import binascii
    import hashlib

    h = sas_pure.new(b"\x0b" * 20, b"Hi There", hashlib.sha256).digest()
    assert binascii.hexlify(h) == b"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", h
    h = sas_pure.new(b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First").digest()
    assert binascii.hexlify(h) == b"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", h
    a = _azure.sas_token(URI, KEY, NAME, expiry=EXPIRY)
    b = sas_pure.sas_token(URI, KEY, NAME, EXPIRY)
    if a != b:
        raise SystemExit("tokens differ:\n  _azure %s\n  pure   %s" % (a, b))
    return a


def main():
    global OVERHEAD
    OVERHEAD = _clock_overhead_us() if CLOCK == "cpu" else 0
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    token = check()
    rust(10)
    pure(10)
    tr, tp, te, hr, hp, ratio_t, ratio_h, sb = [], [], [], [], [], [], [], []
    for _ in range(reps):
        # (a) and (b) alternate in CHUNKS slices, so that both see the same
        # machine (other processes come and go); one collection per
        # repetition, so the garbage (b) makes is collected on its time.
        gc.collect()
        a = b = 0
        for _ in range(CHUNKS):
            a += timed_us(rust, N_RUST // CHUNKS)
            b += timed_us(pure, N_PURE // CHUNKS)
        a /= CHUNKS
        b /= CHUNKS
        tr.append(a)
        tp.append(b)
        te.append(timed_us(empty, N_RUST))
        ratio_t.append(b / a)
        x = heap_bytes(rust, N_HEAP)
        y = heap_bytes(pure, N_HEAP)
        hr.append(x)
        hp.append(y)
        ratio_h.append(y / x)
        sb.append((timed_us(sha9, 500) - timed_us(sha1, 500)) / 8)
    rs = sorted(ratio_t)
    print(json.dumps({
        "token": token,
        "token_len": len(token),
        "string_to_sign_len": len(sas_pure.quote(URI)) + 1 + len(str(EXPIRY)),
        "reps": reps,
        "clock": CLOCK,
        "clock_overhead_us": OVERHEAD,
        "sas_us_rust": median(tr),
        "sas_us_pure": median(tp),
        "loop_us_per_iteration": median(te),
        "sha256_block_us_hashlib": median(sb),
        "sas_us_ratio": median(ratio_t),
        "sas_us_ratio_quartiles": [rs[len(rs) // 4], rs[(3 * len(rs)) // 4]],
        "sas_us_ratio_all": ratio_t,
        "sas_heap_rust": median(hr),
        "sas_heap_pure": median(hp),
        "sas_heap_ratio": median(ratio_h),
        "sas_us_rust_all": tr,
        "sas_us_pure_all": tp,
    }))


main()
