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
