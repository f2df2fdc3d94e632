#!/usr/bin/env bash
# Builds Debian's own unbound source package (same version as Debian 12's
# unbound) with the cachedb module and hiredis, which Debian's binary package
# lacks, and installs the daemon under $UNBOUND_CACHEDB_PREFIX
# (default /var/cache/noc-tests/unbound-cachedb). Idempotent: a finished build
# is reused. The last line of stdout is the path of the unbound binary:
#
#   UNBOUND=$(tests/bench/build_unbound_cachedb.sh | tail -1)
#
# Needs root for apt-get (it adds a deb-src entry for the configured Debian
# mirrors when none exists). On failure it prints one line starting with
# "build_unbound_cachedb: FAILED:" to stderr and exits 1.
set -euo pipefail

PREFIX=${UNBOUND_CACHEDB_PREFIX:-/var/cache/noc-tests/unbound-cachedb}
BIN=$PREFIX/sbin/unbound

fail() { echo "build_unbound_cachedb: FAILED: $*" >&2; exit 1; }
has_cachedb() { [[ -x "$BIN" ]] && "$BIN" -V 2>/dev/null | grep -q 'cachedb'; }

if has_cachedb; then
    echo "$BIN"
    exit 0
fi
[[ $(id -u) -eq 0 ]] || fail "run as root (apt-get installs the build dependencies)"

# Sources: Debian's deb822 file lists the binary mirrors; add their deb-src twin.
SRC_LIST=/etc/apt/sources.list.d/noc-tests-src.sources
if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    [[ -f /etc/apt/sources.list.d/debian.sources ]] || fail "no /etc/apt/sources.list.d/debian.sources to derive deb-src from"
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$SRC_LIST"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || fail "apt-get update"
apt-get install -y -qq --no-install-recommends build-essential dpkg-dev pkg-config \
    libhiredis-dev libssl-dev libexpat1-dev libevent-dev libnghttp2-dev flex bison \
    >/dev/null 2>&1 || fail "apt-get install of the build dependencies"

WORK=$(mktemp -d /tmp/unbound-cachedb-build.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
# --download-only then dpkg-source: Debian's patches applied, no _apt sandbox issues.
apt-get source -qq --download-only unbound >/dev/null 2>&1 || fail "apt-get source unbound"
dpkg-source -x ./*.dsc src >/dev/null 2>&1 || fail "dpkg-source -x"
cd src
./configure --prefix="$PREFIX" --enable-cachedb --with-libhiredis --with-libevent \
    --with-ssl --disable-flto --disable-static --without-pythonmodule --without-pyunbound \
    >"$WORK/configure.log" 2>&1 || { tail -20 "$WORK/configure.log" >&2; fail "configure"; }
make -j"$(nproc)" >"$WORK/make.log" 2>&1 || { tail -20 "$WORK/make.log" >&2; fail "make"; }
make install >"$WORK/install.log" 2>&1 || { tail -20 "$WORK/install.log" >&2; fail "make install"; }
has_cachedb || fail "$BIN was built but -V does not list cachedb"
echo "$BIN"
