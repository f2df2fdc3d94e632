#!/usr/bin/env bash
# Builds Debian's own unbound source package (same version as Debian 12's
# unbound binary package) with the cachedb module and hiredis, which Debian's
# binary package lacks, and installs it under $UNBOUND_CACHEDB_PREFIX
# (default /var/cache/noc-tests/unbound-cachedb), daemon at $PREFIX/sbin/unbound.
# Idempotent: a finished build is reused at once. The last line of stdout is
# the path of the unbound binary:
#
#   UNBOUND=$(tests/bench/build_unbound_cachedb.sh | tail -1)
#
# Needs root for apt-get (it adds a deb-src entry for the configured Debian
# mirrors when none gives unbound's source). A build takes about 1-2 min on
# 2 cores. On failure it prints one line starting with
# "build_unbound_cachedb: FAILED:" to stderr and exits 1.
set -euo pipefail

PREFIX=${UNBOUND_CACHEDB_PREFIX:-/var/cache/noc-tests/unbound-cachedb}
BIN=$PREFIX/sbin/unbound
WORK=

fail() { echo "build_unbound_cachedb: FAILED: $*" >&2; exit 1; }
# Show the end of a log, then fail.
fail_log() { [[ -f $1 ]] && tail -n 20 "$1" >&2; fail "$2"; }
# True when $BIN exists and its module list has cachedb (and it links hiredis).
has_cachedb() {
    local out
    [[ -x $BIN ]] || return 1
    out=$("$BIN" -V 2>&1) || true
    grep -q '^Linked modules:.*cachedb' <<<"$out" && grep -qi 'redis' <<<"$out"
}

if has_cachedb; then
    echo "$BIN"
    exit 0
fi
[[ $PREFIX == /* ]] || fail "UNBOUND_CACHEDB_PREFIX must be an absolute path: $PREFIX"
[[ $(id -u) -eq 0 ]] || fail "run as root (apt-get installs the build dependencies)"

# Any unexpected error still ends with the loud line; the temp dir always goes.
trap 'fail "unexpected error at line $LINENO"' ERR
trap '[[ -n $WORK ]] && rm -rf "$WORK"' EXIT

# One build at a time per prefix; another caller may have finished meanwhile.
mkdir -p "$(dirname "$PREFIX")"
exec 9>"$PREFIX.lock"
flock 9 || fail "flock $PREFIX.lock"
if has_cachedb; then
    echo "$BIN"
    exit 0
fi

WORK=$(mktemp -d /tmp/unbound-cachedb-build.XXXXXX)
echo "build_unbound_cachedb: building unbound with cachedb in $WORK (1-2 min)" >&2
export DEBIAN_FRONTEND=noninteractive

# Source lists: add deb-src twins of the Debian mirrors only if unbound's
# source is not known yet.
apt-get update >"$WORK/apt.log" 2>&1 || fail_log "$WORK/apt.log" "apt-get update"
if ! apt-cache showsrc unbound 2>/dev/null | grep -q '^Package: unbound'; then
    SRC_DIR=/etc/apt/sources.list.d
    if [[ -f $SRC_DIR/debian.sources ]]; then
        sed 's/^Types:.*$/Types: deb-src/' "$SRC_DIR/debian.sources" >"$SRC_DIR/noc-tests-src.sources"
    elif [[ -f /etc/apt/sources.list ]] && grep -q '^deb ' /etc/apt/sources.list; then
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$SRC_DIR/noc-tests-src.list"
    else
        fail "no Debian deb lines (sources.list or debian.sources) to derive deb-src from"
    fi
    apt-get update >"$WORK/apt.log" 2>&1 || fail_log "$WORK/apt.log" "apt-get update after adding deb-src"
fi

# Build dependencies for this configure line only (not Debian's full build-dep).
apt-get install -y --no-install-recommends build-essential dpkg-dev pkg-config \
    libhiredis-dev libssl-dev libexpat1-dev libevent-dev flex bison \
    >"$WORK/apt.log" 2>&1 || fail_log "$WORK/apt.log" "apt-get install of the build dependencies"

# Same source version as the binary package's candidate.
VER=$(apt-cache policy unbound | awk '/Candidate:/ {print $2}')
[[ -n $VER && $VER != "(none)" ]] || fail "no candidate version for the unbound package"
cd "$WORK"
# --download-only then dpkg-source: Debian's patches applied, no need for the _apt sandbox.
apt-get source --download-only "unbound=$VER" >"$WORK/source.log" 2>&1 \
    || fail_log "$WORK/source.log" "apt-get source unbound=$VER"
dpkg-source -x ./*.dsc src >>"$WORK/source.log" 2>&1 || fail_log "$WORK/source.log" "dpkg-source -x"
cd src

./configure --prefix="$PREFIX" --enable-cachedb --with-libhiredis --with-libevent \
    --with-ssl --disable-flto --disable-static --without-pythonmodule --without-pyunbound \
    >"$WORK/configure.log" 2>&1 || fail_log "$WORK/configure.log" "configure"
make -j"$(nproc)" >"$WORK/make.log" 2>&1 || fail_log "$WORK/make.log" "make"
make install >"$WORK/install.log" 2>&1 || fail_log "$WORK/install.log" "make install"
has_cachedb || fail "$BIN was built but its -V does not list cachedb and hiredis"
echo "build_unbound_cachedb: built unbound $VER with cachedb" >&2
echo "$BIN"
