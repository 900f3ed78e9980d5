# Benchmark 2, the part that runs on the qemu Cortex-M4 firmware (MPS2_AN386).
# bench/m4_bench.py sends bench/sas_pure.py followed by this file to the raw
# REPL (the firmware has no filesystem), so sas_token/new/quote are globals.
#
# Instruction counts: qemu runs with `-icount shift=0`, so the emulated clock
# advances exactly 1 ns per executed instruction. The board's CMSDK APB
# timer 0 (0x40000000) counts down at the 25 MHz system clock, i.e. one tick
# per 40 instructions; it is read through machine.mem32 (the port has no
# `time` module). calibrate() checks the 40 with an inline-assembler loop of
# known length. Each figure is the median over REPS repetitions, the
# variants interleaved in each repetition.
import gc
import hashlib
import machine
import micropython

import _azure

_m = machine.mem32
_T = 0x40000000  # CMSDK APB timer 0: CTRL +0, VALUE +4, RELOAD +8

_m[_T] = 0
_m[_T + 8] = 0xFFFFFFFF
_m[_T + 4] = 0xFFFFFFFF
_m[_T] = 1  # enable, no interrupt


def _now():
    return _m[_T + 4]


def _ticks(fn, arg):
    a = _now()
    fn(arg)
    b = _now()
    return (a - b) & 0xFFFFFFFF  # it counts down


@micropython.asm_thumb
def _spin(r0):  # exactly 2 instructions per iteration
    label(loop)
    sub(r0, r0, 1)
    bne(loop)


def calibrate():
    # 2,000,000 more instructions in the second call than in the first.
    d = _ticks(_spin, 1001000) - _ticks(_spin, 1000)
    return 2000000 / d


URI = "https://demo-ns.servicebus.windows.net/telemetry/publishers/wipy-kitchen-01"
KEY = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGho="
NAME = "DataProducer"
EXPIRY = 1800000000
LONG = "x" * (64 * 8)  # 8 more blocks of string-to-sign (unreserved: encoded 1:1)
URI_LONG = URI + LONG
NAME_LONG = NAME + LONG  # 512 more characters encoded (skn), none signed

M1 = b"x" * 55  # SHA-256 of 55 bytes: 1 compression
M9 = b"x" * (64 * 9 - 9)  # 9 compressions


def rust(n):
    f = _azure.sas_token
    for _ in range(n):
        f(URI, KEY, NAME, expiry=EXPIRY)


def rust_long(n):
    f = _azure.sas_token
    for _ in range(n):
        f(URI_LONG, KEY, NAME, expiry=EXPIRY)


def rust_name_long(n):
    f = _azure.sas_token
    for _ in range(n):
        f(URI, KEY, NAME_LONG, expiry=EXPIRY)


def pure(n):
    f = sas_token
    for _ in range(n):
        f(URI, KEY, NAME, EXPIRY)


def sha1(n):
    h = hashlib.sha256
    for _ in range(n):
        h(M1).digest()


def sha9(n):
    h = hashlib.sha256
    for _ in range(n):
        h(M9).digest()


def kwcall(n):
    # A native call with five arguments, for comparison: argument parsing
    # (backoff_ms takes them positionally since the one-send-path rework).
    f = _azure.backoff_ms
    for _ in range(n):
        f(0, 1, None, 500, 30000)


def empty(n):
    for _ in range(n):
        pass


def _median(xs):
    xs = sorted(xs)
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def _heap(fn, n):
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    fn(n)
    b = gc.mem_alloc()
    gc.enable()
    return (b - a) / n


def main(reps):
    a = _azure.sas_token(URI, KEY, NAME, expiry=EXPIRY)
    b = sas_token(URI, KEY, NAME, EXPIRY)
    same = a == b
    ipt = calibrate()
    plan = (("rust", rust, 50), ("rust_again", rust, 50), ("rust_long", rust_long, 20),
            ("rust_name_long", rust_name_long, 20), ("pure", pure, 5),
            ("sha1", sha1, 50), ("sha9", sha9, 20), ("kwcall", kwcall, 100), ("empty", empty, 200))
    runs = {}
    for name, fn, n in plan:
        fn(1)  # warm up (first-call effects)
        runs[name] = []
    for _ in range(reps):
        for name, fn, n in plan:
            if name != "rust_again":  # rust_again: straight after rust, heap not collected
                gc.collect()
            runs[name].append(_ticks(fn, n) * ipt / n)
    loop = _median(runs["empty"])
    out = {"m4_same_token": same, "m4_instr_per_tick": ipt, "m4_loop_instr": loop}
    for name, _, _ in plan:
        if name != "empty":
            out["m4_" + name] = _median(runs[name]) - loop
    out["m4_heap_rust"] = _heap(rust, 20)
    out["m4_heap_pure"] = _heap(pure, 5)
    out["m4_mem_free"] = gc.mem_free() + gc.mem_alloc()
    # One line the host parses: a dict literal (no json module needed).
    print("M4RESULT", repr(out))
