"""The outbox tests' common ground (tests/micropython/outbox_*.py): a RAM
file system (FAT or littlefs on a RAM block device, or a small RAM VFS where
the port has neither, as on the qemu board) mounted for the test, and a
client that records what send_batch got. Prints SKIP and stops the test on a
port that cannot run it. Imported from tests/lib (unix: MICROPYPATH; the
qemu twins: /flash/lib)."""
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
        # One slice assignment (it grows the file as needed): appending byte
        # by byte regrew the bytearray in small steps and fragmented the
        # heap the package shares with this stand-in on the qemu twin.
        self.d[self.p:self.p + len(b)] = b
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
