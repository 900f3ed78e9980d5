# The outbox on a RAM file system (tests/lib/outbox_harness.py mounts it).
try:
    from outbox_harness import *  # noqa: F401,F403 (ROOT, Outbox, OutboxFull, os, vfs, ...)
except ImportError:
    print("SKIP")  # no azure.Outbox on this port, or no tests/lib harness
    raise SystemExit

class Client:
    # Records what send_batch got, as (body, properties) pairs.
    def __init__(self):
        self.got = []
        self.batches = []

    def send_batch(self, events):
        self.batches.append(len(events))
        for ev in events:
            if isinstance(ev, tuple):
                self.got.append((bytes(ev[0]), ev[1]))
            else:
                self.got.append((bytes(ev), None))
        return 201


D = ROOT + "/box"
box = Outbox(D)
print("empty", len(box), box.bytes, box.dropped)
box.put("hello")
print("1 event", len(box), box.bytes)  # 8 (frame) + 1 (no properties) + 5
box.put(b"\x00\xffbin", {"kind": "reading", "n": 7, "ok": True})
box.put(bytearray(b"ba"), {})
box.put(memoryview(b"xmvx")[1:3])
box.put('{"t":"\u00e9"}', properties={"k": "v"})
print("5 events", len(box), box.bytes)
del box

# Reopened: the same events, nothing in RAM survived but the files.
box = Outbox(D)
print("reopened", len(box), box.bytes)
c = Client()
print("flush ->", box.flush(c, batch=2))
print("batches", c.batches)
for body, props in c.got:
    print(body, sorted(props.items()) if props else props)
print("after", len(box), box.bytes, sorted(os.listdir(D)))
print("flush empty ->", box.flush(c))

# Order over many events and several segments; max_events; batch sizes.
box = Outbox(D, max_bytes=8192)
for i in range(120):
    box.put("e%03d" % i, {"seq": i} if i % 3 == 0 else None)
print("120 events", len(box), box.bytes, len([n for n in os.listdir(D) if n.endswith(".log")]) > 1)
c = Client()
print("flush max 45 ->", box.flush(c, batch=20, max_events=45), c.batches, len(box))
box = Outbox(D, max_bytes=8192)
print("reopened", len(box))
print("flush rest ->", box.flush(c, batch=50), c.batches, len(box), box.bytes)
seqs = [int(b[1:]) for b, p in c.got]
print("in order, each once:", seqs == list(range(120)))
print("properties kept:", all(p == ({"seq": str(int(b[1:]))} if int(b[1:]) % 3 == 0 else None) for b, p in c.got))
print("files left", sorted(os.listdir(D)))
# An outbox that drained starts a new segment: the old one is gone.
box.put("after")
box.flush(c)
print("drained again", len(box), box.bytes, sorted(os.listdir(D)))

# A batch's bodies stay under half the client's max_size.
c = Client()
c.max_size = 1000
for i in range(5):
    box.put("%03d" % i + "y" * 200)
box.put("small")
print("batches under max_size // 2:", box.flush(c, batch=10), c.batches, [b[:3] for b, p in c.got])


def err(f, *a, **k):
    try:
        f(*a, **k)
        print("no error")
    except Exception as e:
        print(type(e).__name__, e)


err(box.put, 5)
err(box.put, None)
err(box.put, "x", [("a", "b")])
err(box.put, "x", {"a": None})
err(box.put, "x", {"a": b"b"})
err(box.put, "x", {1: "b"})
err(box.put, "x", {"": "b"})
err(box.put, "x" * 2000)  # at most max_bytes // 8 - 9 = 1015
err(box.put, "x" * 1015)
err(box.flush, c, batch=0)
err(Outbox, D, policy="oldest")
err(Outbox, D, max_bytes=1000)
err(Outbox, D, max_bytes="64k")
err(Outbox, None)
with open(ROOT + "/afile", "w") as f:
    f.write("not a directory")
err(Outbox, ROOT + "/afile")
err(Outbox, ROOT + "/no/such/dir")
print("OutboxFull is an OSError:", issubclass(OutboxFull, OSError))
vfs.umount(ROOT)
