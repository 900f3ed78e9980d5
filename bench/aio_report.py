#!/usr/bin/env python3
"""make bench (issue #21): the asyncio HTTPS clients' figures, merged into
bench/results.json.

- Heap on an armv6m board (make qemu-aio: qemu's MICROBIT, a Cortex-M0 with
  asyncio, the Pico W's architecture), bench/aio_heap.py: what the package
  holds once sending, with the blocking HTTPS client and with azure.aio's
  (aio_https_heap_held_blocking_armv6m, aio_https_heap_held_async_armv6m), and
  the async figure with asyncio's own stream/funcs/lock modules loaded before
  the baseline (..._asyncio_preloaded: the package's part alone).
- The loop: tests/e2e/test_aio_e2e.py on the full unix build, a 10 ms ticker
  beside the clients over TLS to the local endpoint (ticks, largest and 99th
  percentile gap, largest outside TLS handshakes), plain and through faults
  (aio_https_gap_basic_*, aio_https_gap_faults_*).
- Events/s, one send at a time over TLS: blocking and azure.aio
  (aio_https_blocking_events_per_s, aio_https_async_events_per_s).
(The MQTT client's figures: bench/aio_bench.py.)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PRELOAD = "asyncio.StreamReader, asyncio.wait_for_ms, asyncio.Lock\n"


def held(a, mode, preload=False):
    src = open(os.path.join(HERE, "aio_heap.py")).read()
    if preload:
        src = src.replace("gc.collect()\nbase =", PRELOAD + "gc.collect()\nbase =", 1)
    with tempfile.NamedTemporaryFile("w", suffix=".py") as script:
        script.write("MODE = %r\n" % mode + src)
        script.flush()
        out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "qemu_wipy.py"), "run", "--copy",
                              "--board", "MICROBIT", "--elf", a.elf, "--romfs", a.romfs,
                              "--micropy-dir", a.micropy_dir, script.name],
                             capture_output=True, text=True, check=True, timeout=300).stdout
    return int(next(l for l in out.splitlines() if l.startswith("HELD ")).split()[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elf", default=os.path.join(ROOT, "build", "qemu-aio", "firmware.elf"))
    ap.add_argument("--romfs", default=os.path.join(ROOT, "build", "qemu-aio", "flash.romfs"))
    ap.add_argument("--micropy-dir", default=os.path.join(ROOT, "build", "micropython"))
    ap.add_argument("--micropython", default=os.path.join(ROOT, "build", "unix", "micropython"))
    ap.add_argument("--results", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--heap-only", action="store_true", help="print the heap figures, write nothing")
    a = ap.parse_args()
    r = {"aio_https_heap_held_blocking_armv6m": held(a, "blocking"),
         "aio_https_heap_held_async_armv6m": held(a, "async"),
         "aio_https_heap_held_async_armv6m_asyncio_preloaded": held(a, "async", preload=True)}
    print("HTTPS clients, armv6m heap held once sending: blocking %(aio_https_heap_held_blocking_armv6m)d B, "
          "azure.aio %(aio_https_heap_held_async_armv6m)d B (%(aio_https_heap_held_async_armv6m_asyncio_preloaded)d B "
          "with asyncio's stream/funcs/lock modules loaded before the baseline)" % r)
    if a.heap_only:
        return 0
    with tempfile.NamedTemporaryFile("w", suffix=".json") as gaps:
        env = dict(os.environ, MICROPYTHON=a.micropython, AIO_RESULTS=gaps.name)
        subprocess.run([sys.executable, "-m", "unittest", "tests/e2e/test_aio_e2e.py"], cwd=ROOT, env=env,
                       check=True, timeout=900)
        g = json.load(open(gaps.name))
    for scenario, d in sorted(g.items()):
        for k, v in d.items():
            r["aio_https_gap_%s_%s" % (scenario, k)] = v
    # Events/s over TLS to the local endpoint, one send at a time: blocking
    # and async (with the 10 ms ticker running beside the async one).
    sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
    os.environ["MICROPYTHON"] = a.micropython
    import test_aio_e2e

    with tempfile.TemporaryDirectory() as tmp:
        ep = test_aio_e2e.Endpoint(tmp)
        try:
            rate = test_aio_e2e.run_aio(ep, "rate", n=300)
        finally:
            ep.stop()
    r["aio_https_blocking_events_per_s"] = rate["blocking_events_per_s"]
    r["aio_https_async_events_per_s"] = rate["async_events_per_s"]
    print("HTTPS clients, events/s one at a time over TLS: blocking %d, azure.aio %d" %
          (rate["blocking_events_per_s"], rate["async_events_per_s"]))
    try:
        with open(a.results) as f:
            res = json.load(f)
    except (OSError, ValueError):
        res = {}
    res.update(r)
    with open(a.results, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print("aio (HTTPS): %d keys merged into %s" % (len(r), os.path.relpath(a.results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
