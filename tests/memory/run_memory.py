"""Heap stability of the MicroPython build: runs the scripts in this folder
and checks their RESULT lines (make memory-test).

  (a) mem_tokens.py   100,000 SAS tokens                  default heap and 48 KB
  (b) mem_frames.py   10,000 framed sends (no network)      default heap and 48 KB
  (c) mem_client.py   2,000 events to the local endpoint over TLS, default heap,
                      and 500 at 128 KB (about the least mbedTLS needs on 64-bit unix)
  (d) mem_client.py   20,000 events through a fake socket at 48 KB (WiPy-sized:
                      there TLS runs in the network processor, not the heap),
                      (every board runs the same send path)

Each script samples gc.mem_alloc() after gc.collect() at 20 intervals; a run
passes when no sample after the warm-up one exceeds it by more than the
script's tolerance (256 or 512 bytes, i.e. far less than one byte per
iteration) and nothing raised. The numbers go to build/test-results/memory.json.

Run: python tests/memory/run_memory.py  (MICROPYTHON=build/unix/micropython)
"""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MICROPYTHON = os.environ.get("MICROPYTHON", os.path.join(ROOT, "build", "unix", "micropython"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from test_send_e2e import EH_KEY, NS, Endpoint  # noqa: E402

# WiPy-sized. With the package loaded from .mpy files (make unix-wipy) the
# 64-bit interpreter holds about 30 KB for code the 32-bit board holds in
# 9 KB: that run passes MEM_SMALL_HEAP=72k to leave the same room.
SMALL_HEAP = os.environ.get("MEM_SMALL_HEAP", "48k")
TLS_HEAP = "128k"


def run(script, *args, heap=None, env=None, timeout=120):
    cmd = [MICROPYTHON] + (["-X", "heapsize=" + heap] if heap else []) + [script] + [str(a) for a in args]
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=HERE, env=dict(os.environ, **(env or {})), capture_output=True, text=True,
                       timeout=timeout)
    wall = time.monotonic() - t0
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            r = json.loads(line[7:])
            r["heap"] = heap or "default"
            r["wall_s"] = round(wall, 1)
            return r
    return {"test": script, "heap": heap or "default", "ok": False,
            "error": "no RESULT (rc %d): %s %s" % (p.returncode, p.stdout[-800:], p.stderr[-800:])}


def start_endpoint(tmp):
    ep = Endpoint(tmp)
    # (The endpoint logs to a file, so nothing needs draining.)
    return ep


def stored(ep, publisher):
    con = sqlite3.connect(ep.db)
    try:
        return con.execute("SELECT COUNT(*) FROM events WHERE publisher = ?", (publisher,)).fetchone()[0]
    finally:
        con.close()


def main():
    results = []
    results.append(run("mem_tokens.py", 100000))
    results.append(run("mem_tokens.py", 100000, heap=SMALL_HEAP))
    results.append(run("mem_frames.py", 10000))
    results.append(run("mem_frames.py", 10000, heap=SMALL_HEAP))
    with tempfile.TemporaryDirectory() as tmp:
        ep = start_endpoint(tmp)
        try:
            env = {"MEM_ENDPOINT": "127.0.0.1:%d" % ep.port, "MEM_CA": os.path.join(ep.certs, "ca.der"),
                   "MEM_CS": "Endpoint=sb://%s/;SharedAccessKeyName=DataProducer;SharedAccessKey=%s;"
                             "EntityPath=telemetry" % (NS, EH_KEY)}
            for n, heap in ((2000, None), (500, TLS_HEAP)):
                before = stored(ep, "memory")
                r = run("mem_client.py", heap=heap, env=dict(env, MEM_N=str(n)))
                r["stored"] = stored(ep, "memory") - before
                if r.get("ok") and r["stored"] != n:
                    r["ok"] = False
                    r["error"] = "%d events stored, %d sent" % (r["stored"], n)
                results.append(r)
        finally:
            ep.stop()
    results.append(run("mem_client.py", heap=SMALL_HEAP, env={"MEM_ENDPOINT": "fake", "MEM_N": "20000"}))

    failed = []
    print("%-7s %-7s %-9s %7s %9s %9s %7s %9s %7s  %s" % ("test", "heap", "transport", "n", "alloc_0", "alloc_warm",
                                                        "growth", "min_free", "ms", "result"))
    for r in results:
        ok = r.get("ok") and not r.get("failed")
        if not ok:
            failed.append(r)
        print("%-7s %-7s %-9s %7s %9s %9s %7s %9s %7s  %s" % (
            r.get("test", "?")[:7], r["heap"], r.get("transport", "-"), r.get("n", "-"), r.get("alloc_start", "-"),
            r.get("alloc_warm", "-"), r.get("growth", "-"), r.get("min_free", "-"), r.get("ms", "-"),
            "ok" if ok else "FAIL %s" % (r.get("error") or "growth %s > %s" % (r.get("growth"), r.get("tolerance")))))
    out = os.path.join(ROOT, os.environ.get("MEMORY_RESULTS") or os.path.join("build", "test-results", "memory.json"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=1)
    if failed:
        print("memory-test: %d of %d runs failed (details: %s)" % (len(failed), len(results), out), file=sys.stderr)
        return 1
    print("memory-test: %d runs, heap stable (details: %s)" % (len(results), os.path.relpath(out, ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
