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
            self.got.append(bytes(ev[0] if isinstance(ev, tuple) else ev))
        return 201


D = ROOT + "/torn"
N = 30
BODIES = [b"event %02d " % i + b"x" * (i % 7) for i in range(N)]


def clear():
    try:
        for n in os.listdir(D):
            os.remove(D + "/" + n)
    except OSError:
        pass


def write(name, data):
    with open(D + "/" + name, "wb") as f:
        f.write(data)


def read(name):
    with open(D + "/" + name, "rb") as f:
        return f.read()


# The reference log: 30 records over two segments (max_bytes 4096: 512-byte segments).
clear()
box = Outbox(D, max_bytes=4096)
for i, b in enumerate(BODIES):
    box.put(b, {"i": i} if i % 4 == 0 else None)
SEGS = sorted(n for n in os.listdir(D) if n.endswith(".log"))
DATA = [read(n) for n in SEGS]
print("segments", len(SEGS), "bytes", [len(d) for d in DATA])
# Record ends per segment (the format: 4-byte length, 4-byte CRC, payload).
ENDS = []
for d in DATA:
    e, o = [], 0
    while o < len(d):
        o += 8 + (d[o] | d[o + 1] << 8)
        e.append(o)
    ENDS.append(e)


def check(files, expect, what):
    # Opens the damaged log: never raises, holds exactly the valid prefix,
    # and has cut the bad tail (an event put now survives a reopen after it).
    clear()
    for name, data in files:
        write(name, data)
    try:
        box = Outbox(D, max_bytes=4096)
        n = len(box)
        box.put(b"new")
        box = Outbox(D, max_bytes=4096)
        c = Client()
        box.flush(c)
    except Exception as e:
        print(what, "raised", type(e).__name__, e)
        return 1
    if n != expect or c.got != BODIES[:expect] + [b"new"]:
        print(what, "recovered", n, "events, expected", expect, c.got[-3:])
        return 1
    return 0


bad = cases = 0
for j in range(len(SEGS)):
    before = sum(len(e) for e in ENDS[:j])
    intact = [(SEGS[k], DATA[k]) for k in range(j)]
    later = [(SEGS[k], DATA[k]) for k in range(j + 1, len(SEGS))]
    d = DATA[j]
    for t in range(len(d)):
        expect = before + len([e for e in ENDS[j] if e <= t])
        bad += check(intact + [(SEGS[j], d[:t])] + later, expect, "segment %d cut at %d" % (j, t))
        cases += 1
print("truncations:", cases, "cases,", bad, "wrong")
bad = cases = 0
for j in range(len(SEGS)):
    before = sum(len(e) for e in ENDS[:j])
    intact = [(SEGS[k], DATA[k]) for k in range(j)]
    later = [(SEGS[k], DATA[k]) for k in range(j + 1, len(SEGS))]
    for x in range(len(DATA[j])):
        d = bytearray(DATA[j])
        d[x] ^= 0xFF
        expect = before + len([e for e in ENDS[j] if e <= x])
        bad += check(intact + [(SEGS[j], d)] + later, expect, "segment %d byte %d flipped" % (j, x))
        cases += 1
print("flipped bytes:", cases, "cases,", bad, "wrong")

# The ack slots: deliver 5, then 10 (two generations, one per slot), then
# damage the newer slot at every offset: the older one counts (events
# 5..9 are sent again: at least once, never lost).
clear()
for d, n in zip(DATA, SEGS):
    write(n, d)
box = Outbox(D, max_bytes=4096)
box.flush(Client(), max_events=5)
box.flush(Client(), max_events=5)
A0, A1 = read("ack0"), read("ack1")
print("after 10 delivered:", len(Outbox(D, max_bytes=4096)))
bad = cases = 0
for t in range(len(A0)):
    for flip in (False, True):
        if flip and t == len(A0):
            continue
        clear()
        for d, n in zip(DATA, SEGS):
            write(n, d)
        write("ack1", A1)
        a = bytearray(A0)
        if flip:
            a[t] ^= 0xFF
        else:
            a = a[:t]
        write("ack0", a)
        box = Outbox(D, max_bytes=4096)
        c = Client()
        box.flush(c)
        cases += 1
        if c.got != BODIES[5:]:
            bad += 1
            print("ack0", "flipped" if flip else "cut", t, "->", len(c.got))
print("damaged newer ack slot:", cases, "cases,", bad, "wrong")
clear()
for d, n in zip(DATA, SEGS):
    write(n, d)
write("ack0", b"\x00" * 24)
write("ack1", b"")
print("both slots unusable: everything again", len(Outbox(D, max_bytes=4096)) == N)

# A reset after the ack but before the delivered segment was deleted: the
# segment goes at the next open, nothing is pending, nothing is counted.
from _azure import crc32

clear()
write(SEGS[0], DATA[0])
a = bytearray(b"".join(n.to_bytes(4, "little") for n in (1, int(SEGS[0][:-4]), len(DATA[0]), len(ENDS[0]), 0)))
write("ack1", a + crc32(a).to_bytes(4, "little"))
box = Outbox(D, max_bytes=4096)
print("delivered segment left behind:", len(box), box.bytes, sorted(os.listdir(D)))
box.put(b"next")
c = Client()
Outbox(D, max_bytes=4096).flush(c)
print("then", c.got)
vfs.umount(ROOT)
