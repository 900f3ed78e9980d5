"""Offline, then throttled, then online (issue 10).

1. The endpoint is down (connection refused): the device puts 1,000 events;
   its flush fails, every event stays in the outbox.
2. The endpoint answers every request with 503 Server Busy: 1,000 more puts,
   the flush fails again (after its retries), 2,000 events queued.
3. The endpoint is back: the device drains its outbox; the store must hold
   all 2,000 events, once each, in order, byte for byte.

Run: python tests/outbox/offline_test.py  (MICROPYTHON=build/unix/micropython)
"""

import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from crash_test import DEVICE, MICROPYTHON, Endpoint, check, device_env  # noqa: E402

N = 1000
DEV = "offline-1"


def device(env, *args):
    p = subprocess.run([MICROPYTHON, DEVICE] + [str(a) for a in args], env=env, capture_output=True, text=True,
                       timeout=600)
    out = p.stdout.splitlines()
    if p.returncode:
        raise SystemExit("device %s failed (rc %d):\n%s\n%s" % (args, p.returncode, "\n".join(out[-5:]), p.stderr))
    return out


def last(out, prefix):
    return next((l for l in reversed(out) if l.startswith(prefix)), "")


def main():
    t0 = time.monotonic()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        box = os.path.join(tmp, "box")
        ep = Endpoint(tmp)  # once, for its certificates and a port of our own
        port = ep.port
        env = device_env(ep, 1)
        env["OB_RETRIES"] = "2"
        ep.stop()

        out = device(env, "put", box, DEV, 1, N)
        print("endpoint down:    %s; %s; %s" % (last(out, "E "), last(out, "LEFT"), last(out, "F ") or "nothing sent"))
        ok &= last(out, "LEFT") == "LEFT %d" % N

        ep = Endpoint(tmp, "--port", str(port), "--fail-503", "1.0", "--retry-after", "0")
        out = device(env, "put", box, DEV, 2, N)
        ep.stop()
        print("503 Server Busy:  %s; %s" % (last(out, "E "), last(out, "LEFT")))
        ok &= last(out, "LEFT") == "LEFT %d" % (2 * N) and "503" in last(out, "E ")

        ep = Endpoint(tmp, "--port", str(port))
        try:
            out = device(env, "drain", box, DEV)
            print("endpoint back:    %s" % last(out, "DONE"))
            ok &= last(out, "DONE").startswith("DONE 0 0")
            confirmed = {DEV: set(range(100000, 100000 + N)) | set(range(200000, 200000 + N))}
            res = check(ep, [DEV], confirmed)
        finally:
            ep.stop()
    print("stored %(unique_stored)d of 2000 (%(rows)d rows, %(duplicates)d duplicates, %(corrupt)d corrupt)" % res)
    for p in res["problems"]:
        print("PROBLEM: " + p)
    ok &= not res["problems"] and res["unique_stored"] == 2 * N and res["duplicates"] == 0
    print("offline then online: %s in %.1f s" % ("OK" if ok else "FAILED", time.monotonic() - t0))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
