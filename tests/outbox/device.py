# The device side of tests/outbox/crash_test.py and offline_test.py: an outbox
# on "flash" (a directory), puts and flushes to the local endpoint over TLS.
#
#   micropython device.py run DIR DEVICE RUN   put bursts and flush, forever
#                                              (until the driver kills it)
#   micropython device.py put DIR DEVICE RUN N put N events, then flush once
#                                              (errors printed, not raised)
#   micropython device.py drain DIR DEVICE     flush until empty
#
# Prints "P <seq>" right after each put returned, "S"/"A" around each
# send_batch (A: acknowledged, the outbox's bookkeeping comes next), "F <n>"
# after a flush. Environment: OB_ENDPOINT, OB_CA, OB_CS, OB_SEED.
import os
import sys

import azure

MODE, DIR, DEV = sys.argv[1], sys.argv[2], sys.argv[3]
RUN = int(sys.argv[4]) if len(sys.argv) > 4 else 0
seed = int(os.getenv("OB_SEED") or "1") * 7919 + RUN


def rnd(n):
    # A small LCG (the driver varies the seed): burst and batch sizes.
    global seed
    seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
    return seed % n


def body(seq):
    # Deterministic content the driver checks byte for byte.
    return '{"dev":"%s","seq":%d,"pad":"%s"}' % (DEV, seq, "abcdefghijklmnopqrstuvwxyz"[seq % 26] * (seq % 41))


class Probe:
    # The real client, with a line before and after each acknowledged batch.
    def __init__(self, client):
        self.client = client

    def send_batch(self, events):
        print("S", len(events))
        r = self.client.send_batch(events)
        print("A", r)
        return r


client = azure.EventHubClient.from_connection_string(
    os.getenv("OB_CS"), publisher=DEV, endpoint=os.getenv("OB_ENDPOINT"), ca_certs=os.getenv("OB_CA"),
    max_retries=int(os.getenv("OB_RETRIES") or "3"), backoff_base_ms=50, backoff_cap_ms=500, timeout=10)
box = azure.Outbox(DIR, max_bytes=int(os.getenv("OB_MAX_BYTES") or "1048576"))
print("OPEN", len(box), box.bytes)
seq = RUN * 100000
if MODE == "run":
    while True:
        for _ in range(1 + rnd(20)):
            box.put(body(seq), {"seq": seq})
            print("P", seq)
            seq += 1
        print("B")
        print("F", box.flush(Probe(client), batch=1 + rnd(25)))
elif MODE == "put":
    for _ in range(int(sys.argv[5])):
        box.put(body(seq), {"seq": seq})
        print("P", seq)
        seq += 1
    try:
        print("F", box.flush(Probe(client), batch=50))
    except OSError as e:
        print("E", e)
    print("LEFT", len(box))
else:
    while len(box):
        print("F", box.flush(client, batch=50))
    print("DONE", len(box), box.bytes, sorted(os.listdir(DIR)))
