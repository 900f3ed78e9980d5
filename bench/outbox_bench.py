# azure.Outbox figures (issue 10), on the MicroPython unix build:
#
#   build/unix/micropython bench/outbox_bench.py [DIR] [N]
#
# 1. put() rate to a directory on the host's disk (DIR, default
#    /tmp/outbox-bench): every put is appended, flushed and fsync()ed.
# 2. put() rate and flash traffic on FAT over a RAM block device with 512-byte
#    sectors (the WiPy's /flash is FAT on serial flash): the sectors FatFs
#    writes per event for put, and for flush (the ack and segment removal),
#    counted at the block device, and the outbox's own bytes (records + acks).
# The event is examples/send_telemetry.py's reading (51 bytes) with its
# {"kind": "reading"} property. One RESULT line of JSON at the end.
import json
import os
import sys

import azure
import vfs

try:
    from time import ticks_ms, ticks_diff
except ImportError:
    from utime import ticks_ms, ticks_diff

DIR = sys.argv[1] if len(sys.argv) > 1 else "/tmp/outbox-bench"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
BODY = '{"seq":%d,"ts":1795716712,"temp_c":21.50,"rh":45}'
PROPS = {"kind": "reading"}


class Client:
    def send_batch(self, events):
        return 201


class CountingRAMDisk:
    def __init__(self, blocks, size=512):
        self.data = bytearray(blocks * size)
        self.size = size
        self.written = self.writes = 0

    def readblocks(self, n, buf):
        a = n * self.size
        buf[:] = self.data[a:a + len(buf)]

    def writeblocks(self, n, buf):
        a = n * self.size
        self.data[a:a + len(buf)] = buf
        self.written += len(buf)
        self.writes += 1

    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // self.size
        if op == 5:
            return self.size


def clear(d):
    try:
        for n in os.listdir(d):
            os.remove(d + "/" + n)
    except OSError:
        pass


def put_rate(d, n):
    box = azure.Outbox(d, max_bytes=1048576)
    t = ticks_ms()
    for i in range(n):
        box.put(BODY % i, PROPS)
    ms = ticks_diff(ticks_ms(), t) or 1
    return box, n * 1000 // ms


res = {"n": N, "event_body_bytes": len(BODY % 1000)}
clear(DIR)
box, res["puts_per_s_disk_fsync"] = put_rate(DIR, N)
res["record_bytes"] = box.bytes // N
t = ticks_ms()
box.flush(Client(), batch=50)
res["flush_events_per_s_disk_fsync"] = N * 1000 // (ticks_diff(ticks_ms(), t) or 1)
clear(DIR)

bdev = CountingRAMDisk(2048)  # 1 MB, as the WiPy's /flash
vfs.VfsFat.mkfs(bdev)
vfs.mount(vfs.VfsFat(bdev), "/bench")
bdev.written = bdev.writes = 0
box, res["puts_per_s_ramfat"] = put_rate("/bench/box", N)
res["fat_bytes_written_per_put"] = bdev.written // N
res["fat_sector_writes_per_put_x100"] = bdev.writes * 100 // N
bdev.written = bdev.writes = 0
for batch in (50,):
    box.flush(Client(), batch=batch)
res["fat_bytes_written_per_event_flush_batch50"] = bdev.written // N
vfs.umount("/bench")
print("outbox: %(record_bytes)d-byte record per %(event_body_bytes)d-byte event (+ 24-byte ack per batch)" % res)
print("put on the host disk (fsync each): %(puts_per_s_disk_fsync)d/s; flush to a fake client: "
      "%(flush_events_per_s_disk_fsync)d events/s" % res)
print("put on FAT in RAM: %(puts_per_s_ramfat)d/s; FAT writes %(fat_bytes_written_per_put)d bytes "
      "(%(fat_sector_writes_per_put_x100)d/100 sectors) per put, %(fat_bytes_written_per_event_flush_batch50)d "
      "bytes per event when flushed in batches of 50" % res)
print("RESULT " + json.dumps(res))
