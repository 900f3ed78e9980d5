# The outbox on a RAM file system (tests/lib/outbox_harness.py mounts it).
try:
    from outbox_harness import *  # noqa: F401,F403 (ROOT, Outbox, OutboxFull, os, vfs, ...)
except ImportError:
    print("SKIP")  # no azure.Outbox on this port, or no tests/lib harness
    raise SystemExit
try:
    from azure import SendError
except ImportError:  # a port without sockets: no client, the same kind of error

    class SendError(OSError):
        def __init__(self, status, text):
            super().__init__("%s: %s" % (status if status is not None else "connection", text))
            self.status = status


class FlakyClient:
    # Fails the fail_at-th call of send_batch (1-based), stores nothing then.
    def __init__(self, fail_at, status=503):
        self.calls = 0
        self.fail_at = fail_at
        self.status = status
        self.got = []

    def send_batch(self, events):
        self.calls += 1
        if self.calls == self.fail_at:
            raise SendError(self.status, "Server Busy")
        for ev in events:
            self.got.append(int(bytes(ev[0] if isinstance(ev, tuple) else ev)))
        return 201


D = ROOT + "/fail"
box = Outbox(D, max_bytes=16384)
for i in range(100):
    box.put("%d" % i, {"i": i})

c = FlakyClient(3)
try:
    box.flush(c, batch=10)
    print("no error")
except SendError as e:
    print("raised:", e.status, e)
print("delivered before the failure:", c.got == list(range(20)), len(box))
# Recorded durably before raising: a reset now resends nothing delivered.
box = Outbox(D, max_bytes=16384)
print("after reopen", len(box))
c2 = FlakyClient(1, status=None)
try:
    box.flush(c2, batch=10)
except OSError as e:
    print("first batch failed:", e, len(box))
c3 = FlakyClient(4)
for attempt in range(5):
    try:
        n = box.flush(c3, batch=7)
        print("flush", attempt, "->", n, len(box))
        break
    except SendError:
        print("flush", attempt, "failed at call", c3.calls, "left", len(box))
print("every event once, in order:", c.got + c3.got == list(range(100)))
print("calls", c3.calls, "files", sorted(os.listdir(D)))

# Puts between failed flushes keep the order.
for i in range(100, 130):
    box.put("%d" % i)
c4 = FlakyClient(2)
try:
    box.flush(c4, batch=8)
except SendError:
    pass
for i in range(130, 140):
    box.put("%d" % i)
box = Outbox(D, max_bytes=16384)
box.flush(c4, batch=8)
print("interleaved puts, in order:", c4.got == list(range(100, 140)), len(box))
vfs.umount(ROOT)
