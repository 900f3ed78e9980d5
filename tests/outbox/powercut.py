# Power cut at every block write (issue 10), on FAT as on the WiPy's /flash:
#
#   micropython tests/outbox/powercut.py [EVENTS] [erase]
#
# A workload (puts in bursts, flushes in batches to a fake client, the
# outbox reopened now and then) runs on VfsFat over a RAM block device of
# 512-byte sectors. Run k stops the device at its k-th sector write: that
# write lands half-done (a torn sector), the write raises, and nothing after
# it reaches the device. Then "reboot": a fresh VfsFat on a copy of the
# device, the outbox opened and drained. For every k from 1 to the number of
# writes of the whole workload: opening never fails, every event whose put
# returned before the cut is delivered (before or after the reboot), in order
# (first occurrences), byte for byte. FatFs itself is not transactional: a
# cut can leak a cluster, and that is all it may do here.
#
# With "erase", the cut instead leaves the whole 4 KB erase block around the
# sector erased (0xFF), as a serial flash that erases before it programs can
# (the WiPy's block driver rewrites 4 KB blocks without SimpleLink's fail-safe
# mode). That destroys data the write did not cover, FAT's own tables too:
# this mode reports what is lost and fails only if garbage or a reordering is
# delivered, or opening raises anything but OSError.
import os
import sys

import azure
import vfs

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 150
ERASE = "erase" in sys.argv[2:]
SECTOR = 512


class Disk:
    def __init__(self, blocks, cut_at=0, data=None):
        self.data = bytearray(data) if data else bytearray(blocks * SECTOR)
        self.cut_at = cut_at  # 0: never
        self.writes = 0
        self.after = False

    def readblocks(self, n, buf):
        if self.after:  # a dead device (file finalisers run with the heap locked)
            return
        a = n * SECTOR
        buf[:] = self.data[a:a + len(buf)]

    def writeblocks(self, n, buf):
        for i in range(len(buf) // SECTOR):
            self.writes += 1
            a = (n + i) * SECTOR
            if self.cut_at and self.writes >= self.cut_at:
                if self.writes == self.cut_at:  # torn: the first half only
                    self.data[a:a + SECTOR // 2] = buf[i * SECTOR:i * SECTOR + SECTOR // 2]
                    if ERASE:
                        e = a - a % 4096
                        self.data[e:e + 4096] = b"\xff" * 4096
                # EIO while the workload runs; afterwards (file finalisers,
                # umount) the writes are just lost, quietly.
                return self.after
            self.data[a:a + SECTOR] = buf[i * SECTOR:(i + 1) * SECTOR]

    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // SECTOR
        if op == 5:
            return SECTOR


class Client:
    def __init__(self, got):
        self.got = got

    def send_batch(self, events):
        for ev in events:
            self.got.append((bytes(ev[0]), ev[1]))
        return 201


def body(i):
    return b'{"seq":%d,"x":"%s"}' % (i, b"abcdefgh"[i % 8:] * (i % 5))


def workload(root, confirmed, got):
    # Deterministic: the same writes in the same order on every run.
    box = azure.Outbox(root + "/box", max_bytes=4096)
    i = 0
    burst = 0
    while i < EVENTS:
        for _ in range(1 + burst % 7):
            if i < EVENTS:
                box.put(body(i), {"i": i})
                confirmed.append(i)
                i += 1
        burst += 1
        if burst % 3 == 0:
            box.flush(Client(got), batch=4)
        if burst % 5 == 0:
            box = azure.Outbox(root + "/box", max_bytes=4096)
    box.flush(Client(got), batch=4)


def fresh(blocks=128):
    d = Disk(blocks)
    vfs.VfsFat.mkfs(d)
    return d


def run(cut_at, base):
    d = Disk(0, cut_at, base.data)
    vfs.mount(vfs.VfsFat(d), "/pc")
    confirmed, got = [], []
    cut = False
    try:
        workload("/pc", confirmed, got)
    except OSError:  # the cut, possibly wrapped by the outbox's message
        if not (cut_at and d.writes >= cut_at):
            raise
        cut = True
    d.after = True
    try:
        vfs.umount("/pc")
    except OSError:
        pass
    # Reboot: what the device holds, with fresh file system state.
    d2 = Disk(0, 0, d.data)
    try:
        vfs.mount(vfs.VfsFat(d2), "/pc")
    except OSError:
        return cut, d.writes, "file system lost"
    try:
        box = azure.Outbox("/pc/box", max_bytes=4096)
        box.flush(Client(got), batch=16)
        left = len(box)
    except OSError as e:
        return cut, d.writes, "outbox unusable: %s" % e
    finally:
        vfs.umount("/pc")
    first, seen = [], set()
    for b, p in got:
        i = int(p["i"])
        if b != body(i) or p != {"i": str(i)}:
            return cut, d.writes, "corrupt event %r %r" % (b, p)
        if i not in seen:
            seen.add(i)
            first.append(i)
    if first != sorted(first):
        return cut, d.writes, "out of order: %s" % first
    missing = [i for i in confirmed if i not in seen]
    if missing or left:
        return cut, d.writes, "missing %d events (%d left)" % (len(missing), left)
    return cut, d.writes, None


base = fresh()
cut, total, err = run(0, base)
print("workload: %d events, %d sector writes, %s" % (EVENTS, total, err or "ok"))
bad = 0
outcomes = {}
for k in range(1, total + 1):
    cut, _, err = run(k, base)
    if not ERASE and (err or not cut):
        print("cut at write %d: %s" % (k, err or "no cut"))
    if err and (not ERASE or err.startswith("corrupt") or err.startswith("out of order")):
        bad += 1
    kind = (err or "nothing lost").split(" ")[0]
    outcomes[kind] = outcomes.get(kind, 0) + 1
print("power cut at every one of %d sector writes%s: %d failures; outcomes %s"
      % (total, " (4 KB block erased)" if ERASE else "", bad, sorted(outcomes.items())))
sys.exit(1 if bad or err else 0)
