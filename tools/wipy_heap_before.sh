#!/bin/bash
# Re-measures bench/wipy_heap_before.json: the session-start configuration of
# issue #9 (843c0a6) as a qemu WiPy twin, with bench/wipy_heap.py. Slow (a
# Rust and a MicroPython build); run by hand, not by make bench.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD OLD=build/heap-before
rm -rf "$OLD" && git worktree add -f "$OLD/src" 843c0a6 >/dev/null
# The one-line fix without which from_connection_string fails on that firmware.
sed -i 's/cs = _azure.parse_connection_string(conn_str)/from . import parse_connection_string as _pcs\n        cs = _pcs(conn_str)/' \
    "$OLD/src/micropython-glue/azure/client.py"
(cd "$OLD/src" && cargo rustc --quiet --release --locked --target thumbv7em-none-eabi --target-dir "$ROOT/$OLD/target" \
    --lib --crate-type staticlib --no-default-features --features panic-handler)
arm-none-eabi-objcopy --strip-debug -R ".ARM.exidx*" -R ".ARM.extab*" "$OLD/target/thumbv7em-none-eabi/release/libupy_azure.a" "$OLD/lib.a"
make -C build/micropython/ports/qemu -j2 BOARD=MPS2_AN386 BUILD="$ROOT/$OLD/qemu" USER_C_MODULES="$ROOT/$OLD/src" \
    UPY_AZURE_LIB="$ROOT/$OLD/lib.a" UPY_AZURE_SEND=0 UPY_AZURE_CONNSTR=0 FROZEN_MANIFEST= \
    CFLAGS_EXTRA="-DMICROPY_PY_RE=0 -DMICROPY_PY_BUILTINS_HELP=0 -DMICROPY_FLOAT_IMPL=MICROPY_FLOAT_IMPL_NONE -DMICROPY_QSTR_BYTES_IN_HASH=1" >"$OLD/qemu.log" 2>&1
mkdir -p "$OLD/lib/azure"
for f in "$OLD"/src/micropython-glue/azure/*.py; do
    n=$(basename "$f" .py)
    build/micropython/mpy-cross/build/mpy-cross -o "$OLD/lib/azure/$n.mpy" -s "azure/$n.py" "$f"
done
.venv/bin/python tools/qemu_wipy.py romfs "$OLD/flash.romfs" --lib "$OLD/lib" --fakes tests/qemu-wipy/lib --micropy-dir build/micropython
.venv/bin/python tools/qemu_wipy.py run --copy --elf "$OLD/qemu/firmware.elf" --romfs "$OLD/flash.romfs" --micropy-dir build/micropython bench/wipy_heap.py
git worktree remove --force "$OLD/src"
