# The cc3200 port's `time` module for the WiPy twin under qemu (which has no
# time module): seconds since 2000-01-01 like the WiPy, and a clock the
# tests move. sleep_ms advances it and records each sleep.

now = 846000000  # 2026-10-22, in seconds since 2000
_ms = [0]
slept = []


def time():
    return now + _ms[0] // 1000


def set_time(seconds_since_2000):
    global now
    now = seconds_since_2000
    _ms[0] = 0


def sleep_ms(ms):
    slept.append(ms)
    _ms[0] += ms


def sleep(s):
    sleep_ms(s * 1000)


def ticks_ms():
    return _ms[0] & 0x3FFFFFFF


def ticks_diff(a, b):
    d = (a - b) & 0x3FFFFFFF
    return d - 0x40000000 if d & 0x20000000 else d
