#!/usr/bin/env bash
# Builds the three daemons as static binaries and stages what the images hold
# into OUT_DIR: lb, resolver, dhcp4 (each with its file capabilities),
# ca-certificates.crt (the resolver's trust anchors for DoT forwarders), and
# nodelocal/, the root of the lb-nodelocal image: lb (no file capability: it
# runs as root) with iptables (nft and legacy backends) and nft, their
# extension modules and shared objects and the dynamic loader, copied from
# this machine's Debian packages (iptables, nftables).
#
# The one place the image contents are made: the Dockerfile's builder stage
# runs it (`BINARIES=build`), and docker/build-images.sh runs it on the host
# for the prebuilt context (`BINARIES=prebuilt`).
#
#   docker/stage.sh OUT_DIR
#
# Environment:
#   CARGO_TARGET_DIR  cargo's target dir (default: the repo's target/)
#   FILE_CAPS         file capabilities of lb and resolver
#                     (default cap_net_bind_service=ep)
#   DHCP4_CAPS        file capabilities of dhcp4 (default
#                     cap_net_bind_service,cap_net_raw=p: permitted only, dhcp4
#                     makes effective what the pod allows; docker/README.md)
#   CA_BUNDLE         CA bundle to copy (default /etc/ssl/certs/ca-certificates.crt)
#   SKIP_CARGO=1      stage binaries already built (by an earlier run)
#   MULTIARCH         the library directory's triple (default x86_64-linux-gnu)
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: docker/stage.sh OUT_DIR}
FILE_CAPS=${FILE_CAPS:-cap_net_bind_service=ep}
DHCP4_CAPS=${DHCP4_CAPS:-cap_net_bind_service,cap_net_raw=p}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
# The one target this toolchain has, named explicitly: with --target, RUSTFLAGS
# reach only the binaries, not build scripts and proc-macros (which cannot be
# linked statically: "cannot produce proc-macro ... as the target does not
# support these crate types"). Output goes to target/x86_64-unknown-linux-gnu/.
triple=x86_64-unknown-linux-gnu
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
bins=(lb resolver dhcp4)

die() { echo "stage.sh: $*" >&2; exit 1; }

if [ "${SKIP_CARGO:-0}" != 1 ]; then
  # glibc linked statically (crt-static): no dynamic loader or libc.so in the
  # image. lb and resolver call getaddrinfo (lb's discovery through the pod's
  # resolv.conf, the resolver's Redis host names); glibc 2.34+ has the files and
  # dns NSS modules built in, so that works without any libnss_*.so
  # (docker/README.md, "Static glibc"; docker/check.sh proves it in the image).
  RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static" \
    cargo build --release --locked --target "$triple" \
    -p lb -p resolver -p dhcp4 --bins
fi

# Functions glibc's static archive marks with a link-time warning (its
# .gnu.warning.* sections), and those of them the images can live with.
libc_a=$(${CC:-cc} -print-file-name=libc.a)
[ -f "$libc_a" ] || die "no static libc.a (install libc6-dev)"
warned=$(objdump -h "$libc_a" | grep -o '[.]gnu[.]warning[.][A-Za-z0-9_]*' | sed 's/^[.]gnu[.]warning[.]//' | LC_ALL=C sort -u)
[ -n "$warned" ] || die "found no .gnu.warning sections in $libc_a"
accounted=(getaddrinfo gethostbyname2_r getservbyname_r dlopen dlmopen)

mkdir -p "$out"
for b in "${bins[@]}"; do
  src=$target_dir/$triple/release/$b
  [ -x "$src" ] || die "$src not built"
  # Static or nothing: a dynamic binary would not start on scratch/distroless static.
  if grep -q 'Requesting program interpreter' <<<"$(readelf -lW "$src")"; then
    die "$src is dynamically linked (has a program interpreter)"
  fi
  # glibc marks the functions that need its shared objects at run time even
  # when linked statically (GNU ld warns "Using 'getaddrinfo' in statically
  # linked applications requires at runtime the shared libraries..."; rust-lld,
  # rustc's default linker on this target since 1.90, prints nothing). The
  # linked ones must be those docker/README.md ("Static glibc") accounts for:
  # getaddrinfo (lb's discovery, the resolver's Redis host names) and what it
  # calls, usable because glibc 2.34+ builds the files and dns NSS modules into
  # libc; and dlopen, which libc itself references for any other NSS module.
  syms=$(nm --defined-only "$src" | awk '{print $3}' | LC_ALL=C sort -u)
  grep -qx main <<<"$syms" || die "$src has no symbol table (stripped?); these checks need it"
  linked=$(LC_ALL=C comm -12 - <(printf '%s\n' "$warned") <<<"$syms")
  unexpected=$(LC_ALL=C comm -23 - <(printf '%s\n' "${accounted[@]}" | LC_ALL=C sort) <<<"$linked")
  [ -z "$unexpected" ] \
    || die "$b links glibc functions that need libc's shared objects at run time, absent from the image: $(tr "\n" " " <<<"$unexpected")(see docker/README.md, Static glibc)"
  if grep -qx getaddrinfo <<<"$linked"; then
    for sym in __nss_files_functions __nss_dns_functions; do
      grep -qx "$sym" <<<"$syms" \
        || die "$b calls getaddrinfo but lacks glibc's built-in $sym (glibc older than 2.34?): name lookups would need libnss_*.so at run time"
    done
  fi
  # Debug info stays in target/; the image gets a stripped copy.
  rm -f "$out/$b"
  objcopy --strip-debug "$src" "$out/$b"
  chmod 0755 "$out/$b"
  caps=$FILE_CAPS
  [ "$b" = dhcp4 ] && caps=$DHCP4_CAPS
  # A non-root process keeps a capability across exec only through the file's
  # capabilities (Kubernetes sets no ambient capabilities). Set last: any later
  # write to the file clears them.
  setcap "$caps" "$out/$b"
  setcap -v "$caps" "$out/$b" >/dev/null || die "setcap $caps on $out/$b did not hold"
done
[ -s "$CA_BUNDLE" ] || die "no CA bundle at $CA_BUNDLE (install ca-certificates)"
cp "$CA_BUNDLE" "$out/ca-certificates.crt"
chmod 0644 "$out/ca-certificates.crt"

# --- lb-nodelocal: the lb in node-local mode runs `iptables`, `ip6tables`,
# `iptables-legacy`, `ip6tables-legacy` or `nft` (lb/src/nodelocal/rules.rs).
# Those are dynamically linked: the image gets them with every shared object
# `ldd` names (the loader included) and the xtables extension modules, which
# iptables dlopens from its compiled-in directory.
multiarch=${MULTIARCH:-x86_64-linux-gnu}
nl=$out/nodelocal
rm -rf "$nl"
mkdir -p "$nl/usr/local/bin" "$nl/usr/sbin" "$nl/usr/lib/$multiarch" "$nl/etc"
objcopy --strip-debug "$target_dir/$triple/release/lb" "$nl/usr/local/bin/lb"
chmod 0755 "$nl/usr/local/bin/lb"
tools=()
for tool in xtables-nft-multi xtables-legacy-multi nft; do
  src=/usr/sbin/$tool
  [ -x "$src" ] || die "$src missing: the lb-nodelocal image needs Debian's iptables and nftables (apt-get install iptables nftables)"
  cp -L "$src" "$nl/usr/sbin/$tool"
  tools+=("$src")
done
for link in iptables ip6tables iptables-nft ip6tables-nft iptables-save ip6tables-save iptables-restore ip6tables-restore; do
  ln -s xtables-nft-multi "$nl/usr/sbin/$link"
done
for link in iptables-legacy ip6tables-legacy iptables-legacy-save ip6tables-legacy-save iptables-legacy-restore ip6tables-legacy-restore; do
  ln -s xtables-legacy-multi "$nl/usr/sbin/$link"
done
xt=/usr/lib/$multiarch/xtables
[ -d "$xt" ] || die "$xt missing (iptables' extension modules)"
mkdir -p "$nl$xt"
cp -a "$xt"/. "$nl$xt"/
libs=$(for f in "${tools[@]}" "$xt"/*.so; do ldd "$f"; done | awk '$1 ~ /^\// {print $1} $3 ~ /^\// {print $3}' | LC_ALL=C sort -u)
[ -n "$libs" ] || die "ldd found no shared objects for ${tools[*]}"
for lib in $libs; do
  case "$lib" in
    */ld-linux*) mkdir -p "$nl$(dirname "$lib")"; cp -L "$lib" "$nl$lib" ;;
    *) cp -L "$lib" "$nl/usr/lib/$multiarch/$(basename "$lib")" ;;
  esac
done
# getprotobyname/getservbyname read these (iptables -p udp, nft's names).
for f in /etc/protocols /etc/services; do
  [ -f "$f" ] && cp "$f" "$nl$f"
done
chmod -R u=rwX,go=rX "$nl"
echo "nodelocal/: lb, ${tools[*]##*/}, $(wc -w <<<"$libs") shared objects, $(find "$nl$xt" -name '*.so' | wc -l) xtables modules"
ls -l "$out"
