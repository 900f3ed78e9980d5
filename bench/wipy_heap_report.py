#!/usr/bin/env python3
"""make bench: the WiPy's heap left once a device is sending (issue #9).

wipy_heap_free_after_send = the WiPy's heap (_eheap - _boot of the built
image, build/wipy/footprint.json) minus what the azure package holds after
import, from_connection_string, one token, one single send and one 3-event
batch (bench/wipy_heap.py on the qemu twin, `make qemu-wipy`). The same
figure for the configuration before issue #9 is recorded in
bench/wipy_heap_before.json (tools/wipy_heap_before.sh re-measures it).
Merges the keys into bench/results.json.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def measure(a, service):
    # bench/wipy_heap.py for one client: (bytes held, names interned).
    with tempfile.NamedTemporaryFile("w", suffix=".py") as script:
        script.write("SERVICE = %r\n" % service + open(os.path.join(HERE, "wipy_heap.py")).read())
        script.flush()
        out = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "qemu_wipy.py"), "run", "--copy",
                              "--elf", a.elf, "--romfs", a.romfs, "--micropy-dir", a.micropy_dir, script.name],
                             capture_output=True, text=True, check=True, timeout=300).stdout
    lines = out.splitlines()
    held = int(next(l for l in lines if l.startswith("HELD ")).split()[1])
    qstrs = [int(l.split("n_qstr=")[1].split(",")[0]) for l in lines if "n_qstr=" in l]
    return held, qstrs[-1] - qstrs[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--footprint", default=os.path.join(ROOT, "build", "wipy", "footprint.json"))
    ap.add_argument("--elf", default=os.path.join(ROOT, "build", "qemu-wipy", "firmware.elf"))
    ap.add_argument("--romfs", default=os.path.join(ROOT, "build", "qemu-wipy", "flash.romfs"))
    ap.add_argument("--micropy-dir", default=os.path.join(ROOT, "build", "micropython"))
    ap.add_argument("--results", default=os.path.join(HERE, "results.json"))
    a = ap.parse_args()
    heap = json.load(open(a.footprint))["heap_bytes"]
    before = json.load(open(os.path.join(HERE, "wipy_heap_before.json")))
    r = {"wipy_heap_bytes": heap}
    # Event Hubs is the figure; the other two clients load their own module.
    # "token": the Event Hubs publisher holding a token made on the host, not the key (issue #18).
    for service in ("eventhub", "servicebus", "iothub", "token"):
        held, qstrs = measure(a, service)
        sfx = "" if service == "eventhub" else "_" + service
        r["wipy_layer_held_bytes" + sfx] = held
        r["wipy_layer_qstrs" + sfx] = qstrs
        r["wipy_heap_free_after_send" + sfx] = heap - held
    r["wipy_heap_free_after_send_before"] = before["wipy_heap_free_after_send"]
    r["wipy_heap_free_gain"] = r["wipy_heap_free_after_send"] - before["wipy_heap_free_after_send"]
    # The dynamic native modules' figures (bench/natmod_bench.py), when run.
    nat = os.path.join(HERE, "natmod-results.json")
    if os.path.exists(nat):
        n = json.load(open(nat))
        for arch, size in n.get("natmod_mpy_bytes", {}).items():
            r["natmod_mpy_bytes_" + arch] = size
        h = n.get("natmod_heap_armv7m", {})
        if "after_import_azure_bytes" in h:
            r["natmod_heap_after_import_azure_armv7m"] = h["after_import_azure_bytes"]
        if "natmod_sas_ratio" in n:
            r["natmod_sas_ratio"] = n["natmod_sas_ratio"]
    res = json.load(open(a.results)) if os.path.exists(a.results) else {}
    res.update(r)
    with open(a.results, "w") as f:
        json.dump(res, f, indent=2)
    for k, v in r.items():
        print("%-36s %8s" % (k, v))


if __name__ == "__main__":
    main()
