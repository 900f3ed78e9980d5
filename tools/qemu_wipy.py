#!/usr/bin/env python3
"""Runs MicroPython tests on the qemu twin of the WiPy (make qemu-wipy).

The twin's firmware freezes nothing: like the board, it loads the azure
package from /flash/lib. This tool builds that file system as a ROMFS image
(the .mpy files `make wipy` builds for /flash/lib/azure, plus the scripted
stand-ins for the cc3200's socket, ssl and time modules from
tests/qemu-wipy/lib), has qemu load it into RAM at ROMFS_ADDR, and runs each
test with a two-line prelude that mounts it at /flash and puts /flash/lib on
sys.path.

  tools/qemu_wipy.py romfs OUT.img --lib build/wipy/lib --fakes tests/qemu-wipy/lib
  tools/qemu_wipy.py test --elf E --romfs IMG --micropy-dir D --results R DIR_OR_FILE...
  tools/qemu_wipy.py run --elf E --romfs IMG SCRIPT     (prints the script's output)

The same serves the dynamic native module's tests (make natmod-test) on
other qemu boards: `--board` picks the machine and where the image goes in
its RAM (MPS2_AN386 by default); `romfs --add F` puts more files (the
_azure.mpy under test) in /flash/lib and `--overlay DIR` appends DIR's
.py files to the fakes of the same name.
"""

import argparse
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile

# board: (qemu system, machine, extra arguments, where the image goes in RAM)
BOARDS = {
    # 3 MB into the MPS2's 4 MB of RAM: above firmware and heap, below the stack
    "MPS2_AN386": ("arm", "mps2-an386", "", 0x300000),
    "MPS2_AN386_HF": ("arm", "mps2-an386", "", 0x300000),
    "MPS2_AN385": ("arm", "mps2-an385", "", 0x300000),
    # virt's RAM starts at 0x80000000 (128 MB); the firmware ends with its stack at 0x80610000
    "VIRT_RV32": ("riscv32", "virt", "-bios none ", 0x80800000),
    # nRF51 (Cortex-M0) with the flash and RAM the port's board file asks
    # qemu for (1 MB, 256 KB): the image goes in flash, 768 KB in, above
    # the firmware, as a board's file system is
    "MICROBIT": ("arm", "microbit", "-global nrf51-soc.flash-size=1048576 -global nrf51-soc.sram-size=262144 ",
                 0xC0000),
}
BOARD = "MPS2_AN386"


def prelude(size, board=BOARD, copy=False):
    rom = "vfs.mount(vfs.VfsRom(uctypes.bytearray_at(%#x, %d)), '%s')\n"
    if not copy:
        return ("import vfs, uctypes, sys; " + rom % (BOARDS[board][3], size, "/flash") +
                "sys.path.append('/flash/lib')\n")
    # --copy: as on the WiPy, where /flash is FAT on serial flash, an import
    # copies the package's bytecode and strings into the heap; an import from
    # a ROMFS runs the .mpy in place and would hide what the board holds. So
    # the ROMFS goes to /rom and /flash/lib is a file system whose files are
    # plain streams over the ROMFS files, which nothing can map. They are
    # read in the importer's small chunks, as from FAT: no whole-file copy.
    return ("import vfs, uctypes, sys, os, io, gc\n" + rom % (BOARDS[board][3], size, "/rom") +
            "class _Stream(io.IOBase):\n"
            " def __init__(s, f): s.f = f\n"
            " def readinto(s, b): return s.f.readinto(b)\n"
            " def read(s, *a): return s.f.read(*a)\n"
            " def close(s): s.f.close()\n"
            " def __enter__(s): return s\n"
            " def __exit__(s, *a): s.f.close()\n"
            " def ioctl(s, op, arg):\n"
            "  if op == 4: s.f.close()\n"
            "  return 0\n"
            "class _CopyFS:\n"
            " def mount(s, *a): pass\n"
            " def umount(s): pass\n"
            " def stat(s, p): return os.stat('/rom/lib' + p)\n"
            " def ilistdir(s, p): return os.ilistdir('/rom/lib' + p)\n"
            " def open(s, p, m): return _Stream(open('/rom/lib' + p, 'rb'))\n"
            "vfs.mount(_CopyFS(), '/flash/lib'); sys.path.append('/flash/lib')\n"
            "del _CopyFS; gc.collect()\n")


def qemu_cmd(elf, romfs, board=BOARD):
    system, machine, extra, addr = BOARDS[board]
    return ("qemu-system-%s -machine %s %s-nographic -monitor null -semihosting -serial pty -kernel %s "
            "-device loader,file=%s,addr=%#x" % (system, machine, extra, elf, romfs, addr))


def build_romfs(out, lib, fakes, micropy_dir, add=(), overlay=None, compile_fakes=False):
    sys.path.insert(0, os.path.join(micropy_dir, "tools", "mpremote"))
    from mpremote.romfs import make_romfs

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(lib, os.path.join(tmp, "lib"))
        for name in sorted(os.listdir(fakes)):
            if name.endswith(".py"):
                shutil.copy(os.path.join(fakes, name), os.path.join(tmp, "lib", name))
        for f in add:
            shutil.copy(f, os.path.join(tmp, "lib", os.path.basename(f)))
        for name in sorted(os.listdir(overlay)) if overlay else ():
            if name.endswith(".py"):
                with open(os.path.join(overlay, name)) as src, open(os.path.join(tmp, "lib", name), "a") as dst:
                    dst.write("\n" + src.read())
        if compile_fakes:
            # The stand-ins as bytecode: compiling them on the board takes more
            # of a small heap than the tests and leaves it fragmented.
            mpy_cross = os.path.join(micropy_dir, "mpy-cross", "build", "mpy-cross")
            for name in sorted(os.listdir(os.path.join(tmp, "lib"))):
                if name.endswith(".py"):
                    src = os.path.join(tmp, "lib", name)
                    subprocess.run([mpy_cross, "-o", src[:-3] + ".mpy", "-s", name, src], check=True)
                    os.remove(src)
        with contextlib.redirect_stdout(io.StringIO()):
            img = make_romfs(tmp, mpy_cross=False)
    with open(out, "wb") as f:
        f.write(img)
    print("romfs: %s, %d bytes" % (os.path.relpath(out), len(img)))


def wrapped_tests(paths, romfs, tmp, board=BOARD, copy=False):
    # Copies each test (and its .exp) with the prelude in front.
    head = prelude(os.path.getsize(romfs), board, copy)
    out = []
    for p in paths:
        files = [os.path.join(p, f) for f in sorted(os.listdir(p)) if f.endswith(".py")] if os.path.isdir(p) else [p]
        for f in files:
            dst = os.path.join(tmp, os.path.basename(f))
            with open(f) as src, open(dst, "w") as d:
                d.write(head + src.read())
            if os.path.exists(f + ".exp"):
                shutil.copy(f + ".exp", dst + ".exp")
            out.append(dst)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("romfs")
    r.add_argument("out")
    r.add_argument("--lib", required=True)
    r.add_argument("--fakes", required=True)
    r.add_argument("--micropy-dir", required=True)
    r.add_argument("--add", action="append", default=[], help="a file to put in /flash/lib too")
    r.add_argument("--overlay", help="a directory of .py files appended to the fakes of the same name")
    r.add_argument("--compile-fakes", action="store_true", help="the fakes (and --add files) as .mpy, compiled here")
    t = sub.add_parser("test")
    t.add_argument("--elf", required=True)
    t.add_argument("--romfs", required=True)
    t.add_argument("--micropy-dir", required=True)
    t.add_argument("--results", required=True)
    t.add_argument("paths", nargs="+")
    u = sub.add_parser("run")
    u.add_argument("--elf", required=True)
    u.add_argument("--romfs", required=True)
    u.add_argument("--micropy-dir", required=True)
    u.add_argument("script")
    for p in (t, u):
        p.add_argument("--board", default=BOARD, choices=sorted(BOARDS))
        p.add_argument("--copy", action="store_true",
                       help="imports copy the package into the heap, as from the WiPy's FAT (not run in place)")
    a = ap.parse_args()

    if a.cmd == "romfs":
        build_romfs(a.out, a.lib, a.fakes, a.micropy_dir, a.add, a.overlay, a.compile_fakes)
        return 0
    tests_dir = os.path.join(a.micropy_dir, "tests")
    with tempfile.TemporaryDirectory() as tmp:
        if a.cmd == "test":
            # A stable place, so that results name the tests as they are.
            tmp = os.path.join(os.path.dirname(os.path.abspath(a.romfs)), "tests")
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp)
            files = wrapped_tests(a.paths, a.romfs, tmp, a.board, a.copy)
            cmd = [sys.executable, "./run-tests.py", "-t", "execpty:" + qemu_cmd(a.elf, a.romfs, a.board),
                   "-r", a.results] + files
            return subprocess.call(cmd, cwd=tests_dir)
        script = wrapped_tests([a.script], a.romfs, tmp, a.board, a.copy)[0]
        # pyboard (MicroPython's own tool) boots the board and runs the script.
        sys.path.insert(0, os.path.join(a.micropy_dir, "tools"))
        import pyboard

        pyb = pyboard.Pyboard("execpty:" + qemu_cmd(a.elf, a.romfs, a.board))
        try:
            pyb.enter_raw_repl()
            with open(script, "rb") as f:
                out = pyb.exec_(f.read())
        finally:
            pyb.close()
        sys.stdout.write(out.decode())
        return 0


if __name__ == "__main__":
    sys.exit(main())
