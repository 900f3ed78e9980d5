#!/usr/bin/env python3
"""Figures for _azure as a dynamic native module (issue #11, part 4), into
bench/natmod-results.json (the lead folds them into bench/results.json):

- natmod_mpy_bytes: the size of build/natmod/<arch>/_azure.mpy per architecture;
- natmod_heap_armv7m: on the armv7m qemu board (MPS2_AN385 without _azure,
  the .mpy files loaded from a file system into the heap, as from a
  board's flash: tools/qemu_wipy.py --copy), the heap that `import _azure`
  and then `import azure` take (the module's code is loaded into the heap),
  and the free heap left;
- natmod_sas: tokens per second of _azure.sas_token from the x64 .mpy on a
  unix interpreter without the module (build/unix-plain), against the same
  module linked into the unix firmware (build/unix/micropython), in
  alternating runs, median of each; natmod_sas_ratio = firmware / .mpy
  tokens per second (goal: at most 1.2).

  .venv/bin/python bench/natmod_bench.py [--reps 7] [--tokens 4000]
(after make natmod, make natmod-fw-MPS2_AN385, make unix and build/unix-plain:
`make natmod-test` builds them all)
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ARCHS = ["x64", "armv6m", "armv7m", "armv7emsp", "rv32imc"]

SAS = """
import time, _azure
f = _azure.sas_token
URI = "https://demo-ns.servicebus.windows.net/telemetry/publishers/wipy-kitchen-01"
KEY = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGho="
f(URI, KEY, "DataProducer", expiry=1800000000)
t0 = time.ticks_us()
for _ in range(%d):
    f(URI, KEY, "DataProducer", expiry=1800000000)
print(time.ticks_diff(time.ticks_us(), t0))
"""

HEAP = """import gc
gc.collect(); f0 = gc.mem_free(); a0 = gc.mem_alloc()
import _azure
gc.collect(); f1 = gc.mem_free()
import azure
gc.collect(); f2 = gc.mem_free()
print("HEAP", f0 + a0, f0 - f1, f1 - f2, f2)
"""


def tokens_per_s(micropython, path, n):
    env = dict(os.environ, MICROPYPATH=path) if path is not None else dict(os.environ)
    out = subprocess.run([micropython, "-c", SAS % n], env=env, capture_output=True, text=True, check=True)
    return n / (int(out.stdout.split()[-1]) / 1e6)


def heap_armv7m():
    natmod = os.path.join(ROOT, "build", "natmod")
    elf = os.path.join(natmod, "qemu-MPS2_AN385", "firmware.elf")
    romfs = os.path.join(natmod, "armv7m", "qemu", "flash.romfs")
    for f in (elf, romfs):
        if not os.path.exists(f):
            sys.exit("natmod_bench: %s missing: run make natmod-qemu-armv7m first" % f)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(HEAP)
    try:
        out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "qemu_wipy.py"), "run", "--copy", "--board", "MPS2_AN385",
                              "--elf", elf, "--romfs", romfs, "--micropy-dir", os.path.join(ROOT, "build", "micropython"),
                              f.name], capture_output=True, text=True, check=True, timeout=120).stdout
    finally:
        os.unlink(f.name)
    line = [l for l in out.splitlines() if l.startswith("HEAP ")][0].split()
    heap, natmod_b, azure_b, free = (int(x) for x in line[1:])
    return {"board": "qemu MPS2_AN385 (Cortex-M3), firmware without _azure", "heap_bytes": heap,
            "import__azure_bytes": natmod_b, "import_azure_bytes": azure_b,
            "after_import_azure_bytes": natmod_b + azure_b, "free_after_import_azure_bytes": free}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--tokens", type=int, default=4000)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "natmod-results.json"))
    a = ap.parse_args()

    sizes = {}
    for arch in ARCHS:
        p = os.path.join(ROOT, "build", "natmod", arch, "_azure.mpy")
        if not os.path.exists(p):
            sys.exit("natmod_bench: %s missing: run make natmod first" % p)
        sizes[arch] = os.path.getsize(p)

    plain = os.path.join(ROOT, "build", "unix-plain", "micropython")
    firmware = os.path.join(ROOT, "build", "unix", "micropython")
    natmod_path = os.path.join(ROOT, "build", "natmod", "x64")
    # The plain interpreter must get _azure from the .mpy, the firmware its own.
    if subprocess.run([plain, "-c", "import _azure"], env=dict(os.environ, MICROPYPATH=""),
                      capture_output=True).returncode == 0:
        sys.exit("natmod_bench: %s has a built-in _azure" % plain)
    mpy, fw = [], []
    for _ in range(a.reps):
        mpy.append(tokens_per_s(plain, natmod_path, a.tokens))
        fw.append(tokens_per_s(firmware, "", a.tokens))
    mpy_tps, fw_tps = statistics.median(mpy), statistics.median(fw)

    res = {
        "date": datetime.date.today().isoformat(),
        "natmod_mpy_bytes": sizes,
        "natmod_heap_armv7m": heap_armv7m(),
        "natmod_sas": {
            "tokens": a.tokens, "reps": a.reps,
            "mpy_x64_tokens_per_s": round(mpy_tps), "firmware_unix_tokens_per_s": round(fw_tps),
            "mpy_runs": [round(x) for x in mpy], "firmware_runs": [round(x) for x in fw],
        },
        "natmod_sas_ratio": round(fw_tps / mpy_tps, 3),
        "natmod_sas_ratio_goal": 1.2,
    }
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
