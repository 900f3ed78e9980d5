#!/usr/bin/env python3
"""Footprint of the _azure module in a firmware image, from GNU ld link maps.

Compares the firmware built with the module against the stock firmware built
from the same MicroPython source and prints, and writes as JSON:

  module_bytes       image growth (mcuimg.bin with module - stock)
  module_own_bytes   what the module itself adds (module_bytes without the
                     stock objects the board's options remove: trimmed_bytes)
  image_bytes        size of the image with the module
  stock_image_bytes  size of the stock image
  heap_bytes         MicroPython heap of the module build (heap_end - heap_start)
  stock_heap_bytes   the same for the stock build
  components         where the growth comes from:
      rust               the Rust archive's own code and data (every object of
                         the archive except compiler_builtins), split by crate
      compiler_builtins  what the archive's compiler_builtins still contributes
      glue_c             the C glue (objects under micropython-glue/), per file
      qstr_pool          growth of py/qstr.o (the ROM qstr pool: names of the
                         module, its functions and keyword arguments)
      firmware_other     growth of every other firmware object or library
                         member (module table, ROM text compression dictionary,
                         libgcc members that appear or disappear, ...)
      fill_and_alignment padding between input and output sections

With --shipped-map/--shipped-elf/--shipped-image (the image the board gets,
built with link-time optimisation, whose map no longer says which object
each byte came from), the breakdown above is of the build given with --map
(the same firmware without LTO), and image_bytes, module_bytes and the heap
are the shipped image's; lto_bytes is what LTO took off (shipped - analysed).
The image limit applies to the shipped image.

Everything linked is measured: nothing lists the Rust files, so new Rust
modules are counted as soon as they are linked.

The image is what `objcopy -O binary` writes: every allocated section between
the lowest and the highest byte of the loadable (PROGBITS) sections, .bss
included when it lies between them (it does on the cc3200), plus
--image-trailer bytes (appsign.sh appends a 32-byte MD5 to mcuimg.bin).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict

SECTION_RE = re.compile(r"^ (\S+)\s+(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)\s+(\S.*)$")
WRAPPED_NAME_RE = re.compile(r"^ (\S+)\s*$")
WRAPPED_REST_RE = re.compile(r"^\s+(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)\s+(\S.*)$")
FILL_RE = re.compile(r"^ \*fill\*\s+(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)")
OUTPUT_RE = re.compile(r"^(\.\S+|/DISCARD/)(?:\s+(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+))?")
SYMBOL_RE = re.compile(r"^\s+(0x[0-9a-fA-F]+)\s+(\S+)(?:\s+=\s+.*)?$")
ARCHIVE_MEMBER_RE = re.compile(r"^(.*\.a)\((.*)\)$")


def tool(name):
    for prefix in ("arm-none-eabi-", ""):
        path = shutil.which(prefix + name)
        if path:
            return path
    return None


class LinkMap:
    """Input sections placed in output sections, from an ld -Map file."""

    def __init__(self, path):
        self.path = path
        self.entries = []  # (output_section, input_section, addr, size, file)
        self.fills = []  # (output_section, addr, size)
        self.outputs = {}  # name -> (addr, size)
        self.symbols = {}  # name -> addr (script assignments and globals)
        self._parse()

    def _parse(self):
        with open(self.path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        try:
            start = next(i for i, l in enumerate(lines) if l.startswith("Linker script and memory map"))
        except StopIteration:
            raise SystemExit(f"{self.path}: not a GNU ld map file (no 'Linker script and memory map')")
        out = None
        pending = None
        for line in lines[start + 1 :]:
            if not line.strip():
                continue
            m = OUTPUT_RE.match(line)
            if m:
                out = m.group(1)
                if m.group(2):
                    self.outputs[out] = (int(m.group(2), 16), int(m.group(3), 16))
                pending = None
                continue
            if pending is not None:
                m = WRAPPED_REST_RE.match(line)
                if m:
                    self._add(out, pending, m.group(1), m.group(2), m.group(3))
                    pending = None
                    continue
                pending = None
            m = FILL_RE.match(line)
            if m:
                self.fills.append((out, int(m.group(1), 16), int(m.group(2), 16)))
                continue
            m = SECTION_RE.match(line)
            if m and not line.startswith(" *"):
                self._add(out, m.group(1), m.group(2), m.group(3), m.group(4))
                continue
            m = WRAPPED_NAME_RE.match(line)
            if m and not m.group(1).startswith("*") and "(" not in m.group(1):
                pending = m.group(1)
                continue
            m = SYMBOL_RE.match(line)
            if m:
                self.symbols.setdefault(m.group(2), int(m.group(1), 16))

    def _add(self, out, name, addr, size, path):
        path = path.strip()
        if path.startswith("load address"):
            return
        self.entries.append((out, name, int(addr, 16), int(size, 16), path))


def elf_sections(elf):
    """(name, type, addr, size) of the ELF's allocated sections."""
    readelf = tool("readelf")
    if not (elf and readelf and os.path.exists(elf)):
        return None
    out = subprocess.run([readelf, "-SW", elf], capture_output=True, text=True, check=True).stdout
    secs = []
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
        if m and "A" in m.group(5):
            secs.append((m.group(1), m.group(2), int(m.group(3), 16), int(m.group(4), 16)))
    return secs


def image_outputs(lmap, elf):
    """Names of the output sections inside the binary image's address range."""
    secs = elf_sections(elf)
    if secs:
        loads = [(a, a + s) for (_n, t, a, s) in secs if t == "PROGBITS" and s > 0]
        lo, hi = min(a for a, _ in loads), max(e for _, e in loads)
        return {n for (n, _t, a, s) in secs if s > 0 and a >= lo and a + s <= hi}
    # No ELF: everything between the first loadable and the last section
    # that the map places before the heap.
    return {n for n in lmap.outputs if n not in (".heap", ".stack", ".rtos_heap") and not n.startswith(".debug")}


def build_prefix(lmap):
    """The BUILD directory of the port build, found through py/qstr.o."""
    for (_o, _n, _a, _s, path) in lmap.entries:
        if path.endswith("/py/qstr.o"):
            return path[: -len("py/qstr.o")]
    return ""


def normalise(path, prefix):
    return path[len(prefix) :] if prefix and path.startswith(prefix) else path


def demangle_all(names):
    cxxfilt = tool("c++filt")
    if not cxxfilt or not names:
        return {n: n for n in names}
    out = subprocess.run([cxxfilt], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
    if len(out) != len(names):
        return {n: n for n in names}
    return dict(zip(names, out))


def crate_of(section, demangled):
    """The crate an input section of the Rust object belongs to."""
    kind, _, sym = section.lstrip(".").partition(".")
    for prefix in ("unlikely.", "hot.", "cold."):
        if sym.startswith(prefix):
            sym = sym[len(prefix) :]
    mangled = sym.startswith("_ZN") or sym.startswith("_R")
    if kind != "text" and not mangled:
        return f"(anonymous {kind})"
    if not mangled:
        return "C ABI (extern \"C\" entry points)" if sym.startswith("upy_") else sym
    d = demangled.get(sym, sym)
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[[0-9a-f]+\])?::", d)
    return m.group(1) if m else sym


class Build:
    def __init__(self, map_path, elf, image, archive_name, trailer, heap_start, heap_end):
        self.map = LinkMap(map_path)
        self.elf = elf if elf and os.path.exists(elf) else None
        self.image_bytes = os.path.getsize(image) if image and os.path.exists(image) else None
        self.prefix = build_prefix(self.map)
        self.in_image = image_outputs(self.map, self.elf)
        self.archive_name = archive_name
        if self.image_bytes is None:
            spans = [self.map.outputs[o] for o in self.in_image if o in self.map.outputs]
            self.image_bytes = max(a + s for a, s in spans) - min(a for a, _ in spans) + trailer
        self.heap_bytes = self._heap(heap_start, heap_end)
        self.by_file = defaultdict(int)
        self.sections = []  # (file, section, size) in the image
        self.fill = 0
        for (out, name, _addr, size, path) in self.map.entries:
            if out in self.in_image and size:
                f = normalise(path, self.prefix)
                self.by_file[f] += size
                self.sections.append((f, name, size))
        for (out, _addr, size) in self.map.fills:
            if out in self.in_image:
                self.fill += size
        self.counted = sum(self.by_file.values()) + self.fill

    def _heap(self, start, end):
        syms = dict(self.map.symbols)
        nm = tool("nm")
        if self.elf and nm:
            out = subprocess.run([nm, self.elf], capture_output=True, text=True).stdout
            for line in out.splitlines():
                parts = line.split()
                if len(parts) == 3:
                    syms[parts[2]] = int(parts[0], 16)
        if start in syms and end in syms:
            return syms[end] - syms[start]
        return None

    def classify(self, f):
        m = ARCHIVE_MEMBER_RE.match(f)
        if m and os.path.basename(m.group(1)) == self.archive_name:
            member = m.group(2)
            if member.startswith("compiler_builtins") or re.match(r"^[0-9a-f]{16}-", member):
                return "compiler_builtins"
            return "rust"
        if "micropython-glue/" in f:
            return "glue_c"
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--map", required=True, help="link map of the firmware with the module")
    ap.add_argument("--elf", help="ELF of the firmware with the module")
    ap.add_argument("--image", help="binary image with the module (e.g. mcuimg.bin)")
    ap.add_argument("--stock-map", required=True)
    ap.add_argument("--stock-elf")
    ap.add_argument("--stock-image")
    ap.add_argument("--archive-name", default="libupy_azure.a", help="file name of the Rust archive")
    ap.add_argument("--image-trailer", type=int, default=32, help="bytes appended after the binary (MD5 on cc3200)")
    ap.add_argument("--heap-start", default="_boot", help="symbol where the MicroPython heap starts (cc3200: gc_init(&_boot, &_eheap))")
    ap.add_argument("--heap-end", default="_eheap")
    ap.add_argument("--json", help="write the result here")
    ap.add_argument("--max-module-bytes", type=int, help="fail if module_bytes exceeds this")
    ap.add_argument("--max-image-bytes", type=int, help="fail if the image exceeds this")
    ap.add_argument("--top", type=int, default=12, help="how many firmware objects and Rust crates to list")
    ap.add_argument("--shipped-map", help="link map of the image the board gets (LTO), if not --map's")
    ap.add_argument("--shipped-elf")
    ap.add_argument("--shipped-image")
    args = ap.parse_args()

    mod = Build(args.map, args.elf, args.image, args.archive_name, args.image_trailer, args.heap_start, args.heap_end)
    stock = Build(args.stock_map, args.stock_elf, args.stock_image, args.archive_name, args.image_trailer, args.heap_start, args.heap_end)

    shipped = mod
    if args.shipped_map:
        shipped = Build(args.shipped_map, args.shipped_elf, args.shipped_image, args.archive_name, args.image_trailer,
                        args.heap_start, args.heap_end)
    lto_bytes = shipped.image_bytes - mod.image_bytes
    module_bytes = mod.image_bytes - stock.image_bytes
    comps = defaultdict(int)
    glue_files = defaultdict(int)
    firmware_delta = {}
    for f in set(mod.by_file) | set(stock.by_file):
        cls = mod.classify(f)
        if cls:
            comps[cls] += mod.by_file.get(f, 0)
            if cls == "glue_c":
                glue_files[os.path.basename(f)] += mod.by_file[f]
            continue
        d = mod.by_file.get(f, 0) - stock.by_file.get(f, 0)
        if d:
            firmware_delta[f] = d
    qstr = sum(d for f, d in firmware_delta.items() if f == "py/qstr.o")
    other = sum(d for f, d in firmware_delta.items() if f != "py/qstr.o")
    # Objects of the stock firmware that the module build has no more: the
    # features the board's firmware options turn off (the WiPy: re, help).
    removed = {f: -stock.by_file[f] for f in stock.by_file if f not in mod.by_file and stock.by_file[f]}
    trimmed = sum(removed.values())

    rust_sections = [(s, n) for (f, s, n) in mod.sections if mod.classify(f) == "rust"]
    names = sorted({s.split(".", 2)[-1] for s, _ in rust_sections})
    names = sorted({re.sub(r"^(unlikely|hot|cold)\.", "", n) for n in names})
    demangled = demangle_all(names)
    by_crate = defaultdict(int)
    for s, n in rust_sections:
        by_crate[crate_of(s, demangled)] += n

    fill_delta = mod.fill - stock.fill
    residual = module_bytes - (comps["rust"] + comps["compiler_builtins"] + comps["glue_c"] + qstr + other + fill_delta)

    components = {
        "rust": comps["rust"],
        "rust_by_crate": dict(sorted(by_crate.items(), key=lambda kv: -kv[1])),
        "compiler_builtins": comps["compiler_builtins"],
        "glue_c": comps["glue_c"],
        "glue_by_file": dict(sorted(glue_files.items())),
        "qstr_pool": qstr,
        "firmware_other": other,
        "firmware_other_by_object": dict(sorted(((f, d) for f, d in firmware_delta.items() if f != "py/qstr.o"), key=lambda kv: -abs(kv[1]))[: args.top * 2]),
        "fill_and_alignment": fill_delta + residual,
    }
    result = {
        # The shipped image's growth over stock (LTO's saving included).
        "module_bytes": module_bytes + lto_bytes,
        # What _azure itself adds: the growth without the features turned off
        # (and without LTO: measured on the analysed build).
        "module_own_bytes": module_bytes - trimmed,
        "trimmed_bytes": trimmed,
        "trimmed_objects": removed,
        "lto_bytes": lto_bytes,
        "analysed_image_bytes": mod.image_bytes,
        "image_bytes": shipped.image_bytes,
        "stock_image_bytes": stock.image_bytes,
        "heap_bytes": shipped.heap_bytes,
        "stock_heap_bytes": stock.heap_bytes,
        "heap_delta_bytes": (shipped.heap_bytes - stock.heap_bytes) if None not in (shipped.heap_bytes, stock.heap_bytes) else None,
        "components": components,
        "limits": {"max_module_bytes": args.max_module_bytes, "max_image_bytes": args.max_image_bytes},
        "map": os.path.relpath(args.map),
        "stock_map": os.path.relpath(args.stock_map),
    }

    def row(label, n, note=""):
        print(f"  {label:<28}{n:>8,d} B  {note}")

    print(f"footprint of _azure ({os.path.relpath(args.map)} vs {os.path.relpath(args.stock_map)})")
    row("stock image", stock.image_bytes)
    if shipped is not mod:
        row("image, analysed (no LTO)", mod.image_bytes)
        row("link-time optimisation", lto_bytes, os.path.relpath(args.shipped_map))
    row("image with _azure", shipped.image_bytes, f"(limit {args.max_image_bytes:,d})" if args.max_image_bytes else "")
    row("module (delta, no LTO)", module_bytes)
    row("  _azure itself", module_bytes - trimmed, f"(budget {args.max_module_bytes:,d})" if args.max_module_bytes else "")
    if trimmed:
        row("  features turned off", trimmed, " ".join(sorted(os.path.basename(f) for f in removed)))
    print("  breakdown:")
    row("  Rust code + data", comps["rust"])
    for crate, n in list(components["rust_by_crate"].items())[: args.top]:
        row(f"    {crate[:24]}", n)
    row("  compiler_builtins", comps["compiler_builtins"])
    row("  C glue", comps["glue_c"], " ".join(f"{k}={v}" for k, v in glue_files.items()))
    row("  qstr pool (py/qstr.o)", qstr)
    row("  other firmware objects", other)
    for f, d in list(components["firmware_other_by_object"].items())[:6]:
        row(f"    {f[-24:]}", d)
    row("  fill/alignment", components["fill_and_alignment"])
    if shipped.heap_bytes is not None and stock.heap_bytes is not None:
        row("heap (stock)", stock.heap_bytes, f"[{args.heap_end} - {args.heap_start}]")
        row("heap with _azure", shipped.heap_bytes, f"({shipped.heap_bytes - stock.heap_bytes:+,d})")

    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        tmp = "%s.tmp%d" % (args.json, os.getpid())
        with open(tmp, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        os.replace(tmp, args.json)
        print(f"  written to {os.path.relpath(args.json)}")

    failed = False
    if args.max_image_bytes is not None and shipped.image_bytes > args.max_image_bytes:
        print(f"FAIL: image is {shipped.image_bytes:,d} bytes, over the {args.max_image_bytes:,d} byte limit", file=sys.stderr)
        failed = True
    if args.max_module_bytes is not None and module_bytes - trimmed > args.max_module_bytes:
        print(f"FAIL: the module adds {module_bytes - trimmed:,d} bytes, over the {args.max_module_bytes:,d} byte budget", file=sys.stderr)
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
