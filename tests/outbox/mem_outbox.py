# Heap of azure.Outbox with 10,000 events queued (issue 10), meant for a
# WiPy-sized heap: micropython -X heapsize=48k mem_outbox.py DIR [N]
# Samples gc.mem_alloc() after gc.collect() while putting N events, while
# reopening the outbox (a scan of all N records) and while flushing them in
# batches of 50 to a fake client; prints one RESULT line of JSON, exits 1 if
# the heap grew with the number of events: more than 512 bytes over the
# second sample of put and flush (the first is a warm-up), or after
# reopening with N queued than with none.
import gc
import json
import os
import sys

import azure

DIR = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
STEP = N // 20
TOL = 512


class Client:
    def __init__(self):
        self.n = 0

    def send_batch(self, events):
        self.n += len(events)
        return 201


samples = {"put": [], "reopen": [], "flush": []}


def sample(phase):
    gc.collect()
    samples[phase].append(gc.mem_alloc())


box = azure.Outbox(DIR, max_bytes=1048576)
start = len(box)
sample("put")
for i in range(N):
    box.put('{"seq":%d,"temp_c":21.5,"rh":40}' % i, {"kind": "reading"})
    if i % STEP == STEP - 1:
        sample("put")
queued = len(box)
nbytes = box.bytes
# Reopening scans all N records: the heap after it, N queued, against the
# heap after reopening the drained outbox at the end (0 queued).
box = azure.Outbox(DIR, max_bytes=1048576)
sample("reopen")
reopened = len(box)
c = Client()
sample("flush")
while len(box):
    box.flush(c, batch=50, max_events=STEP)
    sample("flush")
box = azure.Outbox(DIR, max_bytes=1048576)
sample("reopen")
samples["reopen"].reverse()  # [0 queued, N queued]
res = {"test": "outbox", "n": N, "queued": queued, "reopened": reopened, "bytes": nbytes, "flushed": c.n,
       "heap_total": gc.mem_alloc() + gc.mem_free(), "tolerance": TOL}
ok = start == 0 and queued == N and reopened == N and c.n == N
for k, s in samples.items():
    res[k] = {"first": s[0], "max": max(s), "growth": max(s[1:]) - s[1] if len(s) > 2 else s[1] - s[0]}
    ok = ok and res[k]["growth"] <= TOL
res["max_alloc"] = max(max(s) for s in samples.values())
res["ok"] = ok
print("RESULT " + json.dumps(res))
sys.exit(0 if ok else 1)
