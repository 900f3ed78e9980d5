# A RAM file system, so that the test runs the same on the unix build and
# under qemu (no /flash there), and leaves nothing behind: FAT (or littlefs)
# on a RAM block device where the port has them, else a small RAM VFS.
try:
    import os
    import vfs
    from azure import Outbox, OutboxFull
except (ImportError, AttributeError):
    print("SKIP")
    raise SystemExit


class RAMBlockDevice:
    def __init__(self, blocks, size=512):
        self.data = bytearray(blocks * size)
        self.size = size

    def readblocks(self, n, buf, off=0):
        a = n * self.size + off
        buf[:] = self.data[a:a + len(buf)]

    def writeblocks(self, n, buf, off=0):
        a = n * self.size + off
        self.data[a:a + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // self.size
        if op == 5:
            return self.size
        if op == 6:
            return 0


class RAMFile:
    def __init__(self, data, pos):
        self.d = data
        self.p = pos

    def read(self, n=-1):
        end = len(self.d) if n < 0 else min(len(self.d), self.p + n)
        b = bytes(self.d[self.p:end])
        self.p = end
        return b

    def readinto(self, buf):
        b = self.read(len(buf))
        buf[:len(b)] = b
        return len(b)

    def write(self, b):
        if isinstance(b, str):
            b = b.encode()
        d = self.d
        for i in range(len(b)):
            if self.p + i < len(d):
                d[self.p + i] = b[i]
            else:
                d.append(b[i])
        self.p += len(b)
        return len(b)

    def seek(self, off, whence=0):
        self.p = off if whence == 0 else (self.p + off if whence == 1 else len(self.d) + off)
        return self.p

    def flush(self):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        pass


class RAMVfs:
    # Files as bytearrays; FAT's rules where the outbox relies on them
    # (rename onto an existing name fails, a missing parent is ENOENT).
    def __init__(self):
        self.files = {}
        self.dirs = [""]

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def _n(self, path):
        return path.strip("/")

    def _parent_ok(self, p):
        i = p.rfind("/")
        if (p[:i] if i >= 0 else "") not in self.dirs:
            raise OSError(2)

    def ilistdir(self, path):
        p = self._n(path)
        if p not in self.dirs:
            raise OSError(2)
        pre = p + "/" if p else ""
        out = []
        for n in list(self.files) + self.dirs:
            if n and n.startswith(pre) and "/" not in n[len(pre):]:
                out.append((n[len(pre):], 0x4000 if n in self.dirs else 0x8000, 0))
        return iter(out)

    def mkdir(self, path):
        p = self._n(path)
        if p in self.dirs or p in self.files:
            raise OSError(17)
        self._parent_ok(p)
        self.dirs.append(p)

    def remove(self, path):
        p = self._n(path)
        if p not in self.files:
            raise OSError(2)
        del self.files[p]

    def rename(self, a, b):
        a, b = self._n(a), self._n(b)
        if a not in self.files:
            raise OSError(2)
        if b in self.files or b in self.dirs:
            raise OSError(17)
        self.files[b] = self.files.pop(a)

    def stat(self, path):
        p = self._n(path)
        if p in self.files:
            return (0x8000, 0, 0, 0, 0, 0, len(self.files[p]), 0, 0, 0)
        if p in self.dirs:
            return (0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        raise OSError(2)

    def statvfs(self, path):
        return (512, 512, 1000, 1000, 1000, 0, 0, 0, 0, 255)

    def open(self, path, mode):
        p = self._n(path)
        if "w" in mode:
            if p in self.dirs:
                raise OSError(21)
            self._parent_ok(p)
            self.files[p] = bytearray()
        elif p not in self.files:
            if "a" not in mode:
                raise OSError(2)
            self._parent_ok(p)
            self.files[p] = bytearray()
        d = self.files[p]
        return RAMFile(d, len(d) if "a" in mode else 0)

    def chdir(self, path):
        pass

    def getcwd(self):
        return ""


def ramfs(blocks=160):
    for cls in ("VfsFat", "VfsLfs2"):
        fs = getattr(vfs, cls, None)
        if fs:
            try:
                bdev = RAMBlockDevice(blocks)
                fs.mkfs(bdev)
                vfs.mount(fs(bdev), "/obtest")
                return "/obtest"
            except (MemoryError, OSError):
                pass
    try:
        vfs.mount(RAMVfs(), "/obtest")
        return "/obtest"
    except (OSError, TypeError):
        print("SKIP")
        raise SystemExit


ROOT = ramfs()


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
