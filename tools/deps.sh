#!/bin/sh
# Idempotent install of everything the project needs on a Debian machine:
# Debian packages, Rust targets/tools and a Python venv with the Azure SDKs
# (the test oracles) and MicroPython's test runner dependencies.
set -eu
cd "$(dirname "$0")/.."

APT_PKGS="gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm libmbedtls-dev libffi-dev pkg-config dpkg-dev openssl zip patch ca-certificates mosquitto"
missing=""
for p in $APT_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# make natmod / natmod-test: a RISC-V cross compiler with picolibc (rv32imc)
# and qemu-system-riscv32 (qemu-system-misc)
APT_PKGS="$APT_PKGS gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc"
missing=""
for p in $APT_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "deps: installing Debian packages:$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# thumbv7em/thumbv7m: the firmware archives; the rest: make natmod
for t in thumbv7em-none-eabi thumbv7m-none-eabi x86_64-unknown-none thumbv6m-none-eabi thumbv7em-none-eabihf riscv32imc-unknown-none-elf; do
    rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
command -v cbindgen >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cbindgen" ] || \
    cargo install --locked cbindgen --version 0.29.0

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# Reinstall whenever tools/requirements.txt changes (its hash is kept in the venv).
req_hash=$(sha256sum tools/requirements.txt | cut -d' ' -f1)
if [ "$(cat .venv/.requirements-hash 2>/dev/null)" != "$req_hash" ] || \
        ! .venv/bin/python -c "import azure.eventhub, azure.iot.device, serial, cryptography, amqtt.mqtt" 2>/dev/null; then
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r tools/requirements.txt
    echo "$req_hash" > .venv/.requirements-hash
fi
# make natmod: MicroPython's tools/mpy_ld.py reads ELF with pyelftools and
# libgcc through the `ar` package
.venv/bin/python -c "import elftools, ar" 2>/dev/null || .venv/bin/pip install -q "pyelftools==0.33" "ar==1.0.1"
echo "deps: ok"
