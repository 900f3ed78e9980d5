# The outbox on a RAM file system (tests/lib/outbox_harness.py mounts it).
try:
    from outbox_harness import *  # noqa: F401,F403 (ROOT, Outbox, OutboxFull, os, vfs, ...)
except ImportError:
    print("SKIP")  # no azure.Outbox on this port, or no tests/lib harness
    raise SystemExit

class Client:
    def __init__(self):
        self.got = []

    def send_batch(self, events):
        for ev in events:
            self.got.append(int(bytes(ev)))
        return 201


# drop_oldest: a 4 KB outbox (512-byte segments) fed 400 events of 20 bytes.
D = ROOT + "/drop"
box = Outbox(D, max_bytes=4096)
for i in range(400):
    box.put("%020d" % i)
    if box.bytes > 4096:
        print("over max_bytes at", i, box.bytes)
print("drop_oldest:", len(box) + box.dropped == 400, box.dropped > 0, box.bytes <= 4096)
print("dropped whole segments of 17 events:", box.dropped % 17 == 0, 4096 - box.bytes < 600)
kept = len(box)
dropped = box.dropped
box = Outbox(D, max_bytes=4096)
print("reopened: same count and dropped", len(box) == kept, box.dropped == dropped)
c = Client()
print("flush", box.flush(c) == kept)
print("the newest, in order:", c.got == list(range(400 - kept, 400)))
print("dropped survives a drain and reopen", Outbox(D, max_bytes=4096).dropped == dropped)

# reject: raises OutboxFull and keeps everything already stored.
D = ROOT + "/reject"
box = Outbox(D, max_bytes=4096, policy="reject")
n = 0
try:
    while True:
        box.put("%020d" % n)
        n += 1
except OutboxFull as e:
    print("OutboxFull after", n, "events:", e)
    print("an OSError:", isinstance(e, OSError))
print("nothing dropped", len(box) == n, box.dropped, box.bytes <= 4096)
try:
    box.put("one more")
except OutboxFull:
    print("still full")
c = Client()
print("flush 100", box.flush(c, max_events=100))
box.put("%020d" % n)
print("room again", len(box) == n - 100 + 1)
box = Outbox(D, max_bytes=4096, policy="reject")
box.flush(c)
print("all delivered once, in order:", c.got == list(range(n + 1)))
vfs.umount(ROOT)
