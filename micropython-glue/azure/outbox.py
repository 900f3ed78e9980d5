# A durable outbox: events put here survive a reset or a power cut and are
# sent later, oldest first, at least once (README: "Store and forward").
#
# On flash, in the outbox's directory:
#   <n>.log  segments, appended to only; n is the sequence number of the
#            segment's first event (events are numbered from 0 for the life
#            of the outbox, so a missing part shows). Each record is
#            length (4 bytes LE, of the payload), CRC-32 (4 bytes LE, of the
#            length bytes then the payload), payload: number of properties
#            (1 byte), each as key length (1), key, value length (2 LE),
#            value (UTF-8), then the body.
#   ack0, ack1  the delivered prefix, written in turn (a torn write leaves the
#            other valid): generation, segment, offset and sequence number of
#            the first undelivered event, events dropped (4 bytes LE each),
#            CRC-32 of those 20 bytes. The newer valid one counts.
# Opening scans the log from the delivered point with a small buffer. A torn
# or corrupt record ends its segment: it is never read past, nor appended to
# (no truncate() in MicroPython, and no copy and rename: on FAT a reset in a
# rename can leave two names on one cluster chain); the log goes on only in
# a segment named with the next sequence number, which the next put starts.
# So the first bad record cuts off everything after it, except what is put
# after that open. Only counters stay in RAM.
import os
from _azure import crc32

_osync = getattr(os, "sync", None)
try:
    _NUM = (int, bool, float)
except NameError:  # the WiPy: no floats
    _NUM = (int, bool)


class OutboxFull(OSError):
    """Outbox.put() with policy="reject" on a full outbox: the event was not stored."""


def _le(n, k=4):
    return n.to_bytes(k, "little")


def _u32(b, i):
    return b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24


def _sync(f):
    f.flush()
    if _osync:
        _osync()


class Outbox:
    def __init__(self, path, max_bytes=65536, policy="drop_oldest"):
        if not isinstance(path, str) or not path:
            raise TypeError("path must be a directory name (str)")
        if not isinstance(max_bytes, int) or max_bytes < 4096:
            raise ValueError("max_bytes must be an int of at least 4096")
        if policy not in ("drop_oldest", "reject"):
            raise ValueError('policy must be "drop_oldest" or "reject"')
        self._dir = path
        self.max_bytes = max_bytes
        self._seg_max = max_bytes // 8
        self._reject = policy == "reject"
        self._h = bytearray(8)
        self._hv = memoryview(self._h)
        self._bv = memoryview(bytearray(128))
        try:
            os.mkdir(path)
        except OSError:
            pass
        try:
            self._load()
        except (OSError, ValueError) as e:  # ValueError: names a damaged FAT cannot decode
            raise OSError("outbox: cannot use directory %s: %s %s" % (path, type(e).__name__, e))

    def _p(self, name):  # a segment by number, other files by name
        return self._dir + "/" + (name if isinstance(name, str) else "%d.log" % name)

    def _load(self):
        segs = sorted(int(n[:-4]) for n in os.listdir(self._dir) if n.endswith(".log") and n[:-4].isdigit())
        best = None
        for i in (0, 1):
            try:
                with open(self._p("ack%d" % i), "rb") as f:
                    b = f.read(24)
                if len(b) == 24 and crc32(b[:20]) == _u32(b, 20) and (not best or _u32(b, 0) > _u32(best, 0)):
                    best = b
            except OSError:
                pass
        if best:
            self._gen, hs, ho, q, self.dropped = [_u32(best, i) for i in range(0, 20, 4)]
        else:
            self._gen, ho, self.dropped = 0, 0, 0
            hs = q = segs[0] if segs else 0
        self._hs = self._tail = hs
        self._hseq = q
        self._ho = self._tsize = self.bytes = self._count = 0
        for s in segs:
            if s < hs or s > hs and s != q:  # delivered, or not where the log goes on
                os.remove(self._p(s))
                continue
            if s > hs and not self._count:  # the head segment is gone: start here
                self._hs = self._hseq = s
                self._ho = 0
            off, n, size = self._scan(s, ho if s == hs else 0)
            if not off:  # nothing valid in it (a put cut short in a new segment)
                os.remove(self._p(s))
                continue
            if s == hs:
                self._ho = min(ho, size)
            q += n
            self._count += n
            # A torn or corrupt end: full, the next put starts segment q.
            self._tail, self._tsize = s, off if off == size else self._seg_max
            self.bytes += size
        if not self._count:  # nothing pending (a reset before the delivered were deleted)
            for s in segs:
                try:
                    os.remove(self._p(s))
                except OSError:
                    pass
            self._hs = self._tail = self._hseq
            self._ho = self._tsize = self.bytes = 0

    def _scan(self, s, off):
        # Counts the valid records of segment s from off: (end, count, size).
        n = 0
        with open(self._p(s), "rb") as f:
            size = f.seek(0, 2)
            off = min(off, size)
            f.seek(off)
            while off < size:
                k = self._read(f, size - off, False)
                if k is None:
                    break
                off += 8 + k
                n += 1
        return off, n, size

    def _read(self, f, left, keep):
        # The next record of f (`left` bytes before the end): its payload
        # (keep) or payload length, or None if it is torn or corrupt.
        h = self._h
        if left < 8 or f.readinto(h) != 8:
            return None
        n = _u32(h, 0)
        if not 0 < n <= left - 8:
            return None
        c = crc32(self._hv[:4])
        if keep:
            p = f.read(n)
            c = crc32(p, c)
        else:
            p = k = n
            b = self._bv
            while k:
                m = f.readinto(b[:min(k, len(b))])
                if not m:
                    return None
                c = crc32(b[:m], c)
                k -= m
        return p if c == _u32(h, 4) else None

    def __len__(self):
        return self._count

    def put(self, body, properties=None):
        """Stores one event; durable on flash when this returns."""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, (bytes, bytearray, memoryview)):
            raise TypeError("body must be str or bytes")
        p = bytearray(1)
        if properties is not None:
            if not isinstance(properties, dict):
                raise TypeError("properties must be a dict or None")
            if len(properties) > 255:
                raise ValueError("at most 255 properties")
            p[0] = len(properties)
            for k, v in properties.items():
                if not isinstance(k, str):
                    raise TypeError("property names must be str")
                if not isinstance(v, str):
                    if not isinstance(v, _NUM):
                        raise TypeError("property values must be str, int or bool")
                    v = str(v)
                k = k.encode()
                v = v.encode()
                if not 0 < len(k) < 256 or len(v) > 65535:
                    raise ValueError("property names must be 1 to 255 bytes, values at most 65535")
                p += _le(len(k), 1) + k + _le(len(v), 2) + v
        p += body
        r = len(p) + 8
        if r > self._seg_max:
            raise ValueError("event of %d bytes too large for this outbox (at most max_bytes // 8 - 9)" % (r - 9))
        if not self._tsize or self._tsize + r > self._seg_max:  # start a new segment
            self._tail = self._hseq + self._count
            self._tsize = 0
        while self.bytes + r > self.max_bytes:
            if self._reject:
                raise OutboxFull("outbox full (%d of %d bytes): flush it first" % (self.bytes, self.max_bytes))
            self._drop()
        c = crc32(p, crc32(_le(len(p))))
        try:
            with open(self._p(self._tail), "ab") as f:
                f.write(_le(len(p)) + _le(c))
                f.write(p)
                _sync(f)
        except OSError as e:  # a partial record must not stay before the next ones
            try:
                self._load()
            except OSError:
                pass
            raise e
        self._tsize += r
        self.bytes += r
        self._count += 1

    def _drop(self):
        # Drops the oldest segment's undelivered events (counted in `dropped`).
        n = self._scan(self._hs, self._ho)[1]
        self.dropped += n
        self._count -= n
        q = self._hseq + n
        self._advance(q, 0, q)

    def _advance(self, s, o, q):
        # Records durably that the events before sequence number q (segment
        # s, offset o) were delivered or dropped, then removes the segments
        # before s.
        if not self._count:  # all delivered: the next put starts a new segment
            s, o = q, 0
            self._tail, self._tsize = s, 0
        self._gen += 1
        b = _le(self._gen) + _le(s) + _le(o) + _le(q) + _le(self.dropped)
        p = self._p("ack%d" % (self._gen & 1))
        try:
            f = open(p, "r+b")
        except OSError:
            f = open(p, "wb")
        with f:
            f.write(b + _le(crc32(b)))
            _sync(f)
        if s != self._hs:
            for n in os.listdir(self._dir):
                if n.endswith(".log") and n[:-4].isdigit() and int(n[:-4]) < s:
                    p = self._p(n)
                    self.bytes -= os.stat(p)[6]
                    os.remove(p)
        self._hs, self._ho, self._hseq = s, o, q

    def flush(self, client, batch=50, max_events=None):
        """Sends the queued events, oldest first, in batches through
        client.send_batch; removes each batch once the service acknowledged
        it. Returns how many were delivered. A failed send (azure.SendError)
        is raised after the batches before it were recorded as delivered;
        the rest stays queued. With an asyncio client (azure.aio, whose
        send_batch is a coroutine) it returns an awaitable that does the
        same without blocking the loop: `n = await box.flush(client)`."""
        if not isinstance(batch, int) or batch < 1:
            raise ValueError("batch must be a positive int")
        # A batch's bodies stay under half the client's request size limit
        # (the batch format adds framing and escapes).
        room = getattr(client, "max_size", 262144) // 2
        if hasattr(client, "__aenter__"):  # an asyncio client (azure.aio): a coroutine, even with nothing queued
            from .aio_http import flush

            return flush(self, client, batch, max_events, room)
        sent = 0
        while True:
            b = self._take(batch, max_events, sent, room)
            if b is None:
                return sent
            client.send_batch(b[0])
            sent += self._sent(b)

    def _take(self, batch, max_events, sent, room):
        # The next batch to send, oldest first: (events, segment, offset,
        # sequence number after it), or None when none goes now.
        if not self._count or (max_events is not None and sent >= max_events):
            return None
        want = min(batch, self._count) if max_events is None else min(batch, self._count, max_events - sent)
        evs = []
        s, o, q = self._hs, self._ho, self._hseq
        f = None
        bad = False
        left = room
        try:
            while len(evs) < want:
                if f is None:
                    try:
                        if s > self._tail:
                            raise OSError
                        f = open(self._p(s), "rb")
                    except OSError:
                        bad = True
                        break
                    size = f.seek(0, 2)
                    f.seek(o)
                p = self._read(f, size - o, True)
                if p is None:  # the end of this segment (or a torn record there)
                    f.close()
                    f = None
                    s, o = q, 0
                    continue
                if evs and len(p) > left:
                    break
                left -= len(p)
                evs.append(_event(p))
                o += 8 + len(p)
                q += 1
        finally:
            if f:
                f.close()
        if bad:  # damaged since it was opened: reopen
            self._load()
            return None
        return evs, s, o, q

    def _sent(self, b):
        # Records durably that batch b (from _take) was delivered; its size.
        n = len(b[0])
        b[0].clear()  # (its events go before the bookkeeping writes)
        self._count -= n
        self._advance(b[1], b[2], b[3])
        return n


def _event(p):
    n = p[0]
    i = 1
    props = {}
    while n:
        k = p[i]
        key = str(p[i + 1:i + 1 + k], "utf-8")
        i += 1 + k
        v = p[i] | p[i + 1] << 8
        props[key] = str(p[i + 2:i + 2 + v], "utf-8")
        i += 2 + v
        n -= 1
    body = memoryview(p)[i:]
    return (body, props) if props else body
