#!/bin/sh
# Fetch MicroPython 1.25.0 from Debian's source package (GitHub is not
# reachable from the build machines) and unpack it into $1.
# The mirror is derived from this machine's own apt configuration.
set -eu
DEST="$1"
VERSION="1.25.0+ds-1"
[ -f "$DEST/py/mpconfig.h" ] && exit 0
WORK="$(cd "$(dirname "$0")/.." && pwd)/build/debsrc"
mkdir -p "$WORK/lists/partial" "$WORK/archives/partial"

mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    mirror=$(awk '/^URIs:/ {print $2; exit}' "$f")
    [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '$1=="deb" {print $2; exit}' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || { echo "fetch-micropython: no apt mirror found" >&2; exit 1; }
case "$mirror" in */debian-security*) mirror="${mirror%-security}";; esac

echo "deb-src $mirror trixie main" > "$WORK/sources.list"
APT="-o Dir::Etc::SourceList=$WORK/sources.list -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$WORK/lists -o Dir::Cache::Archives=$WORK/archives -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
apt-get $APT update -qq
( cd "$WORK" && apt-get $APT source --download-only "micropython=$VERSION" )
rm -rf "$WORK/src"
( cd "$WORK" && dpkg-source -x micropython_*.dsc src >/dev/null )
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST"
mv "$WORK/src" "$DEST"
echo "fetch-micropython: MicroPython $VERSION in $DEST"
