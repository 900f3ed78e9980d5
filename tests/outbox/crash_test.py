"""Crash test of azure.Outbox (issue 10): SIGKILL at random moments.

Starts the local endpoint over TLS (tools/azure_endpoint.py, SQLite store),
then again and again starts build/unix/micropython on tests/outbox/device.py
(puts bursts of events with unique per-device sequence numbers, printing each
one right after put returned, and flushes them in batches), and kills it with
SIGKILL after a random delay: during put, during a batch's request, during the
outbox's bookkeeping after an acknowledged batch, while it opens the outbox.
At the end each device drains its outbox, and the store must hold every event
whose put returned, in order per device (first occurrences), byte for byte;
duplicates (at-least-once resends) are counted and reported.

Run: python tests/outbox/crash_test.py --kills 1000 [--devices 2] [--seed 1]
     [--json build/test-results/outbox-crash.json]
"""

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MICROPYTHON = os.environ.get("MICROPYTHON", os.path.join(ROOT, "build", "unix", "micropython"))
DEVICE = os.path.join(HERE, "device.py")
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from test_send_e2e import EH_KEY, NS, Endpoint  # noqa: E402

PAD = "abcdefghijklmnopqrstuvwxyz"


def body(dev, seq):
    # The same as device.py's body().
    return '{"dev":"%s","seq":%d,"pad":"%s"}' % (dev, seq, PAD[seq % 26] * (seq % 41))


def device_env(ep, seed):
    return dict(os.environ, OB_ENDPOINT="127.0.0.1:%d" % ep.port, OB_CA=os.path.join(ep.certs, "ca.der"),
                OB_CS="Endpoint=sb://%s/;SharedAccessKeyName=DataProducer;SharedAccessKey=%s;EntityPath=telemetry"
                % (NS, EH_KEY), OB_SEED=str(seed))


def lines(out):
    # Complete lines only: a line cut by the kill ("P 12" without its newline)
    # does not count as printed.
    text = out.decode("utf-8", "replace")
    parts = text.split("\n")
    return parts[:-1]


def phase(ls):
    # Where the kill landed, from the last line the device printed.
    last = ls[-1].split()[0] if ls else ""
    return {"": "start/open", "OPEN": "put", "P": "put", "B": "flush (reading the log)",
            "S": "batch request", "A": "bookkeeping after an ack", "F": "put"}.get(last, last)


def check(ep, devices, confirmed):
    """Every confirmed event stored, in order, byte for byte; returns figures."""
    con = sqlite3.connect(ep.db)
    try:
        rows = con.execute("SELECT publisher, body, properties FROM events ORDER BY id").fetchall()
    finally:
        con.close()
    problems = []
    per_dev = {d: [] for d in devices}
    corrupt = 0
    for pub, b, props in rows:
        if pub not in per_dev:
            continue
        b = b.decode("utf-8", "replace") if isinstance(b, bytes) else b
        try:
            seq = json.loads(b)["seq"]
            ok = b == body(pub, seq) and json.loads(props) == {"seq": str(seq)}
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            corrupt += 1
            problems.append("corrupt event from %s: %r %r" % (pub, b[:80], props))
            continue
        per_dev[pub].append(seq)
    stored = dups = unconfirmed = 0
    for d in devices:
        seqs = per_dev[d]
        first, seen = [], set()
        for s in seqs:
            if s not in seen:
                seen.add(s)
                first.append(s)
        dups += len(seqs) - len(first)
        stored += len(first)
        if first != sorted(first):
            bad = next(i for i in range(1, len(first)) if first[i] < first[i - 1])
            problems.append("%s: out of order at %d: %s" % (d, bad, first[max(0, bad - 3):bad + 3]))
        missing = sorted(confirmed[d] - seen)
        if missing:
            problems.append("%s: %d confirmed events missing, e.g. %s" % (d, len(missing), missing[:10]))
        unconfirmed += len(seen - confirmed[d])
    return {"rows": len(rows), "unique_stored": stored, "duplicates": dups, "corrupt": corrupt,
            "stored_not_confirmed": unconfirmed, "problems": problems}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=1000)
    ap.add_argument("--devices", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-delay-ms", type=int, default=400)
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()
    # Killed (make interrupted): still stop the endpoint and remove the files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rng = random.Random(a.seed)
    devices = ["crash-%d" % i for i in range(a.devices)]
    confirmed = {d: set() for d in devices}
    phases = {}
    t0 = time.monotonic()
    global MICROPYTHON
    with tempfile.TemporaryDirectory() as tmp:
        # A copy of the interpreter: the shared build may be rebuilt meanwhile.
        MICROPYTHON = shutil.copy2(MICROPYTHON, os.path.join(tmp, "micropython"))
        ep = Endpoint(tmp)
        try:
            env = device_env(ep, a.seed)
            runs = {d: 0 for d in devices}
            for k in range(a.kills):
                d = devices[k % len(devices)]
                runs[d] += 1
                box = os.path.join(tmp, d)
                p = subprocess.Popen([MICROPYTHON, DEVICE, "run", box, d, str(runs[d])], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                # Mostly anywhere in a run; some very early (open, first put).
                r = rng.random()
                delay = rng.uniform(0, 0.03) if r < 0.15 else rng.uniform(0, a.max_delay_ms / 1000)
                time.sleep(delay)
                p.send_signal(signal.SIGKILL)
                out, err = p.communicate()
                ls = lines(out)
                if p.returncode != -signal.SIGKILL:
                    raise SystemExit("device %s ended by itself (rc %s) before the kill:\n%s\n%s"
                                     % (d, p.returncode, "\n".join(ls[-5:]), err.decode()[-2000:]))
                for line in ls:
                    if line.startswith("P "):
                        confirmed[d].add(int(line[2:]))
                ph = phase(ls)
                phases[ph] = phases.get(ph, 0) + 1
                if (k + 1) % 100 == 0:
                    print("  %d kills, %d events confirmed, %.0f s" % (
                        k + 1, sum(len(c) for c in confirmed.values()), time.monotonic() - t0), flush=True)
            for d in devices:
                p = subprocess.run([MICROPYTHON, DEVICE, "drain", os.path.join(tmp, d), d], env=env,
                                   capture_output=True, text=True, timeout=600)
                if "DONE 0 0" not in p.stdout:
                    raise SystemExit("drain of %s failed:\n%s\n%s" % (d, p.stdout[-2000:], p.stderr[-2000:]))
            res = check(ep, devices, confirmed)
        finally:
            ep.stop()
    res.update(kills=a.kills, devices=a.devices, seed=a.seed, confirmed=sum(len(c) for c in confirmed.values()),
               phases=phases, seconds=round(time.monotonic() - t0, 1))
    res["ok"] = not res["problems"] and res["confirmed"] > 0
    print("crash test: %(kills)d SIGKILLs over %(devices)d devices in %(seconds)s s; %(confirmed)d events "
          "confirmed by put, all checked: %(unique_stored)d stored (%(stored_not_confirmed)d more put but "
          "killed before the line was printed), %(duplicates)d duplicates, %(corrupt)d corrupt" % res)
    print("kills by phase: " + ", ".join("%s %d" % kv for kv in sorted(phases.items(), key=lambda kv: -kv[1])))
    for p in res["problems"][:20]:
        print("PROBLEM: " + p)
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    print("crash test: " + ("OK" if res["ok"] else "FAILED"))
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
