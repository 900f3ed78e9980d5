#!/bin/sh
# Applies firmware-patches/*.patch to a MicroPython v1.25.0 tree, idempotently:
#   tools/apply-patches.sh <MICROPY_DIR>
# A patch already applied (its reverse applies cleanly) is skipped; a patch
# that applies neither way stops the script with an error. Works on a plain
# unpacked tree (no .git) and on a git clone alike: it uses patch(1), and
# `git apply` only when patch(1) is missing.
set -eu

dir=${1:?usage: $0 <MICROPY_DIR>}
here=$(cd "$(dirname "$0")/.." && pwd)
patches_dir=${PATCHES_DIR:-$here/firmware-patches}

[ -f "$dir/py/mpconfig.h" ] || { echo "apply-patches: $dir is not a MicroPython tree" >&2; exit 1; }

if command -v patch >/dev/null 2>&1; then
    is_applied() { patch -d "$dir" -p1 -R --dry-run -s -f <"$1" >/dev/null 2>&1; }
    can_apply() { patch -d "$dir" -p1 --dry-run -s -f <"$1" >/dev/null 2>&1; }
    do_apply() { patch -d "$dir" -p1 -s -f --no-backup-if-mismatch <"$1"; }
elif command -v git >/dev/null 2>&1; then
    # `git apply` outside a git work tree (plain unpacked tree) works too.
    is_applied() { git -C "$dir" apply --check --reverse "$1" >/dev/null 2>&1; }
    can_apply() { git -C "$dir" apply --check "$1" >/dev/null 2>&1; }
    do_apply() { git -C "$dir" apply "$1"; }
else
    echo "apply-patches: need patch(1) (Debian package 'patch') or git" >&2
    exit 1
fi

n_new=0
n_old=0
for p in "$patches_dir"/*.patch; do
    [ -e "$p" ] || continue
    name=$(basename "$p")
    if is_applied "$p"; then
        n_old=$((n_old + 1))
    elif can_apply "$p"; then
        do_apply "$p"
        echo "apply-patches: applied $name"
        n_new=$((n_new + 1))
    else
        echo "apply-patches: $name applies neither forwards nor backwards to $dir" >&2
        echo "  (is it MicroPython v1.25.0? a local change in the patched files?)" >&2
        exit 1
    fi
done
echo "apply-patches: $n_new applied, $n_old already present in $dir"
