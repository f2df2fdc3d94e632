#!/usr/bin/env bash
# Runs every test of the workspace, installing what the tests need first.
# This is the one command a new user runs, and exactly what CI (.ci/run) runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real clients and servers the tests drive (dig, kdig, ip, Unbound as the
# reference resolver, Redis for the shared cache). Installed only when missing.
need=()
command -v dig >/dev/null 2>&1 || need+=(dnsutils)
command -v kdig >/dev/null 2>&1 || need+=(knot-dnsutils)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
[ -x /usr/sbin/unbound ] || need+=(unbound)
[ -x /usr/bin/redis-server ] || need+=(redis-server)
# The DHCP tests run real clients, a real relay and Kea itself.
[ -x /usr/bin/busybox ] || need+=(busybox)
[ -x /usr/sbin/dhclient ] || need+=(isc-dhcp-client)
[ -x /usr/sbin/dhcpcd ] || need+=(dhcpcd-base)
[ -x /usr/sbin/dhcrelay ] || need+=(isc-dhcp-relay)
[ -x /usr/sbin/kea-dhcp4 ] || need+=(kea-dhcp4-server)
# ISC's example configs (/usr/share/doc/kea/examples/kea4), which
# dhcp4/tests/kea_configs.rs loads; the differential tests (dhcp4_kea_*) compare against Kea
# 2.2 itself and use the package's stock /etc/kea/kea-dhcp4.conf.
[ -d /usr/share/doc/kea/examples/kea4 ] || need+=(kea-doc)
# kea-shell, Kea's own command client, which dhcp4_control drives against our
# HTTP control socket (Debian ships it in the Control Agent's package).
[ -x /usr/sbin/kea-shell ] || need+=(kea-ctrl-agent)
# The data-plane tests translate Service addresses with nftables, as kube-proxy would.
[ -x /usr/sbin/nft ] || need+=(nftables)
# k8s/check.sh: openssl (stand-in DoT certificates) and a venv for its pinned Python tools.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "installing test dependencies: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Debian's unbound lacks the cachedb module; the interop test of the shared
# cache needs one that has it (built once from Debian's own source package,
# then reused). If it cannot be built, that one test says so loudly and skips.
if [ "$(id -u)" -eq 0 ]; then
  if ! UNBOUND_CACHEDB=$(tests/bench/build_unbound_cachedb.sh | tail -1); then
    echo "!!!!! could not build Unbound with cachedb: the Unbound/cachedb interop test will be SKIPPED !!!!!" >&2
  else
    echo "Unbound with cachedb: $UNBOUND_CACHEDB"
  fi
fi

# The fake DNS hierarchy listens on 127.x.y.z:53, which needs root (or
# CAP_NET_BIND_SERVICE); say so plainly instead of failing obscurely.
if [ "$(id -u)" -ne 0 ]; then
  echo "note: integration tests bind 127.x.y.z:53 for a fake DNS hierarchy; run as root (or sudo) if they fail to bind." >&2
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The process-level tests run our binaries (target/debug/resolver, fake-dns).
cargo build --workspace --bins --locked
# The Kubernetes manifests, checked without a cluster (k8s/README.md).
k8s/check.sh
# The three images (docker/): static release build, podman build FROM scratch,
# config checks and smoke runs. Installs podman/runc etc. itself when missing.
if [ "$(id -u)" -eq 0 ]; then
  docker/check.sh
else
  echo "note: docker/check.sh (the images) needs root; skipped" >&2
fi
cargo test --workspace --locked
