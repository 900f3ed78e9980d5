# Heap sampling shared by the memory tests (MicroPython side): gc.collect(),
# then gc.mem_alloc(), at intervals; one RESULT line of JSON at the end.
import gc
import json

try:
    from time import ticks_ms, ticks_diff
except ImportError:  # pragma: no cover

    def ticks_ms():
        return 0

    def ticks_diff(a, b):
        return a - b


class Heap:
    def __init__(self, name):
        self.name = name
        # Preallocated: lists that grow would be measured as growth.
        self._alloc = [0] * 64
        self._free = [0] * 64
        self.n = 0
        self.t0 = ticks_ms()

    def sample(self):
        gc.collect()
        if self.n < len(self._alloc):
            self._alloc[self.n] = gc.mem_alloc()
            self._free[self.n] = gc.mem_free()
            self.n += 1

    def result(self, n, tolerance, **extra):
        # samples[0] is taken before the loop, samples[1] after a first
        # interval (warm-up: first connection, first token, the caller's own
        # variables): no later sample may exceed it by more than tolerance.
        self.samples = self._alloc[:self.n]
        self.free = self._free[:self.n]
        base = self.samples[1]
        growth = max(self.samples[1:]) - base
        r = {"test": self.name, "n": n, "heap_total": gc.mem_alloc() + gc.mem_free(), "alloc_start": self.samples[0], "alloc_warm": base,
             "alloc_last": self.samples[-1], "alloc_max": max(self.samples), "growth": growth,
             "min_free": min(self.free), "tolerance": tolerance, "ok": growth <= tolerance,
             "ms": ticks_diff(ticks_ms(), self.t0), "samples": self.samples}
        r.update(extra)
        print("RESULT " + json.dumps(r))
        return r


class ByteStream:
    # Just enough of a socket for the response reader: readline(n) and
    # readinto(buf, n) over a bytes object (shared by the memory tests).
    def __init__(self):
        self.data = b""
        self.pos = 0

    def load(self, data):
        self.data = data
        self.pos = 0

    def readline(self, n):
        end = self.data.find(b"\n", self.pos, self.pos + n)
        end = self.pos + n if end < 0 else end + 1
        line = self.data[self.pos:end]
        self.pos = end
        return line

    def readinto(self, b, n):
        chunk = self.data[self.pos:self.pos + n]
        b[:len(chunk)] = chunk
        self.pos += len(chunk)
        return len(chunk)
