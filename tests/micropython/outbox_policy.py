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
