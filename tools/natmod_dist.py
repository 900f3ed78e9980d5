#!/usr/bin/env python3
"""make dist: one directory per architecture that a user copies to a board
or installs with mip (issue #11).

  tools/natmod_dist.py --natmod build/natmod --lib build/wipy/lib --out build/dist --version V ARCH...

build/dist/<arch>/ gets _azure.mpy (the dynamic native module), azure/*.mpy
(the package as bytecode, the same on every architecture) and package.json
in mip's format, with URLs relative to it:
  {"urls": [["_azure.mpy", "_azure.mpy"], ["azure/__init__.mpy", "azure/__init__.mpy"], ...], "version": V}
so that `mpremote mip install build/dist/<arch>/package.json` (or the same
file served over HTTP) installs the lot into /lib.

  --base-url URL   the address build/dist/ is published at: package.json
                   then lists absolute URLs, URL/<arch>/<file>. mip 0.3.0
                   (Debian's MicroPython) cannot resolve relative ones: it
                   fails with "need more than 1 values to unpack". Newer mips
                   and `mpremote mip install` take either form.
"""

import argparse
import json
import os
import shutil
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--natmod", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--base-url", default="")
    ap.add_argument("archs", nargs="+")
    a = ap.parse_args()
    pkg = sorted(f for f in os.listdir(os.path.join(a.lib, "azure")) if f.endswith(".mpy"))
    if "__init__.mpy" not in pkg:
        sys.exit("natmod_dist: %s/azure has no __init__.mpy" % a.lib)
    for arch in a.archs:
        d = os.path.join(a.out, arch)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(os.path.join(d, "azure"))
        shutil.copy(os.path.join(a.natmod, arch, "_azure.mpy"), os.path.join(d, "_azure.mpy"))
        files = ["_azure.mpy"]
        for f in pkg:
            shutil.copy(os.path.join(a.lib, "azure", f), os.path.join(d, "azure", f))
            files.append("azure/" + f)
        with open(os.path.join(d, "package.json"), "w") as f:
            base = a.base_url.rstrip("/") + "/" + arch + "/" if a.base_url else ""
            json.dump({"urls": [[p, base + p] for p in files], "version": a.version}, f, indent=1)
            f.write("\n")
        size = sum(os.path.getsize(os.path.join(d, p)) for p in files)
        print("  %s: %d files, %d bytes" % (os.path.relpath(d), len(files), size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
