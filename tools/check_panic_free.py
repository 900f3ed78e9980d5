#!/usr/bin/env python3
"""Fails if a linked firmware contains Rust panic machinery.

    check_panic_free.py build/wipy/application.map [--elf build/wipy/application.elf]
    check_panic_free.py --self-test

The Rust library promises no panic path: every error is a return code. This
checks the promise on what was actually linked (after LTO and
--gc-sections), from two sources:

  * the link map: the names of the input sections placed in the output
    (with -ffunction-sections every function has its own section, local
    functions included) and the global symbols listed there. The parts of
    the map that are not the final layout ("Archive member included ...",
    "Discarded input sections") are ignored;
  * the ELF's full symbol table, local symbols included (arm-none-eabi-nm),
    when --elf is given or an ELF with the map's stem sits next to it
    (.elf, .axf).

A name is rejected when its raw (mangled) form or its demangled form
matches one of the patterns below. Raw patterns cover both Rust manglings:
legacy `_ZN4core9panicking5panic17h...E` and v0
`_RNvNtCs..._4core9panicking5panic` both contain `4core9panicking`, since
both encode a path segment as <length><identifier>. Demangled patterns
(through c++filt, which understands both schemes) catch the rest, e.g. v0
back-references.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Unmangled names of the panic runtime (the handler is #[no_mangle]-like in
# older toolchains; v0-mangled in newer ones, caught below).
EXACT_NAMES = {
    "rust_begin_unwind",
    "rust_panic",
    "__rust_start_panic",
    "rust_eh_personality",
    "__rust_alloc_error_handler",
    "__rust_abort",
}

# Substrings of mangled Rust names (legacy and v0 both spell <len><ident>).
# Only applied to mangled names, so C functions such as
# mp_seq_get_fast_slice_indexes are not mistaken for Rust panics.
RAW_PATTERNS = [
    r"rust_begin_unwind",
    r"rust_panic",
    r"__rust_start_panic",
    r"4core9panicking",
    r"4core3fmt",
    r"3std9panicking",
    r"panic_bounds_check",
    r"panic_fmt",
    r"panic_const",
    r"panic_nounwind",
    r"panic_in_cleanup",
    r"slice_(?:start_|end_)?index(?:_len|_order)?_fail",
    r"5slice5index",
    r"str_index_overflow_fail",
    r"slice_error_fail",
    r"unwrap_failed",
    r"expect_failed",
    r"assert_failed",
    r"len_mismatch_fail",
]

MANGLED_RE = re.compile(r"^(?:_ZN|__ZN|_R[A-Z])")

# Demangled forms (c++filt output, legacy `core::panicking::panic` or v0
# `core[7c3cde844ef770c5]::panicking::panic`).
DEMANGLED_PATTERNS = [
    r"\bcore(?:\[[0-9a-f]+\])?::panicking::",
    r"\bcore(?:\[[0-9a-f]+\])?::fmt::",
    r"\bcore(?:\[[0-9a-f]+\])?::slice::index::",
    r"\bcore(?:\[[0-9a-f]+\])?::str::slice_error_fail",
    r"\bcore(?:\[[0-9a-f]+\])?::(?:result|option)::(?:unwrap|expect)_failed",
    r"\bstd(?:\[[0-9a-f]+\])?::panicking::",
    r"\bpanic_bounds_check\b",
    r"\brust_begin_unwind\b",
]

RAW_RE = re.compile("|".join(RAW_PATTERNS))
DEMANGLED_RE = re.compile("|".join(DEMANGLED_PATTERNS))

SECTION_PREFIXES = (".text.unlikely.", ".text.hot.", ".text.cold.", ".text.", ".rodata.", ".data.rel.ro.", ".data.", ".bss.")


def tool(name):
    for prefix in ("arm-none-eabi-", ""):
        p = shutil.which(prefix + name)
        if p:
            return p
    return None


def names_from_map(path):
    """Symbol-like names of everything placed by the link, from a GNU ld map."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    start = None
    for i, line in enumerate(lines):
        if line.startswith("Linker script and memory map"):
            start = i + 1
            break
    if start is None:
        raise SystemExit(f"{path}: not a GNU ld map file (no 'Linker script and memory map')")
    names = set()
    pending = None
    for line in lines[start:]:
        if not line.startswith(" ") or not line.strip():
            pending = None
            continue
        parts = line.split()
        first = parts[0]
        if first.startswith("*") or first in ("LOAD", "OUTPUT"):
            pending = None
            continue
        if first.startswith("."):
            # An input section: ` .text.foo  0xaddr  0xsize  file` (or wrapped
            # onto the next line when the name is long).
            if len(parts) >= 3 and parts[1].startswith("0x") and parts[2].startswith("0x"):
                if int(parts[2], 16) > 0:
                    names.add(section_symbol(first))
                pending = None
            elif len(parts) == 1:
                pending = first
            continue
        if pending is not None:
            if len(parts) >= 3 and parts[0].startswith("0x") and parts[1].startswith("0x"):
                if int(parts[1], 16) > 0:
                    names.add(section_symbol(pending))
            pending = None
            continue
        # A symbol line: `   0xaddr   name` (script assignments have `= ...`).
        if len(parts) == 2 and parts[0].startswith("0x"):
            names.add(parts[1])
    names.discard("")
    return names


def section_symbol(section):
    for p in SECTION_PREFIXES:
        if section.startswith(p):
            return section[len(p) :]
    return section


def names_from_elf(elf):
    nm = tool("nm")
    if not nm:
        print(f"warning: no nm found, {elf} not checked", file=sys.stderr)
        return set()
    out = subprocess.run([nm, "-a", elf], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] not in ("U", "w", "N", "a"):
            names.add(parts[2])
    return names


def demangle(names):
    cxxfilt = tool("c++filt")
    if not cxxfilt or not names:
        return {n: n for n in names}
    res = subprocess.run([cxxfilt], input="\n".join(names) + "\n", capture_output=True, text=True)
    out = res.stdout.splitlines()
    if res.returncode != 0 or len(out) != len(names):
        return {n: n for n in names}
    return dict(zip(names, out))


def offenders(names):
    names = sorted(names)
    dem = demangle(names)
    bad = []
    for n in names:
        d = dem.get(n, n)
        mangled = MANGLED_RE.match(n) is not None
        if n in EXACT_NAMES or (mangled and (RAW_RE.search(n) or DEMANGLED_RE.search(d))):
            bad.append((n, d))
    return bad


def call_sites(elf, targets):
    """{(caller, callee): count} of branches to `targets` in the ELF's code."""
    objdump = tool("objdump")
    if not objdump:
        return {}
    res = subprocess.run([objdump, "-d", "--no-show-raw-insn", elf], capture_output=True, text=True)
    func_re = re.compile(r"^[0-9a-f]+ <(.+)>:$")
    call_re = re.compile(r"\s(?:bl|blx|b|b\.w|b\.n|b[a-z]{2}(?:\.[wn])?)\s+[0-9a-f]+ <([^>+]+)(?:\+0x[0-9a-f]+)?>")
    sites = {}
    caller = None
    for line in res.stdout.splitlines():
        m = func_re.match(line)
        if m:
            caller = m.group(1)
            continue
        m = call_re.search(line)
        if m and m.group(1) in targets and caller and caller not in targets:
            key = (caller, m.group(1))
            sites[key] = sites.get(key, 0) + 1
    return sites


def find_elf(map_path):
    stem = os.path.splitext(map_path)[0]
    for cand in (stem + ".elf", stem + ".axf", map_path[: -len(".map")] if map_path.endswith(".axf.map") else None):
        if cand and os.path.exists(cand):
            return cand
    return None


def check(map_path, elf=None, quiet=False):
    names = names_from_map(map_path)
    sources = [map_path]
    if elf:
        names |= names_from_elf(elf)
        sources.append(elf)
    bad = offenders(names)
    if bad:
        print(f"FAIL: Rust panic machinery linked into {' + '.join(sources)}:", file=sys.stderr)
        for raw, dem in bad[:40]:
            print(f"  {raw}" + (f"\n      = {dem}" if dem != raw else ""), file=sys.stderr)
        if len(bad) > 40:
            print(f"  ... and {len(bad) - 40} more", file=sys.stderr)
        if elf:
            sites = call_sites(elf, {raw for raw, _ in bad})
            if sites:
                print("  called from:", file=sys.stderr)
                dem = demangle(sorted({c for c, _ in sites}))
                for (caller, callee), count in sorted(sites.items()):
                    print(f"    {dem.get(caller, caller)} -> {callee} ({count}x)", file=sys.stderr)
        else:
            print("  Find the call sites with arm-none-eabi-objdump -d on the ELF.", file=sys.stderr)
        return 1
    if not quiet:
        print(f"panic-free: {len(names)} linked names checked in {' + '.join(sources)}, no panic machinery")
    return 0


FAKE_HEADER = """Archive member included to satisfy reference by file (symbol)

/x/libupy_azure.a(core-1.o)
                              /x/libupy_azure.a(upy.o) (_ZN4core9panicking5panic17h0123456789abcdefE)

Discarded input sections

 .text._ZN4core3fmt9Formatter3pad17h0123456789abcdefE
                0x00000000       0x40 /x/libupy_azure.a(core-1.o)

Memory Configuration

Name             Origin             Length             Attributes
SRAM             0x20004000         0x0003c000         xrw

Linker script and memory map

LOAD /x/libupy_azure.a
.text           0x20004000      0x200
 *(.text*)
 .text.upy_azure_sas_token
                0x20004000       0x80 /x/libupy_azure.a(upy.o)
                0x20004000                upy_azure_sas_token
 .text          0x20004080       0x3c /usr/lib/gcc/arm-none-eabi/12.2.1/libgcc.a(_aeabi_uldivmod.o)
                0x20004080                __aeabi_uldivmod
 .text.mp_obj_new_str
                0x200040bc       0x20 /x/py/objstr.o
 *fill*         0x200040dc        0x4 
 .rodata.str1.1 0x200040e0       0x10 /x/py/objstr.o
"""

SELF_TESTS = [
    # (description, extra memory-map lines, expect failure)
    ("clean map", "", False),
    ("panic only in discarded/archive-member parts", "", False),
    ("legacy core::panicking section",
     " .text._ZN4core9panicking18panic_bounds_check17h0123456789abcdefE\n                0x200040f0        0x8 /x/libupy_azure.a(upy.o)\n", True),
    ("v0 core::panicking local section (LTO-internalised)",
     " .text.unlikely._RNvNtCsaFjvQsOnSLx_4core9panicking9panic_fmt\n                0x200040f0        0x8 /x/libupy_azure.a(upy.o)\n", True),
    ("v0 slice_index_fail",
     " .text.unlikely._RNvNtNtCsaFjvQsOnSLx_4core5slice5index16slice_index_fail\n                0x200040f0        0x8 /x/libupy_azure.a(upy.o)\n", True),
    ("legacy core::fmt global symbol line",
     " .text          0x200040f0       0x40 /x/libupy_azure.a(core-1.o)\n                0x200040f0                _ZN4core3fmt5write17h0123456789abcdefE\n", True),
    ("panic handler",
     " .text._RNvCsfLfy6EI15iL_7___rustc17rust_begin_unwind\n                0x200040f0        0x8 /x/libupy_azure.a(upy.o)\n", True),
    ("result::unwrap_failed (v0)",
     " .text._RNvNtCsaFjvQsOnSLx_4core6result13unwrap_failed\n                0x200040f0       0x10 /x/libupy_azure.a(upy.o)\n", True),
    ("option::expect_failed (legacy, one-line section)",
     " .text._ZN4core6option13expect_failed17h1E 0x200040f0 0x10 /x/libupy_azure.a(upy.o)\n", True),
    ("C function whose name contains slice_index",
     " .text.mp_seq_get_fast_slice_indexes\n                0x200040f0       0x30 /x/py/sequence.o\n                0x200040f0                mp_seq_get_fast_slice_indexes\n", False),
    ("zero-size panic section is not linked code",
     " .text._ZN4core9panicking5panic17h0123456789abcdefE\n                0x200040f0        0x0 /x/libupy_azure.a(upy.o)\n", False),
]


def self_test():
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        for i, (desc, extra, expect_fail) in enumerate(SELF_TESTS):
            p = os.path.join(d, f"fake{i}.map")
            with open(p, "w") as f:
                f.write(FAKE_HEADER + extra)
            devnull = open(os.devnull, "w")
            old = sys.stderr
            sys.stderr = devnull
            try:
                rc = check(p, quiet=True)
            finally:
                sys.stderr = old
                devnull.close()
            ok = (rc != 0) == expect_fail
            failures += not ok
            print(f"  self-test {'ok  ' if ok else 'FAIL'} {desc}: {'rejected' if rc else 'accepted'}")
    if failures:
        print(f"check_panic_free self-test: {failures} failure(s)", file=sys.stderr)
        return 1
    print(f"check_panic_free self-test: {len(SELF_TESTS)} cases passed")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("map", nargs="?", help="GNU ld map file of the linked firmware")
    ap.add_argument("--elf", help="the linked ELF (default: <map stem>.elf/.axf if present)")
    ap.add_argument("--no-elf", action="store_true", help="check the map only")
    ap.add_argument("--self-test", action="store_true", help="run the checker on fake maps first")
    args = ap.parse_args()
    rc = 0
    if args.self_test:
        rc |= self_test()
    if args.map:
        elf = None if args.no_elf else (args.elf or find_elf(args.map))
        rc |= check(args.map, elf)
    elif not args.self_test:
        ap.error("give a map file or --self-test")
    return 1 if rc else 0


if __name__ == "__main__":
    sys.exit(main())
