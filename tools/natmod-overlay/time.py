# Appended to the WiPy twin's fake time module (tests/qemu-wipy/lib/time.py)
# for the dynamic module's tests (make natmod-test): a .mpy cannot know the
# firmware's epoch at build time, so _azure asks time.gmtime(0), which every
# port with a clock has. The fake counts from 2000, like the cc3200.


def gmtime(secs=None):
    secs = time() if secs is None else secs
    days, rest = divmod(secs, 86400)
    if days == 0:
        return (2000, 1, 1, rest // 3600, rest // 60 % 60, rest % 60, 5, 1)
    raise NotImplementedError("fake gmtime: only the epoch")
